package botkittest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/botfleet/botfleet/pkg/botkit"
)

// Harness drives one transport under test from the outside, the way its
// real peer (Slack, a terminal) would.
type Harness struct {
	// Transport is a fresh, unstarted transport.
	Transport botkit.Transport
	// Send makes the transport receive text as a command (the harness adds
	// a mention if its peer needs one).
	Send func(t testing.TB, text string)
	// User and Channel are whom the transport reports as the author and
	// channel of what Send sends.
	User, Channel string
	// Seen returns the text of every message the transport posted or
	// updated, as its peer received them.
	Seen func(t testing.TB) []string
	// Click, if set, clicks Confirm (yes) or Cancel as user on the newest
	// confirmation the transport posted, the way its peer delivers a
	// click. A transport whose peer is one person (the console) leaves it
	// nil, and the suite skips the checks that need a second user.
	Click func(t testing.TB, user string, yes bool)
	// Slash, if set, makes the transport receive a slash command typed by
	// User in Channel.
	Slash func(t testing.TB, command, text string)
	// Submit, if set, submits the modal the bot opened last as user, with
	// values by input (block and action IDs alike), and returns the
	// errors the bot answered beside the inputs (nil when it closed it).
	Submit func(t testing.TB, user string, values map[string]string) map[string]string
}

