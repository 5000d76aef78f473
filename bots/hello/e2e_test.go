package main

import (
	"bytes"
	"flag"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
)

// runBot, set to 1 in the environment of a process the tests start, makes
// this test binary run the bot's main instead of its tests. The end-to-end
// tests run the bot that way: one build for the tests and the bot (with
// the race detector when the tests have it), no second build and link.
const runBot = "BOTFLEET_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runBot) == "1" {
		main()
		return
	}
	flag.Parse()
	os.Exit(m.Run())
}

// botCmd returns a command that runs hello's main, as its binary does,
// with env added to the test's environment.
func botCmd(t *testing.T, env ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	// With the race detector, a process sleeps a second before it exits,
	// for late reports; each stop of the bot would wait for it.
	race := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(os.Environ(), append([]string{runBot + "=1", "GORACE=" + race}, env...)...)
	return cmd
}

// process is hello running as in a pod.
type process struct {
	cmd    *exec.Cmd
	exited chan error
	mu     sync.Mutex
	stderr bytes.Buffer
}

func (p *process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.Write(b)
}

// Log returns what the bot logged so far.
func (p *process) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// start runs hello against the fake with the given Slack variables.
func start(t *testing.T, slack *slacktest.Server, vars ...string) *process {
	t.Helper()
	p := &process{exited: make(chan error, 1)}
	p.cmd = botCmd(t, append([]string{"SLACK_BOT_TOKEN=" + slacktest.BotToken, "SLACK_API_URL=" + slack.APIURL(),
		"BOT_HTTP_ADDR=127.0.0.1:0", "BOT_ENV=dev", "BOT_CONFIG=config/local.yaml", "BOT_CONFIG_POLL=0",
		"BOT_STATE_DIR=" + t.TempDir()}, vars...)...) // a temp state dir: never the machine's /efs/state/<bot>
	p.cmd.Stderr = p
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() { p.cmd.Process.Kill() })
	return p
}

// stop sends SIGTERM and checks that the bot exits 0 without logging a token.
func (p *process) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.wait(t)
}

func (p *process) wait(t *testing.T) {
	t.Helper()
	select {
	case err := <-p.exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, p.Log())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("hello did not exit within 20s of SIGTERM")
	}
	log := p.Log()
	for _, secret := range []string{slacktest.BotToken, slacktest.AppToken, slacktest.SigningSecret} {
		if strings.Contains(log, secret) {
			t.Errorf("a secret was logged: %s", secret)
		}
	}
	if !strings.Contains(log, `"msg":"bot stopped"`) {
		t.Errorf("log lacks the stop line:\n%s", log)
	}
}

// TestSocketModeEndToEnd runs hello against the fake Slack over Socket
// Mode: replies, retries, bad frames, bot loops, 429s and reconnects.
func TestSocketModeEndToEnd(t *testing.T) {
	t.Parallel()
	slack := slacktest.New(t, slacktest.WithPingInterval(200*time.Millisecond))
	p := start(t, slack, "SLACK_APP_TOKEN="+slacktest.AppToken)
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
	// Bots, including this one, never trigger a command; nor do edits.
	slack.WaitAck(t, func() string { _, e := slack.BotMention("BOTHER", "C1", "ping"); return e }())
	slack.WaitAck(t, func() string {
		_, e := slack.SendEvent(slacktest.Event{Type: "message", User: "U1", Channel: "C1", SubType: "message_changed", Text: "<@UBOT> ping"})
		return e
	}())
	_, env3 := slack.Mention("U1", "C1", "whoami")
	slack.WaitAck(t, env3)
	slack.WaitMessages(t, 3)
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
	slack.WaitMessages(t, 6)
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

	p.stop(t)
	for _, want := range []string{`"transport":"socket-mode"`, `"msg":"connected to slack"`} {
		if !strings.Contains(p.Log(), want) {
			t.Errorf("log lacks %s", want)
		}
	}
}

// prompt waits for the confirmation question whose text starts with text and
// returns it with the value its Confirm button carries.
func prompt(t *testing.T, slack *slacktest.Server, text string) (slacktest.Message, string) {
	t.Helper()
	var q slacktest.Message
	slack.WaitFor(t, 0, func() bool {
		for _, m := range slack.Messages() {
			if m.Method == "chat.postMessage" && strings.HasPrefix(m.Text, text) && m.Blocks != "" {
				q = m
				return true
			}
		}
		return false
	})
	if v, ok := q.Button("botkit_confirm_yes"); ok {
		return q, v
	}
	t.Fatalf("no Confirm button in %s", q.Blocks)
	return q, ""
}

