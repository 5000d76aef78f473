package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
)

// TestSocketModeEndToEnd builds bin/hello and runs it as a process against
// the fake Slack over Socket Mode, as in a pod.
func TestSocketModeEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "hello")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	slack := slacktest.New(t, slacktest.WithPingInterval(200*time.Millisecond))
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "SLACK_BOT_TOKEN="+slacktest.BotToken, "SLACK_APP_TOKEN="+slacktest.AppToken,
		"SLACK_API_URL="+slack.APIURL(), "BOT_HTTP_ADDR=127.0.0.1:0", "BOT_ENV=dev", "BOT_CONFIG=config/local.yaml", "BOT_CONFIG_POLL=0")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill()
	slack.WaitConnected(t)

	_, env1 := slack.Mention("U1", "C1", "ping")
	slack.WaitAck(t, env1)
	msgs := slack.WaitMessages(t, 1)
	if msgs[0].Text != "pong" || msgs[0].Channel != "C1" || msgs[0].ThreadTS == "" {
		t.Errorf("reply = %+v, want pong in the mention's thread", msgs[0])
	}
	// Slack's retry of the same event is acked and not answered twice.
	ev, _ := slack.Mention("U1", "C1", "echo once")
	slack.WaitMessages(t, 2)
	slack.WaitAck(t, slack.Retry(ev))
	// A malformed frame is acked from its envelope id.
	slack.SendRaw("env-bad", []byte(`{"type":"events_api","envelope_id":"env-bad","payload":{"type":"event_callback","event":"x"}}`))
	slack.WaitAck(t, "env-bad")
	// A bot's own message never triggers a command.
	_, env3 := slack.Mention("U1", "C1", "whoami")
	slack.WaitAck(t, env3)
	msgs = slack.WaitMessages(t, 3)
	time.Sleep(100 * time.Millisecond)
	msgs = slack.Messages()
	if n := len(msgs); n != 3 {
		t.Errorf("%d messages, want 3 (pong, once, whoami): %+v", n, msgs)
	}
	if msgs[1].Text != "once" || !strings.Contains(msgs[2].Text, "in dev") {
		t.Errorf("messages = %+v", msgs)
	}

	// A 429 on the reply is retried after Retry-After: posted exactly once.
	slack.RateLimit("chat.postMessage", 1)
	slack.Mention("U1", "C1", "echo after 429")
	slack.WaitMessages(t, 4)
	// Slack refreshes the connection: the bot reconnects and keeps working.
	slack.Disconnect()
	slack.WaitConnected(t)
	slack.Mention("U1", "C1", "echo after refresh")
	slack.WaitMessages(t, 5)
	// A dropped socket is reopened too.
	slack.Drop()
	slack.WaitConnected(t)
	slack.Mention("U1", "C1", "echo after drop")
	msgs = slack.WaitMessages(t, 6)
	time.Sleep(100 * time.Millisecond)
	var texts []string
	for _, m := range slack.Messages()[3:] {
		texts = append(texts, m.Text)
	}
	if strings.Join(texts, "|") != "after 429|after refresh|after drop" {
		t.Errorf("after faults the bot posted %q", texts)
	}
	if n := len(slack.Calls("apps.connections.open")); n != 3 {
		t.Errorf("apps.connections.open called %d times, want 3 (start, refresh, drop)", n)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("hello did not exit within 15s of SIGTERM")
	}
	log := stderr.String()
	for _, want := range []string{`"transport":"socket-mode"`, `"msg":"connected to slack"`, `"msg":"bot stopped"`} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s", want)
		}
	}
	if strings.Contains(log, slacktest.BotToken) || strings.Contains(log, slacktest.AppToken) {
		t.Error("a token was logged")
	}
}
