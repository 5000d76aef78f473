package botkit_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
	"github.com/google/go-cmp/cmp"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/botkittest"
	"github.com/botfleet/botfleet/pkg/golden"
)

func reply(text string) botkit.HandlerFunc {
	return func(ctx context.Context, req *botkit.Request) error {
		_, err := req.Reply(ctx, text)
		return err
	}
}

func deployBot(t *testing.T) *botkittest.Transport {
	tr := botkittest.New(t, botkittest.WithName("ansible"))
	b := tr.Bot()
	b.Command("deploy {app} {branch} [to {env}]", func(ctx context.Context, req *botkit.Request) error {
		env := req.Arg("env")
		if env == "" {
			env = "dev"
		}
		_, err := req.Replyf(ctx, "deploying %s@%s to %s", req.Arg("app"), req.Arg("branch"), env)
		return err
	}, botkit.Describe("Deploy a branch of an app"), botkit.Example("deploy api feature/x to dev"))
	b.Command("apps", reply("api, web"), botkit.Describe("List the apps"))
	b.Command("status [{id}]", reply("nothing running"), botkit.Describe("Running deploys"))
	b.Command("history [{app}] [{env}]", reply("no history"))
	b.Command("secret", reply("hidden"), botkit.Hidden())
	return tr
}

func TestHelp(t *testing.T) {
	tr := deployBot(t)
	var sb strings.Builder
	for _, cmd := range []string{"help", "HELP deploy", "help status", "help deploi", "help nothing"} {
		got := tr.Say(t, cmd)
		if len(got) != 1 {
			t.Fatalf("%q: got %d replies, want 1", cmd, len(got))
		}
		fmt.Fprintf(&sb, "> %s\n%s\n\n", cmd, got[0].Text)
	}
	golden.Check(t, "testdata/help.golden", sb.String())
	if strings.Contains(sb.String(), "secret") {
		t.Errorf("help shows the hidden command")
	}
	if got := botkittest.Last(tr.Say(t, "secret")); got != "hidden" {
		t.Errorf("hidden command did not run: %q", got)
	}
}

func TestRouting(t *testing.T) {
	tr := deployBot(t)
	tests := []struct{ say, want string }{
		{"deploy api feature/x", "deploying api@feature/x to dev"},
		{"Deploy\u00a0api  main  TO  prd", "deploying api@main to prd"},
		{"deploy api", "Usage: `deploy &lt;app&gt; &lt;branch&gt; [to &lt;env&gt;]`. See `help deploy`."},
		{"deploi api main", "I don't know `deploi`. Did you mean `deploy &lt;app&gt; &lt;branch&gt; [to &lt;env&gt;]`? Try `help`."},
		{"stat", "I don't know `stat`. Did you mean `status [&lt;id&gt;]`? Try `help`."},
		{"frobnicate", "I don't know `frobnicate`. Try `help` to see what I can do."},
		{"<script>", "I don't know `&lt;script&gt;`. Try `help` to see what I can do."},
		{"", "Hi! Type `help` to see what I can do."},
		{"\x00\x01\u00a0", "I don't know `\ufffd\ufffd`. Try `help` to see what I can do."},
		{strings.Repeat("a", 40000), "That message is too long to be a command. Try `help`."},
		{"deploy " + strings.Repeat("x ", 5000), "That message is too long to be a command. Try `help`."},
		{"deploy <https://evil|x y> <@U1>", "deploying https://evil@U1 to dev"},
	}
	for _, tt := range tests {
		got := tr.Say(t, tt.say)
		if len(got) != 1 || got[0].Text != tt.want {
			t.Errorf("Say(%.40q) = %q, want one reply %q", tt.say, botkittest.Texts(got), tt.want)
		}
	}
}

