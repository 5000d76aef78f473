package console_test

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/slack-go/slack"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/botkittest"
	"github.com/botfleet/botfleet/pkg/botkit/console"
)

// syncBuffer is a bytes.Buffer safe for the transport's writes and the
// test's reads at once.
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

func TestConformance(t *testing.T) {
	botkittest.TestTransport(t, func(t *testing.T) botkittest.Harness {
		pr, pw := io.Pipe()
		t.Cleanup(func() { pw.Close() })
		out := &syncBuffer{}
		mark := 0 // where the output of the next form starts
		return botkittest.Harness{
			Transport: console.New("hello", pr, out),
			User:      console.User, Channel: console.Channel,
			Send: func(t testing.TB, text string) {
				if _, err := io.WriteString(pw, "@hello "+console.Plain(text)+"\n"); err != nil {
					t.Fatal(err)
				}
			},
			Seen: func(testing.TB) []string {
				// The console shows text as a person reads it; compare in
				// Slack's escaped form.
				return strings.Split(console.Escape(out.String()), "\n")
			},
			Slash: func(t testing.TB, command, text string) {
				mark = len(out.String())
				if _, err := io.WriteString(pw, command+" "+console.Plain(text)+"\n"); err != nil {
					t.Fatal(err)
				}
			},
			Submit: func(t testing.TB, _ string, values map[string]string) map[string]string {
				return submitForm(t, pw, out, &mark, values)
			},
		}
	})
}

// formQuestion is how the console asks a modal's field: "[Title] Label".
var formQuestion = regexp.MustCompile(`\[[^\]]+\] ([^\n(]+?)(?: \(|\n|$)`)

// submitForm answers the form the console asks, field by field as a person
// would: each question's label names the value (case aside), and the
// bot's verdict is what the console prints next: "⚠ Label: error" for each
// refused field, or "[Title] sent.". It returns the errors by label,
// lowercased, or nil. The form's output starts at *mark; the questions
// asked again after errors start the next.
func submitForm(t testing.TB, w io.Writer, out *syncBuffer, mark *int, values map[string]string) map[string]string {
	t.Helper()
	from := *mark
	deadline := time.Now().Add(10 * time.Second)
	for answered := 0; ; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the console asked no more of the form; it printed:\n%s", out.String()[from:])
		}
		seen := out.String()[from:]
		if strings.Contains(seen, "] sent.") {
			return nil
		}
		if i := strings.LastIndex(seen, "⚠ "); i >= 0 {
			// Every refused field's line comes before the form asks again.
			if !formQuestion.MatchString(seen[i:]) {
				continue
			}
			errs := map[string]string{}
			for _, line := range strings.SplitAfter(seen, "\n") {
				from += len(line)
				if _, warn, ok := strings.Cut(line, "⚠ "); ok {
					label, msg, _ := strings.Cut(strings.TrimSuffix(warn, "\n"), ": ")
					errs[strings.ToLower(label)] = msg
					*mark = from
				}
			}
			return errs
		}
		qs := formQuestion.FindAllStringSubmatch(seen, -1)
		if len(qs) <= answered {
			continue
		}
		label := strings.TrimSpace(qs[answered][1])
		v, ok := values[strings.ToLower(label)]
		if !ok {
			t.Fatalf("the console asks %q, which the values %v do not answer", label, values)
		}
		if _, err := io.WriteString(w, v+"\n"); err != nil {
			t.Fatal(err)
		}
		answered++
	}
}

