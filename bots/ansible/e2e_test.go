package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/botfleet/botfleet/pkg/botkit/jobs"
	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
)

// TestEndToEnd builds bin/ansible and runs it as a process against the
// fake Slack over Socket Mode, as in a pod: a deploy with progress edits and
// the log uploaded as a file; then the bot is killed during a deploy and
// started again, and marks that deploy interrupted; then SIGTERM.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	dir := t.TempDir()
	bin := buildBin(t)
	stateDir := filepath.Join(dir, "botstate") // BOT_STATE_DIR
	cfgPath := filepath.Join(dir, "dev.yaml")
	cfg := "playbooks: {path: " + playbookRepo(t) + ", ref: main}\nprogress_interval: 200ms\ncancel_grace: 2s\n" +
		"apps:\n  web: {playbook: ok.yml, inventories: {dev: inventory.ini}, default_env: dev}\n" +
		"  slow: {playbook: slow.yml, inventories: {dev: inventory.ini}, default_env: dev}\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	slack := slacktest.New(t, slacktest.WithWaitTimeout(30*time.Second))
	start := func() (*exec.Cmd, *bytes.Buffer, chan error) {
		cmd := exec.Command(bin)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
			"SLACK_BOT_TOKEN=" + slacktest.BotToken, "SLACK_APP_TOKEN=" + slacktest.AppToken, "SLACK_API_URL=" + slack.APIURL(),
			"BOT_HTTP_ADDR=127.0.0.1:0", "BOT_ENV=dev", "BOT_CONFIG=" + cfgPath, "BOT_CONFIG_POLL=0",
			"BOT_STATE_DIR=" + filepath.Join(dir, "botstate")} // never the machine's /efs
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		t.Cleanup(func() { cmd.Process.Kill() })
		slack.WaitConnected(t)
		return cmd, &stderr, exited
	}
	updated := func(substr string) func() bool {
		return func() bool {
			for _, m := range slack.Messages() {
				if m.Method == "chat.update" && strings.Contains(m.Text, substr) {
					return true
				}
			}
			return false
		}
	}

	cmd, stderr, exited := start()
	slack.Mention("U1", "C1", "deploy web main")
	slack.WaitFor(t, 0, updated("✅ Deploy #1: `web` `main` → *dev* for <@U1> succeeded"))
	slack.WaitFor(t, 0, func() bool {
		for _, f := range slack.Files() {
			if f.Name == "deploy-1.log" && f.Completed && bytes.Contains(f.Content, []byte("PLAY RECAP")) {
				return true
			}
		}
		return false
	})
	if !updated("Task 2: `Wait a moment`")() {
		t.Error("no progress edit showed the running task")
	}

	// Killed during a deploy, as a pod is when its node goes away.
	slack.Mention("U1", "C1", "deploy slow main")
	slack.WaitFor(t, 0, updated("Task 2: `Sleep long`"))
	var progressTS string
	for _, m := range slack.Messages() {
		if m.Method == "chat.postMessage" && strings.Contains(m.Text, "Deploying `slow`") {
			progressTS = m.TS
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	killOrphans(t, stateDir) // in a pod they die with the container
	slack.WaitDisconnected(t)

	cmd, stderr, exited = start()
	slack.Mention("U1", "C1", "history")
	slack.WaitFor(t, 0, func() bool {
		for _, m := range slack.Messages() {
			if m.Method == "chat.update" && m.TS == progressTS && strings.Contains(m.Text, "was interrupted") {
				return true
			}
		}
		return false
	})
	slack.WaitFor(t, 0, func() bool {
		for _, m := range slack.Messages() {
			if strings.Contains(m.Text, "#2 `slow` `main` → *dev* by <@U1>") && strings.Contains(m.Text, "interrupted") {
				return true
			}
		}
		return false
	})

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the bot did not exit within 20s of SIGTERM")
	}
	if strings.Contains(stderr.String(), slacktest.BotToken) || strings.Contains(stderr.String(), slacktest.AppToken) {
		t.Error("a token was logged")
	}
	if !strings.Contains(stderr.String(), `"msg":"job interrupted"`) {
		t.Errorf("the restart did not log the interrupted deploy:\n%s", stderr)
	}
}

// killOrphans kills the process groups of ansible-playbook runs whose
// command line names dir.
func killOrphans(t *testing.T, dir string) {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(b, []byte(dir)) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if pgid, err := syscall.Getpgid(pid); err == nil && pgid != syscall.Getpgrp() {
			syscall.Kill(-pgid, syscall.SIGKILL)
		}
	}
}