func TestReplyThreading(t *testing.T) {
	tr := botkittest.New(t)
	var ref botkit.MessageRef
	tr.Bot().Command("work", func(ctx context.Context, req *botkit.Request) error {
		var err error
		if ref, err = req.Reply(ctx, "started"); err != nil {
			return err
		}
		if err := req.Update(ctx, ref, "done"); err != nil {
			return err
		}
		return req.Ephemeral(ctx, "just for you")
	})
	got := tr.Send(t, botkit.Event{User: "U1", Channel: "C1", TS: "111.1", Text: "<@UBOT> work"})
	want := []botkittest.Reply{
		{Channel: "C1", ThreadTS: "111.1", TS: ref.TS, Text: "started"},
		{Channel: "C1", ThreadTS: "111.1", TS: ref.TS, Text: "done", Update: true},
		{Channel: "C1", ThreadTS: "111.1", TS: got[2].TS, Text: "just for you", Ephemeral: "U1"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("replies (-want +got):\n%s", diff)
	}
	// A command typed inside a thread replies in that thread.
	got = tr.Send(t, botkit.Event{User: "U1", Channel: "C1", TS: "222.2", ThreadTS: "200.0", Text: "<@UBOT> work"})
	if len(got) != 3 || got[0].ThreadTS != "200.0" {
		t.Errorf("in-thread command replied to %+v, want thread 200.0", got)
	}
}

func TestErrorPolicy(t *testing.T) {
	reg := botkit.NewRegistry()
	tr := botkittest.New(t, botkittest.WithRunOptions(botkit.WithRegistry(reg)))
	b := tr.Bot()
	b.Command("refuse", func(context.Context, *botkit.Request) error {
		return botkit.Userf("unknown app %q; try `apps`", "x")
	})
	b.Command("fail", func(context.Context, *botkit.Request) error {
		return errors.New("database password=hunter2 rejected")
	})
	b.Command("boom", func(context.Context, *botkit.Request) error { panic("nil map") })
	b.Command("badarg", func(_ context.Context, req *botkit.Request) error { req.Arg("nope"); return nil })
	b.Command("slow", func(ctx context.Context, _ *botkit.Request) error {
		<-ctx.Done()
		return ctx.Err()
	}, botkit.Timeout(20*time.Millisecond))
	b.Command("ok", reply("fine"))

	if got := botkittest.Last(tr.Say(t, "refuse")); got != `unknown app "x"; try `+"`apps`" {
		t.Errorf("user error reply = %q", got)
	}
	refRE := regexp.MustCompile("^Sorry, `(fail|boom|badarg)` failed. If you ask for help, mention ref `[0-9a-f]{8}`.$")
	for _, cmd := range []string{"fail", "boom", "badarg"} {
		got := botkittest.Last(tr.Say(t, cmd))
		if !refRE.MatchString(got) {
			t.Errorf("%s reply = %q, want %s", cmd, got, refRE)
		}
		if strings.Contains(got, "hunter2") || strings.Contains(got, "nil map") {
			t.Errorf("%s reply leaks the error: %q", cmd, got)
		}
	}
	if got := botkittest.Last(tr.Say(t, "slow")); got != "`slow` timed out after 20ms." {
		t.Errorf("timeout reply = %q", got)
	}
	if got := botkittest.Last(tr.Say(t, "ok")); got != "fine" {
		t.Errorf("bot stopped working after a panic: %q", got)
	}
	for _, c := range []struct{ cmd, outcome string }{
		{"refuse", "user_error"}, {"fail", "error"}, {"boom", "panic"}, {"badarg", "panic"}, {"slow", "timeout"}, {"ok", "ok"},
	} {
		n := counterValue(t, reg, "botkit_commands_total", map[string]string{"command": c.cmd, "outcome": c.outcome})
		if n != 1 {
			t.Errorf("botkit_commands_total{command=%q,outcome=%q} = %v, want 1", c.cmd, c.outcome, n)
		}
	}
}

// counterValue reads the series name whose labels include labels from what
// reg exposes on /metrics, or 0 when there is none.
func counterValue(t *testing.T, reg *vm.Set, name string, labels map[string]string) float64 {
	t.Helper()
	var buf bytes.Buffer
	reg.WritePrometheus(&buf)
	sc := bufio.NewScanner(&buf)
line:
	for sc.Scan() {
		series, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || !strings.HasPrefix(series, name+"{") {
			continue
		}
		for k, v := range labels {
			if !strings.Contains(series, k+`="`+v+`"`) {
				continue line
			}
		}
		f, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("%s: %v", sc.Text(), err)
		}
		return f
	}
	return 0
}