func TestTranscript(t *testing.T) {
	in := strings.NewReader("ping\n\n@hello echo a <b> & <@U1>\n@hello: slow\nwhoami\n")
	out := &syncBuffer{}
	tr := console.New("hello", in, out, console.WithTranscript())
	b := botkit.New("hello")
	b.Command("ping", func(ctx context.Context, req *botkit.Request) error {
		_, err := req.Reply(ctx, "pong")
		return err
	})
	b.Command("echo {text...}", func(ctx context.Context, req *botkit.Request) error {
		_, err := req.Reply(ctx, botkit.Escape(req.Arg("text"))+"\nsecond line")
		return err
	})
	b.Command("slow", func(ctx context.Context, req *botkit.Request) error {
		ref, err := req.Reply(ctx, "working")
		if err != nil {
			return err
		}
		time.Sleep(20 * time.Millisecond) // later commands must wait for this one
		return req.Update(ctx, ref, "done")
	})
	b.Command("whoami", func(ctx context.Context, req *botkit.Request) error {
		return req.Ephemeral(ctx, "you are <@"+req.User+"> in <#"+req.Channel+"|local>")
	})
	if err := b.Run(context.Background(), tr); err != nil {
		t.Fatalf("Run = %v", err)
	}
	want := `hello> ping
  ↳ pong
hello> @hello echo a <b> & <@U1>
  ↳ a <b> & U1
    second line
hello> @hello: slow
  ↳ working
  ↳ (edited) done
hello> whoami
  ↳ (only you) you are @U0LOCAL in #C0LOCAL
`
	if got := out.String(); got != want {
		t.Errorf("transcript:\n%s\nwant:\n%s", got, want)
	}
}

func TestListenStopsOnCancel(t *testing.T) {
	pr, pw := io.Pipe() // never written: Listen blocks reading
	defer pw.Close()
	tr := console.New("hello", pr, io.Discard, console.WithPrompt())
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- tr.Listen(ctx, func(context.Context, botkit.Event) {}) }()
	cancel()
	select {
	case err := <-errc:
		if err != context.Canceled {
			t.Errorf("Listen = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Listen did not return after cancel")
	}
}

