package slack_test

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	vm "github.com/VictoriaMetrics/metrics"

	"github.com/botfleet/botfleet/pkg/botkit/internal/metric"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/botkittest"
	"github.com/botfleet/botfleet/pkg/botkit/slack"
	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
)

// These tests run the transport with the real slack-go client against
// slacktest, the fake Slack that speaks Socket Mode on loopback.

func newTransport(srv *slacktest.Server, appToken string, logger *slog.Logger) *slack.Socket {
	return slack.NewSocket(slack.SocketConfig{Config: slack.Config{
		BotToken: slacktest.BotToken, AppToken: botkit.Secret(appToken), APIURL: srv.APIURL(), Logger: logger,
	}})
}

// runBot runs b on tr until the test ends.
func runBot(t *testing.T, b *botkit.Bot, tr botkit.Transport, opts ...botkit.Option) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- b.Run(ctx, tr, opts...) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("Run = %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return within 10s of cancel")
		}
	})
}

// promptClick returns the click of Confirm (yes) or Cancel on the newest
// message with confirmation buttons, as user.
func promptClick(t testing.TB, srv *slacktest.Server, user string, yes bool) slacktest.Action {
	t.Helper()
	want := botkit.ConfirmActionID + "_no"
	if yes {
		want = botkit.ConfirmActionID + "_yes"
	}
	a, ok := srv.ButtonClick(user, want)
	if !ok {
		t.Fatalf("no message with a %s button; messages: %+v", want, srv.Messages())
	}
	return a
}

func texts(srv *slacktest.Server) []string {
	var out []string
	for _, m := range srv.Messages() {
		out = append(out, m.Text)
	}
	return out
}

func TestSocketConformance(t *testing.T) {
	botkittest.TestTransport(t, func(t *testing.T) botkittest.Harness {
		srv := slacktest.New(t)
		return botkittest.Harness{
			Transport: newTransport(srv, slacktest.AppToken, nil),
			User:      "U0CONF", Channel: "C0CONF",
			Send:  func(t testing.TB, text string) { srv.Mention("U0CONF", "C0CONF", text) },
			Seen:  func(testing.TB) []string { return texts(srv) },
			Click: func(t testing.TB, user string, yes bool) { srv.Click(promptClick(t, srv, user, yes)) },
			Slash: func(t testing.TB, command, text string) { srv.Slash("U0CONF", "C0CONF", command, text) },
			Submit: func(t testing.TB, user string, values map[string]string) map[string]string {
				form := srv.WaitModal(t, user, "conf_form")
				vals := slacktest.Values{}
				for k, v := range values {
					vals[k] = []string{v}
				}
				return srv.WaitAck(t, srv.Submit(user, form.ID, vals)).Answer.Errors
			},
		}
	})
}

// TestAcksNeverWaitForHandlers: while a handler blocks and the bot's queue
// is full, 50 more envelopes are all acked at once; the ones that do not
// fit are answered "busy", and the queued ones run once the handler ends.
func TestAcksNeverWaitForHandlers(t *testing.T) {
	srv := slacktest.New(t)
	reg := botkit.NewRegistry()
	b := botkit.New("hello")
	release := make(chan struct{})
	started := make(chan struct{}, 64)
	b.Command("block", func(ctx context.Context, req *botkit.Request) error {
		started <- struct{}{}
		<-release
		_, err := req.Reply(ctx, "unblocked")
		return err
	})
	runBot(t, b, newTransport(srv, slacktest.AppToken, nil), botkit.WithMaxInFlight(1), botkit.WithQueueSize(2), botkit.WithRegistry(reg))
	srv.WaitConnected(t)
	_, first := srv.Mention("U1", "C1", "block")
	srv.WaitAck(t, first)
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the first command did not start")
	}

	const n = 50
	var envs []string
	for range n {
		_, env := srv.Mention("U1", "C1", "block")
		envs = append(envs, env)
	}
	var worst time.Duration
	for _, env := range envs {
		worst = max(worst, srv.WaitAck(t, env).Latency)
	}
	// Slack's limit is 3 s; on loopback an ack takes a few milliseconds.
	if worst > time.Second {
		t.Errorf("worst ack latency %v while a handler blocked, want well under Slack's 3s", worst)
	}
	t.Logf("%d envelopes acked while a handler blocked; worst ack latency %v", n, worst)
	busy := eventsCount(t, reg, "busy")
	if busy != n-2 {
		t.Errorf("%v events refused as busy, want %d (the queue holds 2)", busy, n-2)
	}
	close(release)
	srv.WaitFor(t, 0, func() bool { return strings.Count(strings.Join(texts(srv), "\n"), "unblocked") == 3 })
	if got := strings.Count(strings.Join(texts(srv), "\n"), "I'm busy"); got == 0 {
		t.Error("no envelope that did not fit the queue was answered busy")
	}
}

// eventsCount returns botkit_events_total{result=result} of bot hello.
func eventsCount(_ *testing.T, reg *vm.Set, result string) float64 {
	v, _ := metric.Value(reg, metric.Series("botkit_events_total", "bot", "hello", "result", result))
	return v
}

