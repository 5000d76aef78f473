package main

import (
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/botfleet/botfleet/bots/ansible/internal/proc"
	"github.com/botfleet/botfleet/pkg/botkit/botkittest"
	"github.com/botfleet/botfleet/pkg/botkit/jobs"
	"github.com/botfleet/botfleet/pkg/flock"
)

// orphaned is what a bot on this host leaves when it dies during deploy #1
// of slow to dev: the record, and the deploy's processes, still running.
type orphaned struct {
	leader  proc.ID // the playbook, with the lock file open
	escaped proc.ID // a daemon it started: another session, lock file closed
}

// orphanDeploy makes that state in stateDir.
func orphanDeploy(t *testing.T, stateDir string) orphaned {
	t.Helper()
	dead := openJobs(t, stateDir)
	l, _, err := dead.Begin(t.Context(), jobs.Record{Kind: "deploy", Key: lockKey("slow", "dev"), User: "U1", Channel: "C1", Title: "deploying `main` of `slow` to *dev*",
		Args: map[string]string{"app": "slow", "env": "dev", "branch": "main"}})
	if err != nil {
		t.Fatal(err)
	}
	data := deployData{Owner: selfOwner(slog.New(slog.DiscardHandler))}
	data.Owner.Tag = proc.NewTag()
	dir := t.TempDir()
	cmd := exec.Command("/bin/sh", "-c", `setsid sleep 60 3>&- >/dev/null 2>&1 & echo $! > `+dir+`/escaped; exec sleep 61`)
	cmd.Env = []string{"PATH=/usr/bin:/bin", proc.TagVar + "=" + data.Owner.Tag}
	cmd.ExtraFiles = []*os.File{l.LockFile()}
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
		ids, _ := proc.Find(proc.ID{}, data.Owner.Tag)
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
	data.Owner.Run = process(o.leader)
	rec := l.Record()
	rec.Message = "1700000000.000042"
	if rec.Data, err = json.Marshal(data); err != nil {
		t.Fatal(err)
	}
	if err := l.Update(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	// The bot dies: its copy of the lock file closes, and its process
	// lock; the playbook's copy stays open, and with it the key's lock.
	l.LockFile().Close()
	dead.Close()
	if locked := keyLocked(t, stateDir, "slow"); !locked {
		t.Fatal("the playbook does not hold the lock")
	}
	return o
}

// keyLocked reports whether the lock of app's deploys to dev is held, as
// a process that is none of the bots sees it.
func keyLocked(t *testing.T, stateDir, app string) bool {
	t.Helper()
	var locks flock.Set
	locked, err := locks.IsLocked(filepath.Join(stateDir, jobs.StateSubdir, "locks", lockKey(app, "dev")+".lock"))
	if err != nil {
		t.Fatal(err)
	}
	return locked
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
	tr := newBot(t, stateDir, testConfig(t, playbookRepo(t)))
	if rs := records(t, stateDir); rs[0].Status != jobs.Running {
		t.Fatalf("after start: %+v", rs)
	}
	refused := func() {
		t.Helper()
		got := botkittest.Last(tr.SayAs(t, "U2", "deploy slow feature"))
		for _, want := range []string{"<@U1> is deploying `main` of `slow` to *dev* (deploy #1)", "`cancel 1`", "what it started still runs"} {
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
	waitUntil(t, "the watcher to take the lock", func() bool { return keyLocked(t, stateDir, "slow") })
	refused()

	syscall.Kill(o.escaped.PID, syscall.SIGKILL)
	edit := waitReply(t, tr, "editing the orphan's message", func(r botkittest.Reply) bool { return r.Update && r.TS == "1700000000.000042" })
	if !strings.Contains(edit.Text, "⚠️ Deploy #1: `slow` `main` → *dev* for <@U1> was interrupted") || !strings.Contains(edit.Text, "the playbook went on unwatched") {
		t.Errorf("edit: %q", edit.Text)
	}
	if rs := records(t, stateDir); rs[0].Status != jobs.Interrupted || !rs[0].Notified {
		t.Errorf("the orphan's record: %+v", rs[0])
	}
	done := startSlow(t, tr, "EvAfterOrphan")
	tr.SayAs(t, botkittest.User, "cancel 2")
	wait(t, done)
	if rs := records(t, stateDir); len(rs) != 2 || rs[1].Status != jobs.Cancelled {
		t.Errorf("history = %+v", rs)
	}
}

// TestCancelOrphan: `cancel` stops the processes of an orphaned deploy,
// the playbook and what left its group, and records who did.
func TestCancelOrphan(t *testing.T) {
	t.Parallel()
	stateDir := t.TempDir()
	o := orphanDeploy(t, stateDir)
	tr := newBot(t, stateDir, testConfig(t, playbookRepo(t)))
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
	if len(rs) != 1 || rs[0].Status != jobs.Cancelled || rs[0].CancelledBy != "U1" {
		t.Errorf("history = %+v", rs)
	}
	if keyLocked(t, stateDir, "slow") {
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
	tr := newBot(t, stateDir, testConfig(t, playbookRepo(t)))
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
