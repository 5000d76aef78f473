// Package botkittest is the test kit for bots: an in-memory transport that
// runs a bot's real commands, middleware and error policy, so a test reads
//
//	tr := botkittest.New(t)
//	setup(ctx, tr.Bot(), cfg, env)
//	got := tr.Say(t, "deploy api main")
//
// and gets back what the bot posted and updated in reply. It also holds the
// conformance suite every botkit transport passes (see TestTransport).
package botkittest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/botfleet/botfleet/pkg/botkit"
)

// Default identities of test messages.
const (
	User    = "U0TEST"
	Channel = "C0TEST"
)

// Reply is one message the bot posted, or one update of a message.
type Reply struct {
	Channel   string
	ThreadTS  string
	TS        string // the message's ts; for an update, the ts of the message updated
	Text      string
	Update    bool   // an update of the message TS
	Ephemeral string // the user an ephemeral message was for
	// Prompt is set on a confirmation's question; answer it with Click.
	Prompt *botkit.Prompt
	// Blocks are the message's Block Kit blocks, if any.
	Blocks []slack.Block
	// ResponseURL is set on an answer at a response_url (a slash
	// command's): it has no channel ts.
	ResponseURL string
}

// Memory is a bare in-memory botkit.Transport: events are injected with
// Inject and what the bot posts is kept for Replies. It is safe for
// concurrent use.
type Memory struct {
	mu      sync.Mutex
	replies []Reply
	seq     int
	deliver func(context.Context, botkit.Event)
	ready   chan struct{}

	groups       map[string][]string
	groupErr     error
	groupLookups int

	views []View
}

// SetGroup makes the user group id have these members, for access rules.
func (tr *Memory) SetGroup(id string, members ...string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.groups == nil {
		tr.groups = map[string][]string{}
	}
	tr.groups[id] = members
}

// FailGroups makes every user group lookup fail with err (nil restores).
func (tr *Memory) FailGroups(err error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.groupErr = err
}

// GroupLookups returns how many user group lookups reached the transport.
func (tr *Memory) GroupLookups() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.groupLookups
}

// GroupMembers implements botkit.GroupResolver.
func (tr *Memory) GroupMembers(_ context.Context, id string) ([]string, error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.groupLookups++
	if tr.groupErr != nil {
		return nil, tr.groupErr
	}
	m, ok := tr.groups[id]
	if !ok {
		return nil, fmt.Errorf("no_such_subteam: %s", id)
	}
	return m, nil
}

// NewMemory returns an empty in-memory transport.
func NewMemory() *Memory { return &Memory{ready: make(chan struct{})} }

// Transport is the test kit: a Memory transport driving one bot, with
// helpers that wait for the bot to finish each event. It is safe for
// concurrent use.
type Transport struct {
	*Memory
	bot     *botkit.Bot
	name    string
	runOpts []botkit.Option

	rtMu     sync.Mutex
	rt       *botkit.Runtime  // made at Start
	settings *botkit.Settings // applied at Start when set before

	ids    atomic.Int64
	doneMu sync.Mutex
	done   map[string]chan struct{} // by event id

	startOnce sync.Once
	cancel    context.CancelFunc
	stopped   chan struct{}
	runErr    error
}

// Option configures New.
type Option func(*options)

type options struct {
	name    string
	runOpts []botkit.Option
}

// WithName names the bot (default "test"), as help shows it.
func WithName(name string) Option { return func(o *options) { o.name = name } }

// WithRunOptions passes options to the bot's runtime (botkit.NewRuntime).
func WithRunOptions(opts ...botkit.Option) Option {
	return func(o *options) { o.runOpts = append(o.runOpts, opts...) }
}