// TestAppTokenRefused: a token apps.connections.open refuses for good ends
// Listen at once with an error that says what SLACK_APP_TOKEN must be,
// instead of slack-go retrying it forever.
func TestAppTokenRefused(t *testing.T) {
	tests := []struct {
		name     string
		appToken string
		fail     string // Slack error injected into apps.connections.open
		want     string
	}{
		{"bot token given as app token", slacktest.BotToken, "", "not_allowed_token_type"},
		{"revoked or unknown token", slacktest.AppToken, "invalid_auth", "invalid_auth"},
		{"token without connections:write", slacktest.AppToken, "missing_scope", "missing_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := slacktest.New(t)
			if tt.fail != "" {
				srv.Fail("apps.connections.open", -1, tt.fail)
			}
			tr := newTransport(srv, tt.appToken, nil)
			errc := make(chan error, 1)
			go func() { errc <- tr.Listen(t.Context(), func(context.Context, botkit.Event) {}) }()
			var err error
			select {
			case err = <-errc:
			case <-time.After(10 * time.Second):
				t.Fatal("Listen still retrying after 10s")
			}
			msg := ""
			if err != nil {
				msg = err.Error()
			}
			for _, want := range []string{"SLACK_APP_TOKEN", "xapp-", "connections:write", tt.want} {
				if !strings.Contains(msg, want) {
					t.Errorf("Listen = %q, want it to name %q", msg, want)
				}
			}
			if strings.Contains(msg, slacktest.AppToken) || strings.Contains(msg, slacktest.BotToken) {
				t.Errorf("the error shows a token: %q", msg)
			}
			if tr.Ready() == nil {
				t.Error("ready after Slack refused the token")
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writes and reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRoutineReconnectsLogNoWarning: Slack's refresh disconnects and the
// bot's own shutdown close sockets on purpose; slack-go reports the closed
// reads as errors, which must not reach the log as warnings.
func TestRoutineReconnectsLogNoWarning(t *testing.T) {
	srv := slacktest.New(t)
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tr := newTransport(srv, slacktest.AppToken, logger)
	b := botkit.New("hello")
	b.Command("ping", func(ctx context.Context, req *botkit.Request) error {
		_, err := req.Reply(ctx, "pong")
		return err
	})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- b.Run(ctx, tr, botkit.WithLogger(logger)) }()
	srv.WaitConnected(t)
	for i := range 5 {
		srv.Disconnect()
		srv.WaitConnected(t)
		_, env := srv.Mention("U1", "C1", "ping")
		srv.WaitAck(t, env)
		srv.WaitFor(t, 0, func() bool { return strings.Count(strings.Join(texts(srv), "\n"), "pong") == i+1 })
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run = %v", err)
	}
	if strings.Contains(logs.String(), "level=WARN") || strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("routine reconnects and shutdown logged warnings:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "reconnected to slack") {
		t.Errorf("no reconnect logged:\n%s", logs.String())
	}
}

// TestLongReply: a reply longer than Slack allows is posted cut, with the
// whole text uploaded in the thread; the reference Reply returns is the
// posted message's, so Update works on it. A failed upload is reported with
// its cause once ("uploading output.txt: …", not twice).
func TestLongReply(t *testing.T) {
	srv := slacktest.New(t)
	b := botkit.New("hello")
	long := strings.Repeat("line of output\n", 4000) // 60,000 characters
	updated := make(chan error, 1)
	b.Command("long", func(ctx context.Context, req *botkit.Request) error {
		ref, err := req.Reply(ctx, long)
		if err != nil {
			return err
		}
		updated <- req.Update(ctx, ref, "done: the output is in the file")
		return nil
	})
	failed := make(chan error, 1)
	b.Command("fail", func(ctx context.Context, req *botkit.Request) error {
		_, err := req.Reply(ctx, long)
		failed <- err
		return nil
	})
	runBot(t, b, newTransport(srv, slacktest.AppToken, nil))
	srv.WaitConnected(t)

	srv.Mention("U1", "C1", "long")
	select {
	case err := <-updated:
		if err != nil {
			t.Fatalf("Update of a long reply's reference: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the long command did not finish")
	}
	srv.WaitFor(t, 0, func() bool { return len(srv.Files()) == 1 })
	if f := srv.Files()[0]; string(f.Content) != long || f.Name != "output.txt" || f.ThreadTS == "" {
		t.Errorf("uploaded %q (%d bytes) in thread %q, want the whole output in the thread", f.Name, len(f.Content), f.ThreadTS)
	}
	if !slices.ContainsFunc(srv.Messages(), func(m slacktest.Message) bool {
		return m.Method == "chat.update" && m.Text == "done: the output is in the file"
	}) {
		t.Error("the long reply was not updated")
	}

	srv.Fail("files.getUploadURLExternal", 1, "ratelimited")
	srv.Mention("U1", "C1", "fail")
	select {
	case err := <-failed:
		if err == nil || strings.Count(err.Error(), "uploading output.txt") != 1 {
			t.Errorf("failed upload: %v, want one \"uploading output.txt\"", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the fail command did not finish")
	}
}

// TestSocketConnections: the num_connections of Slack's hello, and when it
// came, are exported: a second connection of the app opening says 2.
func TestSocketConnections(t *testing.T) {
	srv := slacktest.New(t)
	for i, want := range []float64{1, 2} {
		reg := vm.NewSet()
		tr := slack.NewSocket(slack.SocketConfig{Registry: reg, Config: slack.Config{
			BotToken: slacktest.BotToken, AppToken: slacktest.AppToken, APIURL: srv.APIURL()}})
		before := float64(time.Now().Unix())
		runBot(t, botkit.New("hello"), tr)
		deadline := time.Now().Add(5 * time.Second)
		for {
			n, _ := metric.Value(reg, "botkit_socket_connections")
			seen, _ := metric.Value(reg, "botkit_socket_connections_seen_timestamp_seconds")
			if n == want && seen >= before && seen <= float64(time.Now().Unix()+1) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("connection %d: botkit_socket_connections %v seen at %v, want %v seen since %v", i+1, n, seen, want, before)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}