func TestIgnoredAndDuplicateEvents(t *testing.T) {
	tr := botkittest.New(t)
	var runs atomic.Int32
	tr.Bot().Command("ping", func(ctx context.Context, req *botkit.Request) error {
		runs.Add(1)
		_, err := req.Reply(ctx, "pong")
		return err
	})
	tr.Send(t, botkit.Event{ID: "Ev1", User: "U1", Channel: "C1", Text: "<@UBOT> ping", BotID: "B1"})
	tr.Send(t, botkit.Event{ID: "Ev2", User: "U1", Channel: "C1", Text: "<@UBOT> ping", Subtype: "message_changed"})
	if n := runs.Load(); n != 0 {
		t.Fatalf("bot and edited messages ran %d commands, want 0", n)
	}
	tr.Send(t, botkit.Event{ID: "Ev3", User: "U1", Channel: "C1", Text: "<@UBOT> ping"})
	tr.Send(t, botkit.Event{ID: "Ev3", User: "U1", Channel: "C1", Text: "<@UBOT> ping"}) // a retry
	if n := runs.Load(); n != 1 {
		t.Fatalf("a retried event ran %d times, want 1", n)
	}
	if n := len(tr.Replies()); n != 1 {
		t.Errorf("got %d replies, want 1", n)
	}
}

func TestBusyWhenQueueFull(t *testing.T) {
	tr := botkittest.New(t, botkittest.WithRunOptions(botkit.WithMaxInFlight(1), botkit.WithQueueSize(1)))
	release := make(chan struct{})
	started := make(chan struct{}, 3)
	tr.Bot().Command("block", func(ctx context.Context, req *botkit.Request) error {
		started <- struct{}{}
		<-release
		_, err := req.Reply(ctx, "unblocked")
		return err
	})
	first := tr.SendAsync(t, botkit.Event{User: "U1", Channel: "C1", TS: "1.1", Text: "<@UBOT> block"})
	<-started // the only slot is taken
	second := tr.SendAsync(t, botkit.Event{User: "U1", Channel: "C1", TS: "1.2", Text: "<@UBOT> block"})
	got := tr.Send(t, botkit.Event{User: "U1", Channel: "C1", TS: "1.3", Text: "<@UBOT> block"})
	if len(got) != 1 || !strings.Contains(got[0].Text, "busy") {
		t.Errorf("third command got %q, want a busy note", botkittest.Texts(got))
	}
	close(release)
	<-first
	<-second
	for _, ts := range []string{"1.1", "1.2"} {
		if got := botkittest.Texts(tr.Thread(ts)); !cmp.Equal(got, []string{"unblocked"}) {
			t.Errorf("queued command %s replied %q, want [unblocked]", ts, got)
		}
	}
}

func TestShutdownWaitsForRunningCommands(t *testing.T) {
	tr := botkittest.New(t, botkittest.WithRunOptions(botkit.WithGracePeriod(5*time.Second)))
	started := make(chan struct{})
	tr.Bot().Command("work", func(ctx context.Context, req *botkit.Request) error {
		close(started)
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
		_, err := req.Reply(ctx, "finished")
		return err
	})
	done := tr.SendAsync(t, botkit.Event{User: "U1", Channel: "C1", TS: "5.5", Text: "<@UBOT> work"})
	<-started
	tr.Stop()
	select {
	case <-done:
	default:
		t.Fatal("Run returned before the running command finished")
	}
	if got := botkittest.Texts(tr.Thread("5.5")); !cmp.Equal(got, []string{"finished"}) {
		t.Errorf("replies = %q, want [finished]", got)
	}
	if err := tr.Err(); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
}