// posted reports whether the bot posted or edited a message matching f.
func posted(slack *slacktest.Server, f func(slacktest.Message) bool) func() bool {
	return func() bool {
		for _, m := range slack.Messages() {
			if f(m) {
				return true
			}
		}
		return false
	}
}

// TestConfirmationEndToEnd: only the requester can confirm a launch; a
// second click on the answered question is told so, and runs nothing.
func TestConfirmationEndToEnd(t *testing.T) {
	t.Parallel()
	slack := slacktest.New(t, slacktest.WithPingInterval(200*time.Millisecond))
	p := start(t, slack, "SLACK_APP_TOKEN="+slacktest.AppToken)
	slack.WaitConnected(t)

	slack.Mention("U1", "C1", "launch in 1")
	q, yes := prompt(t, slack, "Launch the rocket in 1 s?")
	slack.WaitAck(t, slack.Click(slacktest.Action{User: "U2", Channel: "C1", MessageTS: q.TS, ActionID: "botkit_confirm_yes", Value: yes}))
	slack.WaitFor(t, 0, posted(slack, func(m slacktest.Message) bool {
		return m.Method == "chat.postEphemeral" && m.EphemeralUser == "U2" && strings.Contains(m.Text, "Only <@U1> can answer")
	}))
	if posted(slack, func(m slacktest.Message) bool { return strings.HasPrefix(m.Text, "🚀") })() {
		t.Fatal("the rocket launched on another user's click")
	}
	slack.Click(slacktest.Action{User: "U1", Channel: "C1", MessageTS: q.TS, ActionID: "botkit_confirm_yes", Value: yes})
	slack.WaitFor(t, 0, posted(slack, func(m slacktest.Message) bool { return m.Method == "chat.update" && m.Text == "🚀 Liftoff!" }))
	if !posted(slack, func(m slacktest.Message) bool {
		return m.Method == "chat.update" && m.TS == q.TS && strings.HasSuffix(m.Text, "→ confirmed.")
	})() {
		t.Error("the question was not edited to say it was confirmed")
	}
	// The same button, clicked again once the command is over.
	slack.Click(slacktest.Action{User: "U1", Channel: "C1", MessageTS: q.TS, ActionID: "botkit_confirm_yes", Value: yes})
	slack.WaitFor(t, 0, posted(slack, func(m slacktest.Message) bool {
		return m.EphemeralUser == "U1" && strings.Contains(m.Text, "was answered already")
	}))

	p.stop(t)
}

// TestShutdownEndToEnd: SIGTERM during a countdown closes the socket first,
// lets the countdown finish and exits 0.
func TestShutdownEndToEnd(t *testing.T) {
	t.Parallel()
	slack := slacktest.New(t, slacktest.WithPingInterval(200*time.Millisecond))
	p := start(t, slack, "SLACK_APP_TOKEN="+slacktest.AppToken)
	slack.WaitConnected(t)

	slack.Mention("U1", "C1", "launch in 2")
	q, yes := prompt(t, slack, "Launch the rocket in 2 s?")
	slack.Click(slacktest.Action{User: "U1", Channel: "C1", MessageTS: q.TS, ActionID: "botkit_confirm_yes", Value: yes})
	slack.WaitFor(t, 0, posted(slack, func(m slacktest.Message) bool { return m.Text == "🚀 T-2" }))
	p.cmd.Process.Signal(syscall.SIGTERM)
	slack.WaitDisconnected(t)
	// Sent after the socket closed: queued by Slack, never answered here.
	slack.Mention("U1", "C1", "ping")
	p.wait(t)
	liftoffs := 0
	for _, m := range slack.Messages() {
		if m.Text == "🚀 Liftoff!" {
			liftoffs++
		}
		if m.Text == "pong" {
			t.Error("a mention sent after SIGTERM was answered")
		}
	}
	if liftoffs != 1 {
		t.Errorf("%d liftoffs, want 1: the countdown running at SIGTERM must finish", liftoffs)
	}
}