// bot is bin/ansible running against a fake Slack.
type bot struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer // read it once the bot exited
	exited chan error
}

// startBot starts bin/ansible with the config at cfgPath, connected to
// slack over Socket Mode, and waits until it is connected.
func startBot(t *testing.T, slack *slacktest.Server, dir, cfgPath string) *bot {
	t.Helper()
	cmd := exec.Command(buildBin(t))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"SLACK_BOT_TOKEN=" + slacktest.BotToken, "SLACK_APP_TOKEN=" + slacktest.AppToken, "SLACK_API_URL=" + slack.APIURL(),
		"BOT_HTTP_ADDR=127.0.0.1:0", "BOT_ENV=dev", "BOT_CONFIG=" + cfgPath, "BOT_CONFIG_POLL=0",
		"BOT_STATE_DIR=" + filepath.Join(dir, "botstate")} // never the machine's /efs
	b := &bot{cmd: cmd, stderr: &bytes.Buffer{}, exited: make(chan error, 1)}
	cmd.Stderr = b.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { b.exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	slack.WaitConnected(t)
	return b
}

// kill kills the bot with SIGKILL, as when its node goes away.
func (b *bot) kill(t *testing.T, slack *slacktest.Server) {
	t.Helper()
	b.cmd.Process.Signal(syscall.SIGKILL)
	<-b.exited
	slack.WaitDisconnected(t)
}

// stop stops the bot with SIGTERM and checks that it exits 0.
func (b *bot) stop(t *testing.T) {
	t.Helper()
	b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-b.exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, b.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the bot did not exit within 20s of SIGTERM")
	}
}

// playbooks returns the pids of the ansible-playbook processes (the
// leaders of their process groups) of deploys in stateDir.
func playbooks(stateDir string) []int {
	var pids []int
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(b, []byte(stateDir)) || !bytes.Contains(b, []byte("ansible-playbook")) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if pgid, err := syscall.Getpgid(pid); err == nil && pgid == pid && processAlive(pid) {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	return pids
}

func posted(slack *slacktest.Server, method string, substrs ...string) func() bool {
	return func() bool {
		return slices.ContainsFunc(slack.Messages(), func(m slacktest.Message) bool {
			if method != "" && m.Method != method {
				return false
			}
			for _, s := range substrs {
				if !strings.Contains(m.Text, s) {
					return false
				}
			}
			return true
		})
	}
}

// TestEndToEndOrphan kills bin/ansible with SIGKILL during a deploy, which
// leaves its ansible-playbook running, and starts it again on this host:
// while that playbook lives, a second deploy of the app and env is refused,
// naming the deploy and `cancel`; once it is gone, the deploy is recorded
// as interrupted and the next one runs. Killed again during that one, the
// bot started a third time stops the playbook on `cancel`.
func TestEndToEndOrphan(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "botstate") // BOT_STATE_DIR
	cfgPath := filepath.Join(dir, "dev.yaml")
	cfg := "playbooks: {path: " + playbookRepo(t) + ", ref: main}\nprogress_interval: 200ms\ncancel_grace: 2s\n" +
		"apps:\n  slow: {playbook: slow.yml, inventories: {dev: inventory.ini}, default_env: dev}\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { killOrphans(t, stateDir) })
	slack := slacktest.New(t, slacktest.WithWaitTimeout(60*time.Second))

	a := startBot(t, slack, dir, cfgPath)
	slack.Mention("U1", "C1", "deploy slow main")
	slack.WaitFor(t, 0, posted(slack, "chat.update", "Deploy #1: `slow` `main`", "Task 2: `Sleep long`"))
	orphan := playbooks(stateDir)
	if len(orphan) != 1 {
		t.Fatalf("ansible-playbook processes: %v, want one", orphan)
	}
	a.kill(t, slack)
	if !processAlive(orphan[0]) {
		t.Fatal("the playbook died with the bot: nothing to test")
	}
	// No bot runs: the playbook itself holds the lock, which is all a bot
	// on another host could go by.
	if !keyLocked(t, stateDir, "slow") {
		t.Error("with the bot dead and its playbook alive, the lock is free")
	}

	b := startBot(t, slack, dir, cfgPath)
	slack.Mention("U2", "C1", "deploy slow feature")
	slack.WaitFor(t, 0, posted(slack, "chat.postMessage", "`slow` in *dev* is busy: <@U1> is deploying `main` of `slow` to *dev* (deploy #1)", "`cancel 1`", "what it started still runs"))
	if got := playbooks(stateDir); !slices.Equal(got, orphan) {
		t.Errorf("ansible-playbook processes after the refusal: %v, want only the orphan %v", got, orphan)
	}
	killOrphans(t, stateDir) // the playbook ends
	slack.WaitFor(t, 0, posted(slack, "chat.update", "⚠️ Deploy #1: `slow` `main` → *dev* for <@U1> was interrupted"))
	slack.Mention("U2", "C1", "deploy slow feature")
	slack.WaitFor(t, 0, posted(slack, "chat.update", "Deploy #2: `slow` `feature`", "Task 2: `Sleep long`"))
	b.kill(t, slack)

	c := startBot(t, slack, dir, cfgPath)
	slack.Mention("U2", "C1", "cancel 2")
	slack.WaitFor(t, 0, posted(slack, "chat.update", "⏹ Deploy #2: `slow` `feature` → *dev* for <@U2> was cancelled by <@U2>"))
	if got := playbooks(stateDir); len(got) != 0 {
		t.Errorf("ansible-playbook processes after the cancel: %v", got)
	}
	c.stop(t)
	rs := stateRecords(t, stateDir)
	if len(rs) != 2 || rs[0].Status != jobs.Interrupted || rs[1].Status != jobs.Cancelled {
		t.Errorf("history = %+v", rs)
	}
}

