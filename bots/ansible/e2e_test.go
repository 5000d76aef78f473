package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

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
	bin := filepath.Join(dir, "ansible")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	stateDir := filepath.Join(dir, "state")
	cfgPath := filepath.Join(dir, "dev.yaml")
	cfg := "playbooks: {path: " + playbookRepo(t) + ", ref: main}\nstate_dir: " + stateDir + "\nprogress_interval: 200ms\ncancel_grace: 2s\n" +
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
			"BOT_HTTP_ADDR=127.0.0.1:0", "BOT_ENV=dev", "BOT_CONFIG=" + cfgPath, "BOT_CONFIG_POLL=0"}
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
	if !strings.Contains(stderr.String(), `"msg":"deploy interrupted"`) {
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