var listening = regexp.MustCompile(`"msg":"http server listening".*?"addr":"([^"]+)"`)

// TestEventsAPIEndToEnd runs hello in HTTP Events API mode: Slack's
// signed pushes are answered at once and run; bad signatures and stale
// timestamps get 401 and run nothing; retries run once.
func TestEventsAPIEndToEnd(t *testing.T) {
	t.Parallel()
	slack := slacktest.New(t)
	p := start(t, slack, "SLACK_SIGNING_SECRET="+slacktest.SigningSecret)
	var addr string
	slack.WaitFor(t, 0, func() bool {
		m := listening.FindStringSubmatch(p.Log())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	})
	events, interactive := "http://"+addr+"/slack/events", "http://"+addr+"/slack/interactive"
	ctx := t.Context()

	res, err := slack.PushURLVerification(ctx, events, "challenge-42")
	if err != nil || res.Status != http.StatusOK || !strings.Contains(string(res.Body), "challenge-42") {
		t.Fatalf("url_verification: %v %d %s", err, res.Status, res.Body)
	}
	mention := func(text string) slacktest.Event {
		return slacktest.Event{User: "U1", Channel: "C1", Text: "<@" + slacktest.BotUser + "> " + text}
	}
	for _, bad := range []struct {
		name string
		opt  slacktest.PushOption
	}{
		{"bad signature", slacktest.BadSignature()},
		{"stale timestamp", slacktest.StaleTimestamp()},
	} {
		res, err := slack.PushEvent(ctx, events, mention("echo "+bad.name), bad.opt)
		if err != nil || res.Status != http.StatusUnauthorized {
			t.Errorf("%s: status %d, %v; want 401", bad.name, res.Status, err)
		}
	}
	res, err = pushWhenUp(func() (slacktest.PushResult, error) { return slack.PushEvent(ctx, events, mention("ping")) })
	if err != nil || res.Status != http.StatusOK {
		t.Fatalf("push: %d %v", res.Status, err)
	}
	if res.Duration > 3*time.Second {
		t.Errorf("answered in %s; Slack gives up after 3s", res.Duration)
	}
	slack.WaitMessages(t, 1)
	res, err = slack.PushRetry(ctx, events, res.EventID, slacktest.RetryHeaders(1, "http_timeout"))
	if err != nil || res.Status != http.StatusOK {
		t.Errorf("retry: %d %v", res.Status, err)
	}

	// A confirmation answered through /slack/interactive.
	slack.PushEvent(ctx, events, mention("launch in 1"))
	q, yes := prompt(t, slack, "Launch the rocket in 1 s?")
	res, err = slack.PushClick(ctx, interactive, slacktest.Action{User: "U1", Channel: "C1", MessageTS: q.TS, ActionID: "botkit_confirm_yes", Value: yes})
	if err != nil || res.Status != http.StatusOK {
		t.Fatalf("click: %d %v", res.Status, err)
	}
	slack.WaitFor(t, 0, posted(slack, func(m slacktest.Message) bool { return m.Text == "🚀 Liftoff!" }))

	p.stop(t)
	var texts []string
	for _, m := range slack.Messages() {
		if m.Method == "chat.postMessage" && m.Blocks == "" {
			texts = append(texts, m.Text)
		}
	}
	if strings.Join(texts, "|") != "pong|🚀 T-1" {
		t.Errorf("posted %q; want one pong (the retry and the unsigned pushes run nothing) and the countdown", texts)
	}
	if !strings.Contains(p.Log(), `"transport":"http-events"`) {
		t.Error("log lacks the http-events transport")
	}
}