// New returns a transport with a fresh bot whose logs go to t.Log. The bot
// starts at the first Say and stops when the test ends.
func New(t testing.TB, opts ...Option) *Transport {
	o := options{name: "test"}
	for _, opt := range opts {
		opt(&o)
	}
	tr := &Transport{Memory: NewMemory(), name: o.name, done: map[string]chan struct{}{}, stopped: make(chan struct{})}
	tr.runOpts = append([]botkit.Option{
		botkit.WithLogger(slog.New(slog.NewTextHandler(tlog{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))),
	}, o.runOpts...)
	tr.bot = botkit.New(o.name)
	t.Cleanup(tr.Stop)
	return tr
}

// Bot returns the bot, for registering commands before the first Say.
func (tr *Transport) Bot() *botkit.Bot { return tr.bot }

// Apply makes s the bot's settings (access rules, audit channel, rate
// limit), as a config file does: checked against the registered commands,
// and applied at once if the bot runs, else when it starts.
func (tr *Transport) Apply(s botkit.Settings) error {
	tr.rtMu.Lock()
	defer tr.rtMu.Unlock()
	if tr.rt != nil {
		return tr.rt.Apply(s)
	}
	if err := tr.bot.CheckSettings(s); err != nil {
		return err
	}
	tr.settings = &s
	return nil
}

// Start runs the bot; Say calls it. It is idempotent.
func (tr *Transport) Start() {
	tr.startOnce.Do(func() {
		tr.rtMu.Lock()
		tr.rt = botkit.NewRuntime(tr.bot, tr.runOpts...)
		if tr.settings != nil {
			if err := tr.rt.Apply(*tr.settings); err != nil {
				panic("botkittest: settings checked by Apply failed at start: " + err.Error())
			}
		}
		rt := tr.rt
		tr.rtMu.Unlock()
		ctx, cancel := context.WithCancel(context.Background())
		tr.cancel = cancel
		go func() {
			defer close(tr.stopped)
			tr.runErr = rt.Run(ctx, tr)
		}()
		<-tr.ready
	})
}

// Stop shuts the bot down as SIGTERM would and waits for Run to return.
func (tr *Transport) Stop() {
	tr.startOnce.Do(func() { close(tr.stopped) }) // never started
	if tr.cancel != nil {
		tr.cancel()
	}
	<-tr.stopped
}

// Err returns what Run returned, once Stop has returned.
func (tr *Transport) Err() error { return tr.runErr }

// Listen implements botkit.Transport.
func (tr *Memory) Listen(ctx context.Context, deliver func(context.Context, botkit.Event)) error {
	tr.mu.Lock()
	tr.deliver = deliver
	tr.mu.Unlock()
	close(tr.ready)
	<-ctx.Done()
	tr.mu.Lock()
	tr.deliver = nil
	tr.mu.Unlock()
	return ctx.Err()
}

// Post implements botkit.Transport.
func (tr *Memory) Post(_ context.Context, m botkit.Message) (botkit.MessageRef, error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.seq++
	ref := botkit.MessageRef{Channel: m.Channel, TS: fmt.Sprintf("1700000001.%06d", tr.seq)}
	tr.replies = append(tr.replies, Reply{Channel: m.Channel, ThreadTS: m.ThreadTS, TS: ref.TS, Text: m.Text, Ephemeral: m.EphemeralUser, Prompt: m.Prompt, Blocks: m.Blocks})
	return ref, nil
}

// Update implements botkit.Transport.
func (tr *Memory) Update(_ context.Context, ref botkit.MessageRef, m botkit.Message) error {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.replies = append(tr.replies, Reply{Channel: ref.Channel, ThreadTS: m.ThreadTS, TS: ref.TS, Text: m.Text, Update: true, Blocks: m.Blocks})
	return nil
}

// Inject delivers ev to the running bot, filling in ID and TS if empty, and
// returns the event as delivered. It reports false when no bot is listening.
func (tr *Memory) Inject(ev botkit.Event) (botkit.Event, bool) {
	tr.mu.Lock()
	tr.seq++
	if ev.ID == "" {
		ev.ID = fmt.Sprintf("Ev%06d", tr.seq)
	}
	if ev.TS == "" && ev.Kind == botkit.KindMessage && ev.Action == nil {
		ev.TS = fmt.Sprintf("1700000000.%06d", tr.seq)
	}
	deliver := tr.deliver
	tr.mu.Unlock()
	if deliver == nil {
		return ev, false
	}
	deliver(context.Background(), ev)
	return ev, true
}

// Done implements botkit.EventDoner: the bot is done with ev, so Say and
// Send stop waiting for it.
func (tr *Transport) Done(ev botkit.Event) {
	tr.doneMu.Lock()
	defer tr.doneMu.Unlock()
	if c, ok := tr.done[ev.ID]; ok {
		close(c)
		delete(tr.done, ev.ID)
	}
}

// Say sends text as a mention from User in Channel, waits until the bot is
// done with it, and returns the replies in its thread, in order. It fails t
// if the bot takes more than 30 s.
func (tr *Transport) Say(t testing.TB, text string) []Reply {
	t.Helper()
	return tr.Send(t, botkit.Event{User: User, Channel: Channel, Text: "<@UBOT> " + text})
}

// SayAs is Say from another user.
func (tr *Transport) SayAs(t testing.TB, user, text string) []Reply {
	t.Helper()
	return tr.Send(t, botkit.Event{User: user, Channel: Channel, Text: "<@UBOT> " + text})
}

// Send delivers ev as the transport would (filling in ID and TS if empty),
// waits until the bot is done with it, and returns the replies in its thread.
func (tr *Transport) Send(t testing.TB, ev botkit.Event) []Reply {
	t.Helper()
	ev, done := tr.send(t, ev)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("botkittest: the bot did not finish %q within 30s", ev.Text)
	}
	thread := ev.ThreadTS
	if thread == "" {
		thread = ev.TS
	}
	return tr.Thread(thread)
}