func TestShutdownCancelsAfterGracePeriod(t *testing.T) {
	tr := botkittest.New(t, botkittest.WithRunOptions(botkit.WithGracePeriod(10*time.Millisecond)))
	started := make(chan struct{})
	var cancelled atomic.Bool
	tr.Bot().Command("hang", func(ctx context.Context, _ *botkit.Request) error {
		close(started)
		<-ctx.Done()
		cancelled.Store(true)
		return ctx.Err()
	})
	tr.SendAsync(t, botkit.Event{User: "U1", Channel: "C1", Text: "<@UBOT> hang"})
	<-started
	tr.Stop()
	if !cancelled.Load() {
		t.Error("the hanging command's context was not cancelled after the grace period")
	}
}

func TestRegistrationAfterRunPanics(t *testing.T) {
	tr := botkittest.New(t)
	tr.Bot().Command("ping", reply("pong"))
	tr.Start()
	defer func() {
		if recover() == nil {
			t.Error("Command after Run did not panic")
		}
	}()
	tr.Bot().Command("late", reply("x"))
}

func TestMiddlewareOrderAndRequestFields(t *testing.T) {
	tr := botkittest.New(t)
	var order []string
	mw := func(name string) botkit.Middleware {
		return func(next botkit.Handler) botkit.Handler {
			return botkit.HandlerFunc(func(ctx context.Context, req *botkit.Request) error {
				order = append(order, name+">")
				err := next.ServeCommand(ctx, req)
				order = append(order, "<"+name)
				return err
			})
		}
	}
	tr.Bot().Use(mw("outer"), mw("inner"))
	var got *botkit.Request
	tr.Bot().Command("show {x}", func(ctx context.Context, req *botkit.Request) error {
		order = append(order, "handler")
		got = req
		return nil
	})
	tr.Send(t, botkit.Event{ID: "EvX", User: "U9", Channel: "C9", TS: "3.3", ThreadTS: "3.0", Text: "<@UBOT>  show\u00a0it"})
	if strings.Join(order, " ") != "outer> inner> handler <inner <outer" {
		t.Errorf("middleware order = %v", order)
	}
	if got.Text != "show it" || got.User != "U9" || got.Channel != "C9" || got.TS != "3.3" || got.ThreadTS != "3.0" || got.EventID != "EvX" || got.Command().Pattern() != "show {x}" {
		t.Errorf("request: text %q user %q channel %q ts %q thread %q event %q", got.Text, got.User, got.Channel, got.TS, got.ThreadTS, got.EventID)
	}
}

// TestFloodOfLongMessagesStaysSmall: with every worker blocked, 3,000
// messages of 39 KB (each longer than any command) are queued without
// their text, so the heap grows by a few MB, not the 117 MB they hold; each
// still gets its "too long" reply once a worker is free.
func TestFloodOfLongMessagesStaysSmall(t *testing.T) {
	tr := botkittest.New(t, botkittest.WithRunOptions(botkit.WithMaxInFlight(1)))
	release := make(chan struct{})
	started := make(chan struct{})
	tr.Bot().Command("block", func(ctx context.Context, req *botkit.Request) error {
		close(started)
		<-release
		return nil
	})
	tr.SendAsync(t, botkit.Event{User: "U1", Channel: "C1", Text: "<@UBOT> block"})
	<-started
	before := heapInUse()
	const n, size = 3000, 39 << 10
	dones := make([]<-chan struct{}, n)
	for i := range n {
		// Each its own 39 KB, as a transport decodes each from the wire.
		dones[i] = tr.SendAsync(t, botkit.Event{User: "U2", Channel: "C1", TS: fmt.Sprintf("2.%d", i), Text: "<@UBOT> echo " + strings.Repeat("x", size)})
	}
	grown := heapInUse() - before
	t.Logf("heap grew %.1f MB for %d queued messages of %d KB", float64(grown)/(1<<20), n, size>>10)
	if grown > 16<<20 {
		t.Errorf("heap grew %d MB with %d long messages queued, want under 16 MB", grown>>20, n)
	}
	close(release)
	for _, d := range dones {
		<-d
	}
	if got := botkittest.Texts(tr.Thread("2.2999")); !cmp.Equal(got, []string{"That message is too long to be a command. Try `help`."}) {
		t.Errorf("a long message got %q", got)
	}
}