// TestEndToEndRace sends two deploys of one app and env to bin/ansible at
// once, the first reply slowed down: the one refused is told who holds the
// deploy and how to cancel it, not only that it is busy.
func TestEndToEndRace(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "botstate") // BOT_STATE_DIR
	cfgPath := filepath.Join(dir, "dev.yaml")
	cfg := "playbooks: {path: " + playbookRepo(t) + ", ref: main}\nprogress_interval: 200ms\n" +
		"apps:\n  web: {playbook: ok.yml, inventories: {dev: inventory.ini}, default_env: dev}\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	slack := slacktest.New(t, slacktest.WithWaitTimeout(60*time.Second))
	b := startBot(t, slack, dir, cfgPath)
	slack.Inject("chat.postMessage", 1, slacktest.Fault{Delay: 2 * time.Second})
	slack.Mention("U1", "C1", "deploy web main")
	slack.Mention("U2", "C1", "deploy web feature")
	slack.WaitFor(t, 0, posted(slack, "chat.postMessage", "`web` in *dev* is busy"))
	slack.WaitFor(t, 0, posted(slack, "chat.update", "✅ Deploy #1: `web`"))
	for _, m := range slack.Messages() {
		if strings.Contains(m.Text, "is busy") && (!strings.Contains(m.Text, "(deploy #1)") || !strings.Contains(m.Text, "`cancel 1`")) {
			t.Errorf("the refusal does not say who holds the deploy: %q", m.Text)
		}
	}
	b.stop(t)
	if rs := stateRecords(t, stateDir); len(rs) != 1 {
		t.Errorf("history = %+v", rs)
	}
}