// TestTransport is the conformance suite every botkit transport passes. It
// runs a real bot over each fresh harness that newHarness returns and
// checks delivery, replies, updates, ephemeral messages, concurrent posts,
// confirmations (when the harness can Click) and shutdown.
func TestTransport(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Run("delivers author and channel", func(t *testing.T) {
		h := newHarness(t)
		b := botkit.New("conformance")
		got := make(chan [2]string, 1)
		b.Command("probe {n}", func(ctx context.Context, req *botkit.Request) error {
			got <- [2]string{req.User, req.Channel}
			_, err := req.Reply(ctx, "probe "+req.Arg("n")+" ok")
			return err
		})
		run(t, b, h)
		h.Send(t, "probe 7")
		select {
		case uc := <-got:
			if uc != [2]string{h.User, h.Channel} {
				t.Errorf("handler saw user/channel %v, want %v", uc, [2]string{h.User, h.Channel})
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the command was not delivered within 10s")
		}
		waitSeen(t, h, "probe 7 ok")
	})
	t.Run("updates and ephemeral", func(t *testing.T) {
		h := newHarness(t)
		b := botkit.New("conformance")
		b.Command("progress", func(ctx context.Context, req *botkit.Request) error {
			ref, err := req.Reply(ctx, "step one")
			if err != nil {
				return err
			}
			if err := req.Update(ctx, ref, "step two"); err != nil {
				return err
			}
			return req.Ephemeral(ctx, "for your eyes")
		})
		run(t, b, h)
		h.Send(t, "progress")
		waitSeen(t, h, "step one", "step two", "for your eyes")
	})
	t.Run("concurrent posts", func(t *testing.T) {
		h := newHarness(t)
		b := botkit.New("conformance")
		b.Command("fan", func(ctx context.Context, req *botkit.Request) error {
			var wg sync.WaitGroup
			errs := make(chan error, 20)
			for i := range 20 {
				wg.Go(func() {
					if _, err := req.Replyf(ctx, "part %02d", i); err != nil {
						errs <- err
					}
				})
			}
			wg.Wait()
			close(errs)
			return <-errs
		})
		run(t, b, h)
		h.Send(t, "fan")
		want := make([]string, 20)
		for i := range want {
			want[i] = fmt.Sprintf("part %02d", i)
		}
		waitSeen(t, h, want...)
	})
	t.Run("markup round trip", func(t *testing.T) {
		h := newHarness(t)
		b := botkit.New("conformance")
		b.Command("say {text...}", func(ctx context.Context, req *botkit.Request) error {
			_, err := req.Reply(ctx, "said: "+botkit.Escape(req.Arg("text")))
			return err
		})
		run(t, b, h)
		h.Send(t, "say a &lt;b&gt; &amp; c")
		waitSeen(t, h, "said: a &lt;b&gt; &amp; c")
	})
	t.Run("confirmation", func(t *testing.T) {
		h := newHarness(t)
		if h.Click == nil {
			t.Skip("the harness cannot click as another user")
		}
		b := botkit.New("conformance")
		b.Command("risky", func(ctx context.Context, req *botkit.Request) error {
			_, err := req.Reply(ctx, "risky ran")
			return err
		}, botkit.Confirm(func(context.Context, *botkit.Request) (string, error) { return "Really run risky?", nil }))
		run(t, b, h)
		h.Send(t, "risky")
		waitSeen(t, h, "Really run risky?")
		// Someone else's click is refused and leaves the question open.
		h.Click(t, "U0INTRUDER", true)
		waitSeen(t, h, "Only <@"+h.User+"> can answer this confirmation.")
		h.Click(t, h.User, true)
		waitSeen(t, h, "Really run risky?\n→ confirmed.", "risky ran")
		// The same button again: the question was decided, once.
		h.Click(t, h.User, true)
		waitSeen(t, h, "This confirmation was answered already")
	})
	t.Run("slash command", func(t *testing.T) {
		h := newHarness(t)
		if h.Slash == nil {
			t.Skip("the harness cannot send slash commands")
		}
		b := botkit.New("conformance")
		b.Slash("/conf")
		b.Command("probe {n:int}", func(ctx context.Context, req *botkit.Request) error {
			_, err := req.Replyf(ctx, "probe %d ok (%s)", req.Int("n", 0), req.Kind)
			return err
		})
		run(t, b, h)
		h.Slash(t, "/conf", "probe 07")
		waitSeen(t, h, "probe 7 ok (slash)")
	})
	t.Run("modal answered in the ack", func(t *testing.T) {
		h := newHarness(t)
		if h.Slash == nil || h.Submit == nil {
			t.Skip("the harness cannot open and submit modals")
		}
		b := botkit.New("conformance")
		b.Slash("/conf")
		b.Command("form", func(ctx context.Context, req *botkit.Request) error {
			_, err := req.OpenView(ctx, slack.ModalViewRequest{Type: slack.VTModal, CallbackID: "conf_form",
				Title:  slack.NewTextBlockObject(slack.PlainTextType, "Form", false, false),
				Submit: slack.NewTextBlockObject(slack.PlainTextType, "Send", false, false),
				Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewInputBlock("name",
					slack.NewTextBlockObject(slack.PlainTextType, "Name", false, false), nil, slack.NewPlainTextInputBlockElement(nil, "name"))}}})
			return err
		})
		b.View("conf_form", func(ctx context.Context, req *botkit.Request) error {
			if len(req.Field("name")) < 3 {
				return botkit.FieldErrors{"name": "too short"}
			}
			_, err := req.Replyf(ctx, "form from %s ok", req.Field("name"))
			return err
		})
		run(t, b, h)
		h.Slash(t, "/conf", "form")
		if errs := h.Submit(t, h.User, map[string]string{"name": "x"}); errs["name"] != "too short" {
			t.Errorf("a short name answered %v, want too short beside it", errs)
		}
		if errs := h.Submit(t, h.User, map[string]string{"name": "alice"}); errs != nil {
			t.Errorf("a good name answered %v, want the modal closed", errs)
		}
		waitSeen(t, h, "form from alice ok")
	})
	t.Run("stops when cancelled", func(t *testing.T) {
		h := newHarness(t)
		b := botkit.New("conformance")
		b.Command("ping", func(ctx context.Context, req *botkit.Request) error {
			_, err := req.Reply(ctx, "pong")
			return err
		})
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- b.Run(ctx, h.Transport) }()
		h.Send(t, "ping")
		waitSeen(t, h, "pong")
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("Run after cancel = %v, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return within 10s of cancel")
		}
	})
}

// run starts b on h's transport until the test ends.
func run(t *testing.T, b *botkit.Bot, h Harness) {
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- b.Run(ctx, h.Transport) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-errc:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return within 10s of cancel")
		}
	})
}

// waitSeen waits until every text in want has been seen (as a whole
// message, or for transports that render, within one).
func waitSeen(t *testing.T, h Harness, want ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		seen := h.Seen(t)
		missing := slices.DeleteFunc(slices.Clone(want), func(w string) bool {
			return slices.ContainsFunc(seen, func(s string) bool { return strings.Contains(s, w) })
		})
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("within 10s the peer did not see %q; it saw %q", missing, seen)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