func TestPlain(t *testing.T) {
	tests := []struct{ in, want string }{
		{"hi <@U1>", "hi @U1"},
		{"see <https://x.io|the docs>", "see the docs (https://x.io)"},
		{"<https://x.io>", "https://x.io"},
		{"&lt;app&gt; &amp;", "<app> &"},
		{"in <#C1|general>", "in #C1"},
	}
	for _, tt := range tests {
		if got := console.Plain(tt.in); got != tt.want {
			t.Errorf("Plain(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTranscriptConfirm(t *testing.T) {
	in := strings.NewReader("deploy\ny\ndeploy\nnope\nping\n")
	out := &syncBuffer{}
	tr := console.New("hello", in, out, console.WithTranscript())
	b := botkit.New("hello")
	b.Command("deploy", func(ctx context.Context, req *botkit.Request) error {
		_, err := req.Reply(ctx, "deployed")
		return err
	}, botkit.Confirm(func(context.Context, *botkit.Request) (string, error) { return "Deploy to prd?", nil }))
	b.Command("ping", func(ctx context.Context, req *botkit.Request) error {
		_, err := req.Reply(ctx, "pong")
		return err
	})
	if err := b.Run(context.Background(), tr); err != nil {
		t.Fatal(err)
	}
	want := `hello> deploy
  ↳ Deploy to prd?
    [y/N] type y to confirm, anything else to cancel
hello> y
  ↳ (edited) Deploy to prd?
    → confirmed.
  ↳ deployed
hello> deploy
  ↳ Deploy to prd?
    [y/N] type y to confirm, anything else to cancel
hello> nope
  ↳ (edited) Deploy to prd?
    → cancelled.
hello> ping
  ↳ pong
`
	if got := out.String(); got != want {
		t.Errorf("transcript:\n%s\nwant:\n%s", got, want)
	}
}

// TestEventIDsUniqueAcrossSessions: a bot that remembers handled event ids
// on disk must not see a new session's commands as ones it already ran.
func TestEventIDsUniqueAcrossSessions(t *testing.T) {
	ids := map[string]bool{}
	for range 3 {
		tr := console.New("hello", strings.NewReader("ping\nping\n"), io.Discard)
		var got []string
		err := tr.Listen(t.Context(), func(_ context.Context, ev botkit.Event) { got = append(got, ev.ID) })
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("delivered %d events, want 2", len(got))
		}
		for _, id := range got {
			if ids[id] {
				t.Errorf("event id %q seen in an earlier session", id)
			}
			ids[id] = true
		}
	}
}

// On a terminal the session reads like a chat: the reply, then a fresh
// prompt; output that comes while the prompt waits (a long command's end)
// is printed above it and the prompt shown again.
func TestTerminalPromptFollowsReplies(t *testing.T) {
	in, w := io.Pipe()
	out := &syncBuffer{}
	tr := console.New("hello", in, out, console.WithPrompt())
	b := botkit.New("hello")
	b.Command("ping", func(ctx context.Context, req *botkit.Request) error {
		_, err := req.Reply(ctx, "pong")
		return err
	})
	release := make(chan struct{})
	b.Command("slow", func(ctx context.Context, req *botkit.Request) error {
		<-release
		_, err := req.Reply(ctx, "slow done")
		return err
	})
	errc := make(chan error, 1)
	go func() { errc <- b.Run(context.Background(), tr) }()
	waitOut := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for out.String() != want {
			if time.Now().After(deadline) {
				t.Fatalf("terminal shows %q, want %q", out.String(), want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitOut("hello> ")
	io.WriteString(w, "ping\n")
	waitOut("hello>   ↳ pong\nhello> ")
	io.WriteString(w, "slow\n")
	// The prompt comes back while slow runs, and its reply goes above it.
	waitOut("hello>   ↳ pong\nhello> hello> ")
	close(release)
	waitOut("hello>   ↳ pong\nhello> hello> \r\033[K  ↳ slow done\nhello> ")
	w.Close()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// TestTranscriptInteractions: on the console a slash command is typed as
// /cmd, a message's buttons and options are numbered choices, and a modal
// is asked a field a line, its errors asked again.
func TestTranscriptInteractions(t *testing.T) {
	in := strings.NewReader("/hello color\n2\n/hello form\nno\n9\n1\nmore coffee\n")
	out := &syncBuffer{}
	tr := console.New("hello", in, out, console.WithTranscript())
	b := botkit.New("hello")
	b.Slash("/hello")
	b.Command("color", func(ctx context.Context, req *botkit.Request) error {
		_, err := req.ReplyMessage(ctx, botkit.Message{Text: "Pick a color", Blocks: []slack.Block{
			slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "Pick:", false, false), nil,
				slack.NewAccessory(slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, nil, "pick",
					slack.NewOptionBlockObject("red", slack.NewTextBlockObject(slack.PlainTextType, "Red", false, false), nil),
					slack.NewOptionBlockObject("blue", slack.NewTextBlockObject(slack.PlainTextType, "Blue", false, false), nil)))),
		}})
		return err
	})
	b.Action("pick", func(ctx context.Context, req *botkit.Request) error {
		_, err := req.Replyf(ctx, "picked %s", req.Action().Value)
		return err
	})
	b.Command("form", func(ctx context.Context, req *botkit.Request) error {
		_, err := req.OpenView(ctx, slack.ModalViewRequest{Type: slack.VTModal, CallbackID: "f",
			Title: slack.NewTextBlockObject(slack.PlainTextType, "Ask", false, false),
			Blocks: slack.Blocks{BlockSet: []slack.Block{
				slack.NewInputBlock("q", slack.NewTextBlockObject(slack.PlainTextType, "Question", false, false), nil, slack.NewPlainTextInputBlockElement(nil, "v")),
				slack.NewInputBlock("size", slack.NewTextBlockObject(slack.PlainTextType, "Size", false, false), nil,
					slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, nil, "v",
						slack.NewOptionBlockObject("s", slack.NewTextBlockObject(slack.PlainTextType, "small", false, false), nil))),
			}}})
		return err
	})
	b.View("f", func(ctx context.Context, req *botkit.Request) error {
		if len(req.Field("q")) < 3 {
			return botkit.FieldErrors{"q": "too short"}
		}
		_, err := req.Replyf(ctx, "asked %q (%s)", req.Field("q"), req.Field("size"))
		return err
	})
	if err := b.Run(context.Background(), tr); err != nil {
		t.Fatal(err)
	}
	want := `hello> /hello color
  ↳ (only you) Pick a color
    [1] Red  [2] Blue  (type a number to choose)
hello> 2
  ↳ picked blue
hello> /hello form
  ↳ [Ask] Question
hello> no
  ↳ [Ask] Size [1] small  (type a number to choose)
hello> 9
  ↳ Type a number from 1 to 1. [Ask] Size [1] small  (type a number to choose)
hello> 1
  ↳ ⚠ Question: too short
  ↳ [Ask] Question
hello> more coffee
hello: asked "more coffee" (s)
  ↳ [Ask] sent.
`
	if got := out.String(); got != want {
		t.Errorf("transcript:\n%s\nwant:\n%s", got, want)
	}
}

// An approval on the console: the local user may not approve their own
// request, a non-member may not either, and "as U0APPROVER y" approves it.
func TestTranscriptApproval(t *testing.T) {
	in := strings.NewReader("deploy prd\ny\nas U0NOBODY y\nas U0APPROVER y\nas U0APPROVER ping\n")
	out := &syncBuffer{}
	tr := console.New("hello", in, out, console.WithTranscript())
	b := botkit.New("hello")
	b.Command("deploy {env:name}", func(ctx context.Context, req *botkit.Request) error {
		_, err := req.Reply(ctx, "deployed to "+req.Arg("env"))
		return err
	})
	b.Command("ping", func(ctx context.Context, req *botkit.Request) error {
		_, err := req.Reply(ctx, "pong for "+req.User)
		return err
	})
	rt := botkit.NewRuntime(b)
	err := rt.Apply(botkit.Settings{Access: botkit.AccessConfig{Rules: []botkit.Rule{{Command: "deploy", Args: map[string]string{"env": "prd"},
		Approve: &botkit.Approval{Groups: []string{"S0LEADS"}, Count: 1}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Run(context.Background(), tr); err != nil {
		t.Fatal(err)
	}
	want := `hello> deploy prd
  ↳ Approval needed: @U0LOCAL asks to run ` + "`deploy prd`" + ` in #C0LOCAL.
    • arguments: ` + "`env=prd`" + `
    Needs 1 approval from !subteam^S0LEADS (access rule ` + "`deploy env=prd`" + `) within 30m0s; the requester cannot approve, and can withdraw with Reject.
    [y/N] type y to approve, anything else to reject
hello> y
  ↳ (only you) You can't approve your own request: another member of !subteam^S0LEADS must.
hello> as U0NOBODY y
  ↳ (only you) Only members of !subteam^S0LEADS can approve or reject this.
hello> as U0APPROVER y
  ↳ (edited) Approval needed: @U0LOCAL asks to run ` + "`deploy prd`" + ` in #C0LOCAL.
    • arguments: ` + "`env=prd`" + `
    Needs 1 approval from !subteam^S0LEADS (access rule ` + "`deploy env=prd`" + `) within 30m0s; the requester cannot approve, and can withdraw with Reject.
    → approved by @U0APPROVER (`
	got := regexp.MustCompile(` at \d\d:\d\d:\d\d UTC`).ReplaceAllString(out.String(), " at T")
	if !strings.HasPrefix(got, want) || !strings.HasSuffix(got, "; running.\n  ↳ (only you) Your click decided this: you approved it at T, and it runs now.\n"+
		"  ↳ deployed to prd\nhello> as U0APPROVER ping\n  ↳ pong for U0APPROVER\n") {
		t.Errorf("transcript:\n%s\nwant it to start:\n%s", got, want)
	}
}

// A scheduled job's posts show in the console between commands, as they
// would in the channel: make run shows them.
func TestScheduledPosts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in, typing := io.Pipe()
		out := &syncBuffer{}
		tr := console.New("hello", in, out, console.WithTranscript())
		b := botkit.New("hello")
		b.Schedule("tick", "* * * * *", func(ctx context.Context, req *botkit.Request) error {
			ref, err := req.Reply(ctx, "tick at "+req.Tick().Format("15:04"))
			if err != nil {
				return err
			}
			return req.Update(ctx, ref, "tick at "+req.Tick().Format("15:04")+" done")
		})
		start, origin := time.Date(2026, 12, 5, 9, 0, 30, 0, time.UTC), time.Now()
		done := make(chan error)
		rt := botkit.NewRuntime(b, botkit.WithClock(func() time.Time { return start.Add(time.Since(origin)) }))
		if err := rt.Apply(botkit.Settings{Schedule: botkit.ScheduleConfig{Channel: console.Channel}}); err != nil {
			t.Fatal(err)
		}
		go func() { done <- rt.Run(context.Background(), tr) }()
		time.Sleep(time.Minute)
		synctest.Wait()
		typing.Close() // the end of input stops the bot
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		want := "hello: tick at 09:01\nhello: (edited) tick at 09:01 done\n"
		if got := out.String(); got != want {
			t.Errorf("console:\n%s\nwant:\n%s", got, want)
		}
	})
}