// TestQueueBoundedByBytes: messages under the command limit still count by
// their bytes; past WithQueueBytes the user is told the bot is busy.
func TestQueueBoundedByBytes(t *testing.T) {
	tr := botkittest.New(t, botkittest.WithRunOptions(botkit.WithMaxInFlight(1), botkit.WithQueueBytes(64<<10)))
	release := make(chan struct{})
	started := make(chan struct{})
	tr.Bot().Command("block", func(ctx context.Context, req *botkit.Request) error {
		close(started)
		<-release
		return nil
	})
	tr.Bot().Command("echo {text...}", reply("echoed"))
	tr.SendAsync(t, botkit.Event{User: "U1", Channel: "C1", Text: "<@UBOT> block"})
	<-started
	var busy, queued []<-chan struct{}
	for i := range 40 {
		ts := fmt.Sprintf("3.%d", i)
		done := tr.SendAsync(t, botkit.Event{User: "U2", Channel: "C1", TS: ts, Text: "<@UBOT> echo " + strings.Repeat("y", 3900)})
		select {
		case <-done:
			busy = append(busy, done)
		case <-time.After(50 * time.Millisecond):
			queued = append(queued, done)
		}
	}
	// 64 KB holds 15 such messages with their overhead; the rest are busy.
	if len(queued) < 10 || len(queued) > 16 || len(busy) == 0 {
		t.Fatalf("%d queued, %d told busy; want 10-16 queued", len(queued), len(busy))
	}
	if got := botkittest.Texts(tr.Thread("3.39")); len(got) != 1 || !strings.Contains(got[0], "busy") {
		t.Errorf("the last message got %q, want a busy note", got)
	}
	close(release)
	for _, d := range queued {
		<-d
	}
	if got := botkittest.Texts(tr.Thread("3.0")); !cmp.Equal(got, []string{"echoed"}) {
		t.Errorf("a queued message got %q", got)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestQueuedAtShutdownAreTold: events acked and queued but not started when
// the grace period ends are answered "restarting", not dropped without a
// word.
func TestQueuedAtShutdownAreTold(t *testing.T) {
	tr := botkittest.New(t, botkittest.WithRunOptions(botkit.WithMaxInFlight(1), botkit.WithGracePeriod(50*time.Millisecond)))
	started := make(chan struct{})
	tr.Bot().Command("hang", func(ctx context.Context, _ *botkit.Request) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	tr.Bot().Command("ping", reply("pong"))
	tr.SendAsync(t, botkit.Event{User: "U1", Channel: "C1", TS: "4.0", Text: "<@UBOT> hang"})
	<-started
	var dones []<-chan struct{}
	for i := range 3 {
		dones = append(dones, tr.SendAsync(t, botkit.Event{User: "U2", Channel: "C1", TS: fmt.Sprintf("4.%d", i+1), Text: "<@UBOT> ping"}))
	}
	tr.Stop()
	for i, d := range dones {
		<-d
		got := botkittest.Texts(tr.Thread(fmt.Sprintf("4.%d", i+1)))
		if len(got) != 1 || !strings.HasPrefix(got[0], "I'm restarting and could not run that in time") {
			t.Errorf("queued ping %d got %q, want a restart note", i+1, got)
		}
	}
}

// TestTimeoutWrappedOnce: a handler that returns its context's error after
// the timeout is logged with that error once, not "context deadline
// exceeded: context deadline exceeded".
func TestTimeoutWrappedOnce(t *testing.T) {
	var logs syncLog
	tr := botkittest.New(t, botkittest.WithRunOptions(botkit.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))))
	tr.Bot().Command("slow", func(ctx context.Context, _ *botkit.Request) error {
		<-ctx.Done()
		return ctx.Err()
	}, botkit.Timeout(10*time.Millisecond))
	tr.Say(t, "slow")
	if s := logs.String(); !strings.Contains(s, `cause="context deadline exceeded"`) || strings.Contains(s, "exceeded: context deadline") {
		t.Errorf("audit line's err is not the deadline once:\n%q", s)
	}
}

type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