// TestEndToEndAccess runs bin/ansible against the fake Slack with an access
// rule on prd deploys (issue 4): a user outside the rule's group is refused
// with the rule's name and contact, also when prd is only the app's
// default, and nothing runs; a member is asked to confirm with buttons, a
// click by someone else is refused, and the member's click runs the deploy.
func TestEndToEndAccess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	dir := t.TempDir()
	bin := buildBin(t)
	stateDir := filepath.Join(dir, "botstate") // BOT_STATE_DIR
	cfgPath := filepath.Join(dir, "prd.yaml")
	cfg := "playbooks: {path: " + playbookRepo(t) + ", ref: main}\nprogress_interval: 200ms\n" +
		"apps:\n  web: {playbook: ok.yml, inventories: {dev: inventory.ini, prd: inventory.ini}, default_env: dev}\n" +
		"  api: {playbook: ok.yml, inventories: {dev: inventory.ini, prd: inventory.ini}, default_env: prd}\n" +
		"access:\n  default: allow\n  rules:\n" +
		"    - {name: prd-deployers, command: deploy, args: {env: prd}, groups: [S123], confirm: true, contact: \"#sre\"}\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	slack := slacktest.New(t, slacktest.WithWaitTimeout(30*time.Second))
	slack.SetUserGroup("S123", "U1")
	cmd := exec.Command(bin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"SLACK_BOT_TOKEN=" + slacktest.BotToken, "SLACK_APP_TOKEN=" + slacktest.AppToken, "SLACK_API_URL=" + slack.APIURL(),
		"BOT_HTTP_ADDR=127.0.0.1:0", "BOT_ENV=prd", "BOT_CONFIG=" + cfgPath, "BOT_CONFIG_POLL=0",
		"BOT_STATE_DIR=" + filepath.Join(dir, "botstate")}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	slack.WaitConnected(t)

	posted := func(match func(slacktest.Message) bool) func() bool {
		return func() bool { return slices.ContainsFunc(slack.Messages(), match) }
	}
	refusal := func(m slacktest.Message) bool {
		return m.Method == "chat.postMessage" && strings.Contains(m.Text, "access rule `prd-deployers` does not include you") && strings.Contains(m.Text, "Ask #sre for access.")
	}
	// Refused: asked for prd, and prd as the app's default.
	for i, text := range []string{"deploy web main to prd", "deploy api main"} {
		_, env := slack.Mention("U2", "C1", text)
		slack.WaitAck(t, env)
		slack.WaitFor(t, 0, func() bool {
			n := 0
			for _, m := range slack.Messages() {
				if refusal(m) {
					n++
				}
			}
			return n == i+1
		})
	}
	if rs := stateRecords(t, stateDir); len(rs) != 0 {
		t.Fatalf("a refused deploy was recorded: %+v", rs)
	}

	// A member is asked first; nothing runs before the answer.
	slack.Mention("U1", "C1", "deploy web main to prd")
	slack.WaitFor(t, 0, posted(func(m slacktest.Message) bool { return buttonValue(t, m, "botkit_confirm_yes") != "" }))
	var prompt slacktest.Message
	for _, m := range slack.Messages() {
		if buttonValue(t, m, "botkit_confirm_yes") != "" {
			prompt = m
		}
	}
	if !strings.Contains(prompt.Text, "Run `deploy web main to prd`? (access rule `prd-deployers` asks for a confirmation)") {
		t.Errorf("confirmation: %q", prompt.Text)
	}
	click := func(user string) string {
		return slack.Click(slacktest.Action{User: user, Channel: prompt.Channel, MessageTS: prompt.TS,
			ActionID: "botkit_confirm_yes", Value: buttonValue(t, prompt, "botkit_confirm_yes")})
	}
	slack.WaitAck(t, click("U2"))
	slack.WaitFor(t, 0, posted(func(m slacktest.Message) bool {
		return m.Method == "chat.postEphemeral" && m.EphemeralUser == "U2" && strings.Contains(m.Text, "Only <@U1> can answer this confirmation.")
	}))
	if rs := stateRecords(t, stateDir); len(rs) != 0 {
		t.Fatalf("a deploy ran before its confirmation: %+v", rs)
	}
	slack.WaitAck(t, click("U1"))
	slack.WaitFor(t, 0, posted(func(m slacktest.Message) bool {
		return m.Method == "chat.update" && m.TS == prompt.TS && strings.HasSuffix(m.Text, "→ confirmed.") && m.Blocks == "[]"
	}))
	slack.WaitFor(t, 0, posted(func(m slacktest.Message) bool {
		return m.Method == "chat.update" && strings.Contains(m.Text, "✅ Deploy #1: `web` `main` → *prd* for <@U1> succeeded")
	}))
	if rs := stateRecords(t, stateDir); len(rs) != 1 || rs[0].User != "U1" || rs[0].env != "prd" {
		t.Errorf("records after the confirmed deploy: %+v", rs)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the bot did not exit within 20s of SIGTERM")
	}
	// The audit shows the default filled in: api's prd was checked as prd.
	for _, want := range []string{`"user":"U2"`, `"args":{"app":"api","branch":"main","env":"prd"},"decision":"deny"`} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("the audit log lacks %s:\n%s", want, stderr.String())
		}
	}
}

// buttonValue returns the value of m's button actionID, or "".
func buttonValue(_ *testing.T, m slacktest.Message, actionID string) string {
	v, _ := m.Button(actionID)
	return v
}

func stateRecords(t *testing.T, dir string) []deploy { return records(t, dir) }

// binDir holds bin/ansible, built once for the tests that run it;
// TestMain removes it.
var binDir string

var binOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "ansible-e2e-")
	if err != nil {
		return "", err
	}
	binDir = dir
	bin := filepath.Join(dir, "ansible")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func buildBin(t *testing.T) string {
	t.Helper()
	bin, err := binOnce()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}
