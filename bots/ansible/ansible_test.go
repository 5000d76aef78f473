package main

import (
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/botkittest"
	"github.com/botfleet/botfleet/pkg/botkit/jobs"
	"github.com/botfleet/botfleet/pkg/golden"
)

func TestMain(m *testing.M) {
	flag.Parse()
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		fmt.Fprintln(os.Stderr, "these tests run the real ansible-playbook: apt-get install ansible-core")
		os.Exit(1)
	}
	// A secret in the bot's environment, which must never reach ansible.
	os.Setenv("SLACK_BOT_TOKEN", "xoxb-must-not-reach-ansible")
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var gitEnv = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent", "GIT_CONFIG_NOSYSTEM=1",
	"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com"}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir, cmd.Env = dir, gitEnv
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// playbookRepo makes a git repo (default branch main) holding
// testdata/playbooks.
func playbookRepo(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "playbooks")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "playbooks"))); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "init", "--quiet", "--initial-branch=main")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "--quiet", "-m", "playbooks")
	return dir
}

// testConfig is a config with one app per test playbook, all on localhost.
func testConfig(t *testing.T, repo string) Config {
	t.Helper()
	var c Config
	c.SetDefaults()
	c.Playbooks.Path = repo
	c.ProgressInterval = 100 * time.Millisecond
	c.CancelGrace = 2 * time.Second
	app := func(pb string) App {
		return App{Playbook: pb, DefaultEnv: "dev", Inventories: map[string]string{"dev": "inventory.ini", "prd": "inventory.ini"}}
	}
	c.Apps = map[string]App{"web": app("ok.yml"), "db": app("fail.yml"), "slow": app("slow.yml")}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

// newBot sets the bot up with cfg and stateDir as its BOT_STATE_DIR.
func newBot(t *testing.T, stateDir string, cfg Config, opts ...botkittest.Option) *botkittest.Transport {
	t.Helper()
	tr := botkittest.New(t, append([]botkittest.Option{botkittest.WithName("ansible")}, opts...)...)
	if err := setup(t.Context(), tr.Bot(), botkit.NewLive(&cfg), botkit.Env{Name: "dev", StateDir: stateDir}); err != nil {
		t.Fatal(err)
	}
	return tr
}

// openJobs opens the jobs of the bot whose BOT_STATE_DIR is stateDir, as
// another instance would.
func openJobs(t *testing.T, stateDir string) *jobs.Store {
	t.Helper()
	st, err := jobs.Open(filepath.Join(stateDir, jobs.StateSubdir), jobs.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

// records returns the deploys recorded under stateDir, by number.
func records(t *testing.T, stateDir string) []deploy {
	t.Helper()
	if _, err := os.Stat(filepath.Join(stateDir, jobs.StateSubdir)); os.IsNotExist(err) {
		return nil
	}
	st, err := jobs.Open(filepath.Join(stateDir, jobs.StateSubdir), jobs.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var out []deploy
	if err := st.Each(func(r jobs.Record) bool { out = append(out, view(r)); return true }); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(out, func(a, b deploy) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// waitReply waits until a reply satisfies ok and returns it.
func waitReply(t *testing.T, tr *botkittest.Transport, what string, ok func(botkittest.Reply) bool) botkittest.Reply {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, r := range tr.Replies() {
			if ok(r) {
				return r
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no reply %s within 30s; replies:\n%s", what, strings.Join(botkittest.Texts(tr.Replies()), "\n---\n"))
	return botkittest.Reply{}
}

func contains(s string) func(botkittest.Reply) bool {
	return func(r botkittest.Reply) bool { return strings.Contains(r.Text, s) }
}

func TestDeploySucceeds(t *testing.T) {
	t.Parallel()
	stateDir := t.TempDir()
	// The playbooks come from a remote, cloned into a cache dir; the app's
	// repo is asked whether the branch exists.
	appRepo := playbookRepo(t)
	git(t, appRepo, "branch", "feature/login")
	cfg := testConfig(t, filepath.Join(t.TempDir(), "cache"))
	cfg.Playbooks.Remote = playbookRepo(t)
	web := cfg.Apps["web"]
	web.Repo = appRepo
	cfg.Apps["web"] = web
	tr := newBot(t, stateDir, cfg)

	if got := botkittest.Last(tr.Say(t, "deploy web nope")); !strings.Contains(got, "There is no branch `nope`") {
		t.Errorf("missing branch: %q", got)
	}
	replies := tr.Say(t, "deploy web feature/login")
	final := botkittest.Last(replies)
	for _, want := range []string{"✅ Deploy #1: `web` `feature/login` → *dev* for <@U0TEST> succeeded", "PLAY RECAP", "localhost : ok=3 changed=1 unreachable=0 failed=0"} {
		if !strings.Contains(final, want) && !strings.Contains(botkittest.Texts(replies)[len(replies)-2], want) {
			t.Errorf("final message lacks %q:\n%s", want, strings.Join(botkittest.Texts(replies), "\n---\n"))
		}
	}
	// Progress: the first reply is edited while the play runs, showing tasks.
	var progress []string
	for _, r := range replies {
		if r.Update && strings.HasPrefix(r.Text, "⏳") {
			progress = append(progress, r.Text)
		}
	}
	if !slices.ContainsFunc(progress, func(s string) bool { return strings.Contains(s, "Task 2: `Wait a moment`") }) {
		t.Errorf("no progress edit showed the running task: %q", progress)
	}
	// The log is attached (inline in tests), with the extra vars as
	// ansible saw them and no secret from the bot's environment.
	log := botkittest.Last(replies)
	if !strings.Contains(log, "Full log of deploy #1") || !strings.Contains(log, "branch=[feature/login] env=[dev] token=[]") {
		t.Errorf("log reply:\n%s", log)
	}
	rs := records(t, stateDir)
	if len(rs) != 1 || rs[0].Status != jobs.Succeeded || rs[0].branch != "feature/login" || len(rs[0].Recap) != 1 || len(rs[0].Commit) != 40 {
		t.Errorf("history = %+v", rs)
	}
	if _, err := os.Stat(filepath.Join(stateDir, "jobs", "jobs", "1", "worktree")); !os.IsNotExist(err) {
		t.Errorf("worktree left behind: %v", err)
	}
	if got := botkittest.Last(tr.Say(t, "apps")); !strings.Contains(got, "dev (default): `feature/login` by <@U0TEST>, just now — ✅ ok (#1)") {
		t.Errorf("apps:\n%s", got)
	}
	if got := botkittest.Last(tr.Say(t, "history web dev")); !strings.Contains(got, "#1 `web` `feature/login` → *dev*") {
		t.Errorf("history:\n%s", got)
	}
	if got := botkittest.Last(tr.Say(t, "history prd")); got != "No deploys yet." {
		t.Errorf("history prd: %q", got)
	}
	if got := botkittest.Last(tr.Say(t, "status 1")); !strings.Contains(got, "✅ ok") {
		t.Errorf("status 1: %q", got)
	}
}

func TestDeployFails(t *testing.T) {
	t.Parallel()
	stateDir := t.TempDir()
	tr := newBot(t, stateDir, testConfig(t, playbookRepo(t)))
	replies := tr.Say(t, "deploy db main to prd")
	texts := strings.Join(botkittest.Texts(replies), "\n---\n")
	for _, want := range []string{"❌ Deploy #1: `db` `main` → *prd*", "at task `Migrate the database` on `localhost`", "migration failed for main", "failed=1"} {
		if !strings.Contains(texts, want) {
			t.Errorf("replies lack %q:\n%s", want, texts)
		}
	}
	rs := records(t, stateDir)
	if len(rs) != 1 || rs[0].Status != jobs.Failed || rs[0].Task != "Migrate the database" || rs[0].Error != "migration failed for main" {
		t.Errorf("history = %+v", rs)
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	stateDir := t.TempDir()
	tr := newBot(t, stateDir, testConfig(t, playbookRepo(t)))
	tests := []struct{ say, want string }{
		{"deploy web --help", "Refused the branch `--help`: the branch name must start with a letter or a digit. Nothing was run."},
		{"deploy web $(reboot)", "Refused the branch `$(reboot)`"},
		{"deploy web ;rm -rf /", "Usage:"}, // three words: not even a command
		{"deploy web ;rm", "Refused the branch `;rm`"},
		{"deploy web ../x", "Refused the branch `../x`"},
		{"deploy web a/../x", "git does not accept it"},
		{"deploy web " + strings.Repeat("b", 300), "longer than 200 characters"},
		{"deploy web m\u0430in", "non-ASCII"},
		{"deploy web x`id`", "may only hold"},
		{"deploy web a&amp;&amp;b", "Refused the branch `a&amp;&amp;b`"},
		{"deploy nope main", "I don't know the app `nope`. Apps: `db`, `slow`, `web`."},
		// Nothing is rewritten behind the user's back: not a control
		// character, not a channel link Slack made of "#main", not a
		// capital dotted I that strings.ToLower would turn into "i".
		{"deploy web ma\x00in", "contains a control or invalid character (the branch of `deploy"},
		{"deploy web <#C0EVIL|main>", "is a link to a Slack channel, not text: type the name without a leading #"},
		{"deploy web <@U0EVIL>", "is a Slack mention, not text"},
		{"deploy web main to lİve", "`lİve` is not a name: use ASCII letters, digits"},
		{"deploy wİb main", "`wİb` is not a name"},
		{"deploy web main to qa", "`web` cannot be deployed to `qa`; its environments are dev, prd."},
		{"cancel x", "is not a deploy number"},
		{"cancel 9", "There is no deploy #9"},
		{"status 9", "There is no deploy #9"},
	}
	for _, tt := range tests {
		if got := botkittest.Last(tr.Say(t, tt.say)); !strings.Contains(got, tt.want) {
			t.Errorf("%q: got %q, want %q", tt.say, got, tt.want)
		}
	}
	if rs := records(t, stateDir); len(rs) != 0 {
		t.Errorf("a refused deploy was recorded: %+v", rs)
	}
	if ents, _ := os.ReadDir(filepath.Join(stateDir, "jobs", "jobs")); len(ents) != 0 {
		t.Errorf("a refused deploy left a run dir: %v", ents)
	}
}

// startSlow starts a deploy of the slow app and waits until its long task
// runs. The event id is given, so that tests can send it again.
func startSlow(t *testing.T, tr *botkittest.Transport, id string) <-chan struct{} {
	t.Helper()
	done := tr.SendAsync(t, botkit.Event{ID: id, User: botkittest.User, Channel: botkittest.Channel, Text: "<@UBOT> deploy slow main"})
	waitReply(t, tr, "showing the long task", contains("Task 2: `Sleep long`"))
	return done
}

func wait(t *testing.T, done <-chan struct{}) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the deploy did not end within 30s")
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	stateDir := t.TempDir()
	cfg := testConfig(t, playbookRepo(t))
	cfg.Admins = []string{"UADMIN"}
	tr := newBot(t, stateDir, cfg)
	done := startSlow(t, tr, "EvSlow")
	if got := botkittest.Last(tr.Say(t, "status")); !strings.Contains(got, "Deploy #1") || !strings.Contains(got, "Sleep long") {
		t.Errorf("status while running: %q", got)
	}
	if got := botkittest.Last(tr.SayAs(t, "UOTHER", "cancel 1")); !strings.Contains(got, "Only <@U0TEST>, who started deploy #1, or an admin may cancel it") {
		t.Errorf("cancel by another user: %q", got)
	}
	start := time.Now()
	if got := botkittest.Last(tr.SayAs(t, "UADMIN", "cancel #1")); !strings.Contains(got, "Cancelling deploy #1") {
		t.Errorf("cancel: %q", got)
	}
	wait(t, done)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("cancel took %v", d)
	}
	waitReply(t, tr, "saying it was cancelled", contains("was cancelled by <@UADMIN>"))
	rs := records(t, stateDir)
	if len(rs) != 1 || rs[0].Status != jobs.Cancelled || rs[0].CancelledBy != "UADMIN" || rs[0].Task != "Sleep long" {
		t.Errorf("history = %+v", rs)
	}
	if got := botkittest.Last(tr.Say(t, "cancel 1")); !strings.Contains(got, "is not running") {
		t.Errorf("cancel again: %q", got)
	}
}

// TestCancelButton: the framework's Cancel button and its answers name a
// deploy as one (jobs.Options.Noun), never a job.
func TestCancelButton(t *testing.T) {
	t.Parallel()
	stateDir := t.TempDir()
	tr := newBot(t, stateDir, testConfig(t, playbookRepo(t)))
	done := startSlow(t, tr, "EvSlow")
	progress := waitReply(t, tr, "with a Cancel button", func(r botkittest.Reply) bool {
		b, _ := json.Marshal(r.Blocks)
		return strings.Contains(string(b), `"action_id":"`+jobs.CancelActionID+`"`)
	})
	blocks, _ := json.Marshal(progress.Blocks)
	if !strings.Contains(string(blocks), `"text":"Cancel deploy #1"`) {
		t.Errorf("the button: %s", blocks)
	}
	clicks := 0
	click := func(user string) string {
		clicks++
		return botkittest.Last(tr.Send(t, botkit.Event{ID: fmt.Sprintf("click%d", clicks), User: user, Channel: botkittest.Channel, ThreadTS: progress.ThreadTS,
			Action: &botkit.Action{ActionID: jobs.CancelActionID, Value: "1", MessageTS: progress.TS}}))
	}
	if got := click("UOTHER"); got != "Only <@"+botkittest.User+">, who started deploy #1, or those allowed to stop any deploy may cancel it." {
		t.Errorf("a click by another user: %q", got)
	}
	if got := click(botkittest.User); got != "Cancelling deploy #1." {
		t.Errorf("the requester's click: %q", got)
	}
	wait(t, done)
	waitReply(t, tr, "saying it was cancelled", contains("was cancelled by <@"+botkittest.User+">"))
	if got := click(botkittest.User); got != "Deploy #1 is not running: it ended (⏹ cancelled)." {
		t.Errorf("a click on an ended deploy: %q", got)
	}
	for _, r := range tr.Replies() {
		b, _ := json.Marshal(r.Blocks)
		if s := r.Text + string(b); jobWord.MatchString(strings.ReplaceAll(s, jobs.CancelActionID, "")) {
			t.Errorf("a user read %q, which names a deploy a job", s)
		}
	}
}

var jobWord = regexp.MustCompile(`(?i)\bjobs?\b`)

// TestCancelReachesWhatLeftTheGroup: a playbook starts a daemon in a
// session of its own (setsid), out of ansible-playbook's process group;
// cancelling the deploy kills it too.
func TestCancelReachesWhatLeftTheGroup(t *testing.T) {
	t.Parallel()
	stateDir := t.TempDir()
	pidFile := filepath.Join(t.TempDir(), "daemon.pid")
	repo := playbookRepo(t)
	inv := `localhost ansible_connection=local ansible_python_interpreter="{{ ansible_playbook_python }}" escape_pidfile=` + pidFile + "\n"
	if err := os.WriteFile(filepath.Join(repo, "escape.ini"), []byte(inv), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, repo, "add", ".")
	git(t, repo, "commit", "--quiet", "-m", "escape")
	cfg := testConfig(t, repo)
	cfg.Apps["escape"] = App{Playbook: "escape.yml", DefaultEnv: "dev", Inventories: map[string]string{"dev": "escape.ini"}}
	tr := newBot(t, stateDir, cfg)
	done := tr.SendAsync(t, botkit.Event{ID: "EvEscape", User: botkittest.User, Channel: botkittest.Channel, Text: "<@UBOT> deploy escape main"})
	waitReply(t, tr, "showing the long task", contains("Task 2: `Sleep long`"))
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	if pgid, err := syscall.Getpgid(pid); err != nil || pgid != pid {
		t.Fatalf("the daemon %d: group %d, %v; want a group of its own", pid, pgid, err)
	}
	if got := botkittest.Last(tr.Say(t, "cancel 1")); !strings.Contains(got, "Cancelling deploy #1") {
		t.Errorf("cancel: %q", got)
	}
	wait(t, done)
	deadline := time.Now().Add(3 * time.Second)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("the daemon %d outlived the cancelled deploy", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// processAlive reports whether pid runs (a zombie waiting for its reaper
// does not).
func processAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z") && !strings.HasPrefix(rest, "X")
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	stateDir := t.TempDir()
	cfg := testConfig(t, playbookRepo(t))
	slow := cfg.Apps["slow"]
	slow.Timeout = 6 * time.Second
	cfg.Apps["slow"] = slow
	tr := newBot(t, stateDir, cfg)
	start := time.Now()
	replies := tr.Say(t, "deploy slow main")
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the deploy ran %v with a 6s timeout", d)
	}
	texts := strings.Join(botkittest.Texts(replies), "\n")
	// On a loaded machine ansible-playbook can take most of the timeout to
	// start; the task is named when it got that far.
	want := "timed out: stopped after 6s, the app's timeout"
	if strings.Contains(texts, "Sleep long") {
		want += ", during task `Sleep long`"
	}
	if !strings.Contains(texts, want) {
		t.Errorf("replies:\n%s", texts)
	}
	if rs := records(t, stateDir); len(rs) != 1 || rs[0].Status != jobs.TimedOut {
		t.Errorf("history = %+v", rs)
	}
}

// TestTwoInstances runs two bots on one state dir, as two pods on EFS: a
// deploy of an app and env another instance runs is refused with who holds
// it, and the same Slack event given to both runs once.
func TestTwoInstances(t *testing.T) {
	t.Parallel()
	stateDir := t.TempDir()
	cfg := testConfig(t, playbookRepo(t))
	a, b := newBot(t, stateDir, cfg), newBot(t, stateDir, cfg)
	done := startSlow(t, a, "EvShared")

	// The same event delivered to the second instance: not run again.
	b.Send(t, botkit.Event{ID: "EvShared", User: botkittest.User, Channel: botkittest.Channel, Text: "<@UBOT> deploy slow main"})
	if n := len(b.Replies()); n != 0 {
		t.Errorf("the second instance answered a handled event: %q", botkittest.Texts(b.Replies()))
	}
	got := botkittest.Last(b.SayAs(t, "U2", "deploy slow feature/y"))
	for _, want := range []string{"`slow` in *dev* is busy: <@U0TEST> is deploying `main` of `slow` to *dev* (deploy #1), since ", "`cancel 1`"} {
		if !strings.Contains(got, want) {
			t.Errorf("refusal %q lacks %q", got, want)
		}
	}
	// Another app is free.
	if got := botkittest.Last(b.Say(t, "deploy web main to prd")); !strings.Contains(got, "✅") && !strings.Contains(got, "Full log") {
		t.Errorf("deploy to another env: %q", got)
	}
	// Cancel through the second instance: it asks the first, through the
	// state dir.
	if got := botkittest.Last(b.Say(t, "cancel 1")); !strings.Contains(got, "Asked the instance running deploy #1") {
		t.Errorf("cancel from b: %q", got)
	}
	wait(t, done)
	rs := records(t, stateDir)
	if len(rs) != 2 || rs[0].Status != jobs.Cancelled || rs[1].Status != jobs.Succeeded {
		t.Errorf("history = %+v", rs)
	}
}

// TestRestart: a deploy recorded as running whose lock is free (its
// instance died) is marked interrupted when a bot starts, and its message
// is edited; one whose lock is held runs elsewhere and is left alone.
func TestRestart(t *testing.T) {
	t.Parallel()
	stateDir := t.TempDir()
	deadStore := openJobs(t, stateDir)
	dead := beginDeploy(t, deadStore, "web", "1700000000.000042")
	// Its instance died: the key's lock file and the process lock closed.
	dead.LockFile().Close()
	deadStore.Close()
	alive := beginDeploy(t, openJobs(t, stateDir), "db", "1700000000.000043") // another pod, still running its deploy

	tr := newBot(t, stateDir, testConfig(t, playbookRepo(t)))
	rs := records(t, stateDir)
	if rs[0].ID != dead.Record().ID || rs[0].Status != jobs.Interrupted || rs[1].ID != alive.Record().ID || rs[1].Status != jobs.Running {
		t.Fatalf("after start: %+v", rs)
	}
	tr.Say(t, "status") // starts the bot, which edits the messages of interrupted deploys
	edit := waitReply(t, tr, "editing the interrupted deploy's message", func(r botkittest.Reply) bool { return r.Update && r.TS == "1700000000.000042" })
	if !strings.Contains(edit.Text, "⚠️ Deploy #1: `web` `main` → *dev* for <@U1> was interrupted") {
		t.Errorf("edit: %q", edit.Text)
	}
	if rs := records(t, stateDir); !rs[0].Notified {
		t.Error("the notice was not recorded")
	}
	// A second start does not edit it again, nor touch the live deploy.
	tr2 := newBot(t, stateDir, testConfig(t, playbookRepo(t)))
	tr2.Say(t, "apps")
	for _, r := range tr2.Replies() {
		if r.Update {
			t.Errorf("second start edited %q", r.Text)
		}
	}
	if rs := records(t, stateDir); rs[1].Status != jobs.Running {
		t.Errorf("the live deploy became %s", rs[1].Status)
	}
}

// TestShutdown: SIGTERM lets a deploy run for the grace period, then
// cancels it and records why.
func TestShutdown(t *testing.T) {
	t.Parallel()
	stateDir := t.TempDir()
	tr := newBot(t, stateDir, testConfig(t, playbookRepo(t)), botkittest.WithRunOptions(botkit.WithGracePeriod(500*time.Millisecond)))
	startSlow(t, tr, "EvShutdown")
	stopped := make(chan struct{})
	go func() { tr.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(20 * time.Second):
		t.Fatal("the bot did not stop")
	}
	if !slices.ContainsFunc(tr.Replies(), contains("was stopped after")) || !slices.ContainsFunc(tr.Replies(), contains("the bot was shutting down")) {
		t.Errorf("replies:\n%s", strings.Join(botkittest.Texts(tr.Replies()), "\n---\n"))
	}
	if rs := records(t, stateDir); len(rs) != 1 || rs[0].Status != jobs.Cancelled || rs[0].CancelledBy != "shutdown" {
		t.Errorf("history = %+v", rs)
	}
}

func TestHelpGolden(t *testing.T) {
	t.Parallel()
	tr := newBot(t, t.TempDir(), testConfig(t, playbookRepo(t)))
	got := botkittest.Last(tr.Say(t, "help"))
	golden.Check(t, filepath.Join("testdata", "help.golden"), got)
}

// TestDefaultEnvIsCheckedByAccessRules: a deploy that leaves the
// environment out is checked as the app's default, so a rule on env=prd
// cannot be bypassed where prd is the default.
func TestDefaultEnvIsCheckedByAccessRules(t *testing.T) {
	t.Parallel()
	stateDir := t.TempDir()
	cfg := testConfig(t, playbookRepo(t))
	web := cfg.Apps["web"]
	web.DefaultEnv = "prd"
	cfg.Apps["web"] = web
	cfg.Access.Rules = []botkit.Rule{{Name: "prd-deployers", Command: "deploy", Args: map[string]string{"env": "prd"}, Users: []string{"U0BOSS"}}}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("a default env behind a rule: %v", err)
	}
	tr := newBot(t, stateDir, cfg)
	if err := tr.Apply(cfg.Settings); err != nil {
		t.Fatal(err)
	}
	got := botkittest.Last(tr.SayAs(t, "U0ANY", "deploy web main"))
	if !strings.Contains(got, "access rule `prd-deployers` does not include you") {
		t.Errorf("deploy of an app whose default is prd: %q, want a denial by prd-deployers", got)
	}
	if rs := records(t, stateDir); len(rs) != 0 {
		t.Errorf("a denied deploy was recorded: %+v", rs)
	}
	if got := strings.Join(botkittest.Texts(tr.SayAs(t, "U0BOSS", "deploy web main")), "\n"); !strings.Contains(got, "`web` `main` → *prd* for <@U0BOSS> succeeded") {
		t.Errorf("deploy by the rule's user: %q, want a deploy to prd", got)
	}
}

// beginDeploy records a deploy of app to dev as running in st, as a bot
// does, with msg as its message.
func beginDeploy(t *testing.T, st *jobs.Store, app, msg string) *jobs.Lease {
	t.Helper()
	l, _, err := st.Begin(t.Context(), jobs.Record{Kind: "deploy", Key: lockKey(app, "dev"), User: "U1", Channel: "C1", Title: "deploying `main` of `" + app + "` to *dev*",
		Args: map[string]string{"app": app, "env": "dev", "branch": "main"}})
	if err != nil {
		t.Fatal(err)
	}
	r := l.Record()
	r.Message = msg
	if err := l.Update(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	return l
}