// TestInteractionsEndToEnd drives hello's slash command, select, modal
// and home tab through the fake Slack, over Socket Mode and over HTTP: the
// slash command answers at its response_url, the form opens from its
// trigger and answers its errors in the ack, the select's choice reaches its
// handler, the home tab is published.
func TestInteractionsEndToEnd(t *testing.T) {
	t.Parallel()
	slack := slacktest.New(t, slacktest.WithPingInterval(200*time.Millisecond))
	p := start(t, slack, "SLACK_APP_TOKEN="+slacktest.AppToken)
	slack.WaitConnected(t)

	// BOT_ENV=dev: the dev app declares the command with its suffix.
	slack.WaitAck(t, slack.Slash("U1", "C1", "/hello-dev", "ping"))
	slack.WaitFor(t, 0, posted(slack, func(m slacktest.Message) bool {
		return m.Method == "response_url" && m.Text == "pong" && m.EphemeralUser == "U1"
	}))

	// The form opens from the slash command's trigger; a short answer is
	// refused beside its field, in the ack; a good one closes it.
	slack.Slash("U1", "C1", "/hello-dev", "feedback")
	form := slack.WaitModal(t, "U1", "feedback")
	ack := slack.WaitAck(t, slack.Submit("U1", form.ID, slacktest.Values{"text": {"no"}}))
	if ack.Answer.ResponseAction != "errors" || ack.Answer.Errors["feedback_text"] == "" || ack.Answer.Problem != "" {
		t.Errorf("a short answer was acked %+v, want an error beside feedback_text", ack.Answer)
	}
	ack = slack.WaitAck(t, slack.Submit("U1", form.ID, slacktest.Values{"text": {"more coffee"}}))
	if ack.Answer.ResponseAction != "" || ack.Latency > 3*time.Second {
		t.Errorf("a good answer was acked %+v after %s, want the modal closed in time", ack.Answer, ack.Latency)
	}
	slack.WaitFor(t, 0, posted(slack, func(m slacktest.Message) bool { return m.Text == "Thanks! Noted: more coffee" }))

	// The select's choice reaches its handler.
	slack.Mention("U1", "C1", "color")
	var menu slacktest.Message
	slack.WaitFor(t, 0, func() bool {
		for _, m := range slack.Messages() {
			if strings.Contains(m.Blocks, "pick_color") {
				menu = m
				return true
			}
		}
		return false
	})
	slack.Click(slacktest.Action{User: "U2", Channel: "C1", MessageTS: menu.TS, ActionID: "pick_color", Type: "static_select", Value: "blue"})
	slack.WaitFor(t, 0, posted(slack, func(m slacktest.Message) bool { return m.Text == "<@U2> picked blue." }))

	// Opening the home tab publishes it.
	slack.SendEvent(slacktest.AppHomeOpened("U1"))
	slack.WaitFor(t, 0, func() bool {
		home, ok := slack.Home("U1")
		return ok && strings.Contains(home.Blocks, "feedback") && strings.Contains(home.Blocks, "/hello-dev launch in 10")
	})
	p.stop(t)

	// Over HTTP, the modal's answer comes in the response body.
	slack = slacktest.New(t)
	p = start(t, slack, "SLACK_SIGNING_SECRET="+slacktest.SigningSecret)
	var addr string
	slack.WaitFor(t, 0, func() bool {
		m := listening.FindStringSubmatch(p.Log())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	})
	res, err := pushWhenUp(func() (slacktest.PushResult, error) {
		return slack.PushSlash(t.Context(), "http://"+addr+"/slack/commands", "U1", "C1", "/hello-dev", "feedback")
	})
	if err != nil || res.Status != http.StatusOK {
		t.Fatalf("slash over HTTP: %d %v", res.Status, err)
	}
	form = slack.WaitModal(t, "U1", "feedback")
	res, err = slack.PushInteraction(t.Context(), "http://"+addr+"/slack/interactive", slacktest.Submission{User: "U1", ViewID: form.ID, Values: slacktest.Values{"text": {"x"}}})
	if err != nil || res.Status != http.StatusOK || res.Answer.ResponseAction != "errors" || res.Answer.Errors["feedback_text"] == "" {
		t.Errorf("a short answer over HTTP: %d %v %+v", res.Status, err, res.Answer)
	}
	res, err = slack.PushInteraction(t.Context(), "http://"+addr+"/slack/interactive", slacktest.Submission{User: "U1", ViewID: form.ID, Values: slacktest.Values{"text": {"x"}}}, slacktest.BadSignature())
	if err != nil || res.Status != http.StatusUnauthorized {
		t.Errorf("a forged submission: %d %v, want 401", res.Status, err)
	}
	p.stop(t)
}

// pushWhenUp pushes until the bot answers something else than 503: its
// server answers 503 from the moment it listens until the bot runs, as
// Slack's retries expect. It gives up after 10 seconds.
func pushWhenUp(push func() (slacktest.PushResult, error)) (slacktest.PushResult, error) {
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		res, err := push()
		if err != nil || res.Status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			return res, err
		}
	}
}