// SendAsync delivers ev and returns a channel closed when the bot is done
// with it, for tests of concurrency. The event's TS is set if empty; read it
// back from the replies' ThreadTS.
func (tr *Transport) SendAsync(t testing.TB, ev botkit.Event) <-chan struct{} {
	t.Helper()
	_, done := tr.send(t, ev)
	return done
}

func (tr *Transport) send(t testing.TB, ev botkit.Event) (botkit.Event, <-chan struct{}) {
	t.Helper()
	tr.Start()
	if ev.ID == "" {
		ev.ID = fmt.Sprintf("EvT%06d", tr.ids.Add(1))
	}
	tr.doneMu.Lock()
	done, dup := tr.done[ev.ID]
	if !dup { // a second delivery of an id in progress waits on the first
		done = make(chan struct{})
		tr.done[ev.ID] = done
	}
	tr.doneMu.Unlock()
	ev, ok := tr.Inject(ev)
	if !ok {
		t.Fatalf("botkittest: the bot is stopped")
	}
	return ev, done
}

// WaitPrompt waits up to 30 s for a confirmation question and returns it.
func (tr *Transport) WaitPrompt(t testing.TB) Reply {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, r := range tr.Replies() {
			if r.Prompt != nil && !tr.answered(r.TS) {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("botkittest: no confirmation was asked within 30s; replies: %q", Texts(tr.Replies()))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// answered reports whether the message ts was updated (a question's answer
// edits it).
func (tr *Memory) answered(ts string) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, r := range tr.replies {
		if r.Update && r.TS == ts {
			return true
		}
	}
	return false
}

// Click clicks Confirm (yes) or Cancel on the question prompt as user, waits
// until the bot has taken the click, and returns the replies in the
// question's thread.
func (tr *Transport) Click(t testing.TB, user string, prompt Reply, yes bool) []Reply {
	t.Helper()
	if prompt.Prompt == nil {
		t.Fatalf("botkittest: Click on a reply that asks nothing: %q", prompt.Text)
	}
	action := botkit.ConfirmActionID + "_no"
	if yes {
		action = botkit.ConfirmActionID + "_yes"
	}
	tr.Send(t, botkit.Event{
		ID: fmt.Sprintf("click-%d", tr.ids.Add(1)), User: user, Channel: prompt.Channel, ThreadTS: prompt.ThreadTS,
		Action: &botkit.Action{ActionID: action, Value: botkit.PromptValue(prompt.Prompt.ID, yes), MessageTS: prompt.TS},
	})
	return tr.Thread(prompt.ThreadTS)
}

// Thread returns the replies posted in the thread ts, in order.
func (tr *Memory) Thread(ts string) []Reply {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []Reply
	for _, r := range tr.replies {
		if r.ThreadTS == ts {
			out = append(out, r)
		}
	}
	return out
}

// Replies returns everything the bot posted or updated, in order.
func (tr *Memory) Replies() []Reply {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]Reply(nil), tr.replies...)
}

// Texts returns the texts of replies, for compact assertions.
func Texts(replies []Reply) []string {
	out := make([]string, len(replies))
	for i, r := range replies {
		out[i] = r.Text
	}
	return out
}

// Last returns the text of the last reply, or "" if there is none.
func Last(replies []Reply) string {
	if len(replies) == 0 {
		return ""
	}
	return replies[len(replies)-1].Text
}

// tlog writes slog output to t.Log, one call per line.
type tlog struct{ t testing.TB }

func (w tlog) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
