package main

import (
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/botfleet/botfleet/bots/ansible/internal/proc"
	"github.com/botfleet/botfleet/bots/ansible/internal/state"
	"github.com/botfleet/botfleet/pkg/botkit/botkittest"
)

// orphaned is what a bot on this host leaves when it dies during deploy #1
// of slow to dev: the record, and the deploy's processes, still running.
type orphaned struct {
	st      *state.Store
	leader  proc.ID // the playbook, with the lock file open
	escaped proc.ID // a daemon it started: another session, lock file closed
}

// orphanDeploy makes that state in stateDir. The dead bot had this
// process's pid, but another start time: a pid alone would call it alive.
func orphanDeploy(t *testing.T, stateDir string) orphaned {
	t.Helper()
	st, err := state.Open(stateDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	owner := selfOwner(slog.New(slog.DiscardHandler))
	owner.Bot.Start++
	owner.Tag = proc.NewTag()
	rec, lock, _, err := st.Begin(t.Context(), state.Record{Status: state.Running, Key: lockKey("slow", "dev"), App: "slow", Env: "dev", Branch: "main",
		User: "U1", Channel: "C1", Message: "1700000000.000042", Owner: owner, Started: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command("/bin/sh", "-c", `setsid sleep 60 3>&- >/dev/null 2>&1 & echo $! > `+dir+`/escaped; exec sleep 61`)
	cmd.Env = []string{"PATH=/usr/bin:/bin", proc.TagVar + "=" + owner.Tag}
	cmd.ExtraFiles = []*os.File{lock.File()}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go cmd.Wait()
	var o orphaned
	escaped := 0
	waitUntil(t, "the daemon to leave the playbook's group", func() bool {
		b, _ := os.ReadFile(dir + "/escaped")
		escaped, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		ids, _ := proc.Find(proc.ID{}, owner.Tag)
		for _, id := range ids {
			switch id.PID {
			case cmd.Process.Pid:
				o.leader = id
			case escaped:
				o.escaped = id
			}
		}
		pgid, err := syscall.Getpgid(escaped)
		return o.leader.PID != 0 && o.escaped.PID != 0 && err == nil && pgid == escaped
	})
	t.Cleanup(func() {
		syscall.Kill(-o.leader.PID, syscall.SIGKILL)
		syscall.Kill(o.escaped.PID, syscall.SIGKILL)
	})
	rec.Owner.Run = state.Process(o.leader)
	if err := st.Append(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	// The bot dies: its copy of the lock file closes; the playbook's stays
	// open, and with it the lock. (st, which thinks it holds the lock, is
	// dead with the bot; o.st is another instance.)
	lock.File().Close()
	if o.st, err = state.Open(stateDir, nil); err != nil {
		t.Fatal(err)
	}
	if locked, _ := o.st.IsLocked(lockKey("slow", "dev")); !locked {
		t.Fatal("the playbook does not hold the lock")
	}
	return o
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30s for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestOrphanKeepsItsLock: a bot restarted on the host where its predecessor
// died finds the deploy's processes still running, by pid and start time
// and by tag. It refuses a second deploy of that app and env while any of
// them lives, also once the playbook is gone and only a daemon it started
// (which does not hold the lock file) is left; when they are all gone, the
// deploy is recorded as interrupted, its message edited, and the next
// deploy runs.
func TestOrphanKeepsItsLock(t *testing.T) {
	t.Parallel()
	stateDir := t.TempDir()
	o := orphanDeploy(t, stateDir)
	tr := newBot(t, testConfig(t, playbookRepo(t), stateDir))
	if rs := records(t, stateDir); rs[0].Status != state.Running {
		t.Fatalf("after start: %+v", rs)
	}
	refused := func() {
		t.Helper()
		got := botkittest.Last(tr.SayAs(t, "U2", "deploy slow feature"))
		for _, want := range []string{"by <@U1> (deploy #1 of `main`", "`cancel 1`", "its playbook still runs"} {
			if !strings.Contains(got, want) {
				t.Errorf("deploy while the orphan runs: %q lacks %q", got, want)
			}
		}
	}
	refused()
	if got := botkittest.Last(tr.Say(t, "status")); !strings.Contains(got, "still runs on this host (pid "+strconv.Itoa(o.leader.PID)+"); `cancel 1` stops it") {
		t.Errorf("status: %q", got)
	}

	// The playbook ends; its daemon lives on without the lock file.
	syscall.Kill(-o.leader.PID, syscall.SIGKILL)
	waitUntil(t, "the playbook to die", func() bool { return !o.leader.Alive() })
	waitUntil(t, "the watcher to take the lock", func() bool { locked, _ := o.st.IsLocked(lockKey("slow", "dev")); return locked })
	refused()

	syscall.Kill(o.escaped.PID, syscall.SIGKILL)
	edit := waitReply(t, tr, "editing the orphan's message", func(r botkittest.Reply) bool { return r.Update && r.TS == "1700000000.000042" })
	if !strings.Contains(edit.Text, "⚠️ Deploy #1: `slow` `main` → *dev* for <@U1> was interrupted") || !strings.Contains(edit.Text, "the playbook went on unwatched") {
		t.Errorf("edit: %q", edit.Text)
	}
	if rs := records(t, stateDir); rs[0].Status != state.Interrupted || !rs[0].Notified {
		t.Errorf("the orphan's record: %+v", rs[0])
	}
	done := startSlow(t, tr, "EvAfterOrphan")
	tr.SayAs(t, botkittest.User, "cancel 2")
	wait(t, done)
	if rs := records(t, stateDir); len(rs) != 2 || rs[1].Status != state.Cancelled {
		t.Errorf("history = %+v", rs)
	}
}

// TestCancelOrphan: `cancel` stops the processes of an orphaned deploy,
// the playbook and what left its group, and records who did.
func TestCancelOrphan(t *testing.T) {
	t.Parallel()
	stateDir := t.TempDir()
	o := orphanDeploy(t, stateDir)
	tr := newBot(t, testConfig(t, playbookRepo(t), stateDir))
	if got := botkittest.Last(tr.SayAs(t, "U2", "cancel 1")); !strings.Contains(got, "Only <@U1>") {
		t.Errorf("cancel by another: %q", got)
	}
	if got := botkittest.Last(tr.SayAs(t, "U1", "cancel 1")); !strings.Contains(got, "Cancelling deploy #1: the bot instance that ran it") {
		t.Errorf("cancel: %q", got)
	}
	edit := waitReply(t, tr, "editing the orphan's message", func(r botkittest.Reply) bool { return r.Update && r.TS == "1700000000.000042" })
	if !strings.Contains(edit.Text, "⏹ Deploy #1: `slow` `main` → *dev* for <@U1> was cancelled by <@U1>") {
		t.Errorf("edit: %q", edit.Text)
	}
	for _, id := range []proc.ID{o.leader, o.escaped} {
		if id.Alive() {
			t.Errorf("process %d survived the cancel", id.PID)
		}
	}
	rs := records(t, stateDir)
	if len(rs) != 1 || rs[0].Status != state.Cancelled || rs[0].CancelledBy != "U1" {
		t.Errorf("history = %+v", rs)
	}
	if locked, _ := o.st.IsLocked(lockKey("slow", "dev")); locked {
		t.Error("the lock is still held")
	}
}

// TestForeignRecordsAtStart: lines of the history the bot did not write are
// left as they are at start, not taken for running deploys.
func TestForeignRecordsAtStart(t *testing.T) {
	t.Parallel()
	stateDir := t.TempDir()
	foreign := `{"id":-7,"status":"running"}` + "\n" + `{"id":3,"status":"running","started":"2025-01-01T00:00:00Z"}` + "\n"
	path := stateDir + "/history.jsonl"
	if err := os.WriteFile(path, []byte(foreign), 0o640); err != nil {
		t.Fatal(err)
	}
	tr := newBot(t, testConfig(t, playbookRepo(t), stateDir))
	if got := botkittest.Last(tr.Say(t, "history")); got != "No deploys yet." {
		t.Errorf("history: %q", got)
	}
	if b, _ := os.ReadFile(path); string(b) != foreign {
		t.Errorf("the history was rewritten at start:\n%s", b)
	}
	if got := botkittest.Texts(tr.Say(t, "deploy web main")); !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "✅ Deploy #1") }) {
		t.Errorf("the next deploy after foreign ids: %q", got)
	}
}
