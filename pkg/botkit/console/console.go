// Package console is a botkit transport for working without Slack: it reads
// commands from a reader (a terminal or a pipe) and prints replies.
//
// Every line is a command from the local user U0LOCAL in channel C0LOCAL,
// with or without a leading @name. Replies print under the command,
// indented; updates print again, marked as edits; ephemeral replies are
// marked as seen only by the user.
package console

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/botfleet/botfleet/pkg/botkit"
)

// The local user and channel that console commands come from.
const (
	User    = "U0LOCAL"
	Channel = "C0LOCAL"
)

// maxLine bounds one input line; Slack's own limit is 40,000 characters and
// the bot answers longer ones with an error, so a little more is enough.
const maxLine = 64 << 10

// Transport is the console transport. It is safe for concurrent use.
type Transport struct {
	name   string
	in     io.Reader
	prompt bool

	mu  sync.Mutex // serializes writes to out
	out io.Writer

	seq atomic.Int64
	// session makes event ids unique across runs: a bot that records
	// handled ids on disk (the ansible bot does) must not take a new
	// session's first command for one it already ran.
	session string

	// transcript mode: echo each command and wait for it to finish
	transcript bool
	prompted   chan struct{} // a confirmation was asked: read its answer
	// Finished events are kept in a set, not passed on a channel: a click's
	// event can finish just before its command does, and a one-slot channel
	// then dropped the command's news, leaving the transcript waiting.
	fmu      sync.Mutex
	finished map[string]bool
	fsignal  chan struct{} // something finished

	pmu     sync.Mutex
	pending *pendingPrompt // the open confirmation; the next line answers it
}

type pendingPrompt struct {
	id, ts string
}

// Option configures a Transport.
type Option func(*Transport)

// WithPrompt prints a prompt before each line is read, for a terminal.
func WithPrompt() Option { return func(t *Transport) { t.prompt = true } }

// WithTranscript makes a piped session read like a transcript: each
// command is echoed after a prompt and runs to the end before the next line
// is read. The bot must report finished events to Done (the runner passes
// botkit.WithEventDone(t.Done)).
func WithTranscript() Option {
	return func(t *Transport) { t.transcript = true }
}

// init sets what every mode needs.
func (t *Transport) init() {
	t.prompted = make(chan struct{}, 1)
	t.finished = map[string]bool{}
	t.fsignal = make(chan struct{}, 1)
}

// Done tells a transcript-mode console that the bot is done with ev.
func (t *Transport) Done(ev botkit.Event) {
	if !t.transcript || ev.ID == "" { // clicks have no id; nothing waits for them
		return
	}
	t.fmu.Lock()
	t.finished[ev.ID] = true
	t.fmu.Unlock()
	select {
	case t.fsignal <- struct{}{}:
	default: // a signal is pending already
	}
}

// New returns a console transport for the bot called name.
func New(name string, in io.Reader, out io.Writer, opts ...Option) *Transport {
	t := &Transport{name: name, in: in, out: out, session: fmt.Sprintf("%08x", rand.Uint32())}
	t.init()
	for _, o := range opts {
		o(t)
	}
	return t
}

// Listen reads lines until the input ends (then returns nil) or ctx is
// cancelled (then returns ctx's error without waiting for the reader).
func (t *Transport) Listen(ctx context.Context, deliver func(context.Context, botkit.Event)) error {
	lines := make(chan string)
	errc := make(chan error, 1)
	var waitingFor string // transcript mode: the command still running
	go func() {
		sc := bufio.NewScanner(t.in)
		sc.Buffer(make([]byte, 0, 4096), maxLine)
		for {
			t.showPrompt()
			if !sc.Scan() {
				break
			}
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		errc <- sc.Err()
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-errc:
			if err != nil {
				return fmt.Errorf("reading console input: %w", err)
			}
			return nil
		case line := <-lines:
			if p := t.takePrompt(); p != nil {
				if t.transcript {
					t.write(t.name + "> " + line + "\n")
				}
				yes := isYes(line)
				deliver(ctx, botkit.Event{User: User, Channel: Channel, Action: &botkit.Action{
					ActionID: botkit.ConfirmActionID, Value: botkit.PromptValue(p.id, yes), MessageTS: p.ts,
				}})
				if t.transcript && waitingFor != "" {
					if err := t.wait(ctx, waitingFor); err != nil {
						return err
					}
				}
				continue
			}
			text := Escape(t.stripName(strings.TrimSpace(line)))
			if text == "" {
				continue
			}
			if t.transcript {
				t.write(t.name + "> " + line + "\n")
			}
			n := t.seq.Add(1)
			ev := botkit.Event{ID: fmt.Sprintf("console-%s-%d", t.session, n), Text: text, User: User, Channel: Channel, TS: ts(n)}
			deliver(ctx, ev)
			if t.transcript {
				waitingFor = ev.ID
				if err := t.wait(ctx, ev.ID); err != nil {
					return err
				}
			}
		}
	}
}

// wait returns when the event id is finished or asks a question.
func (t *Transport) wait(ctx context.Context, id string) error {
	for {
		t.fmu.Lock()
		done := t.finished[id]
		delete(t.finished, id)
		t.fmu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.prompted:
			return nil
		case <-t.fsignal:
		}
	}
}

func (t *Transport) takePrompt() *pendingPrompt {
	t.pmu.Lock()
	defer t.pmu.Unlock()
	p := t.pending
	t.pending = nil
	return p
}

func isYes(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "y", "yes":
		return true
	}
	return false
}

func (t *Transport) write(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	io.WriteString(t.out, s)
}

func (t *Transport) showPrompt() {
	if !t.prompt {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.out, "%s> ", t.name)
}

// stripName removes a leading "@name" (or "@name:"), as typed in Slack.
func (t *Transport) stripName(s string) string {
	rest, ok := strings.CutPrefix(s, "@"+t.name)
	if !ok || (rest != "" && rest[0] != ' ' && rest[0] != ':' && rest[0] != ',') {
		return s
	}
	rest = strings.TrimLeft(rest, ":,")
	return strings.TrimSpace(rest)
}

// Post prints m and returns a reference to it.
func (t *Transport) Post(_ context.Context, m botkit.Message) (botkit.MessageRef, error) {
	ref := botkit.MessageRef{Channel: m.Channel, TS: ts(t.seq.Add(1))}
	tag := ""
	if m.EphemeralUser != "" {
		tag = "(only you) "
	}
	text := m.Text
	if m.Prompt != nil {
		text += "\n[y/N] type y to " + strings.ToLower(m.Prompt.Yes) + ", anything else to " + strings.ToLower(m.Prompt.No)
		t.pmu.Lock()
		t.pending = &pendingPrompt{id: m.Prompt.ID, ts: ref.TS}
		t.pmu.Unlock()
	}
	t.print(m.ThreadTS != "", tag, text)
	if m.Prompt != nil {
		select {
		case t.prompted <- struct{}{}:
		default:
		}
	}
	return ref, nil
}

// Update prints m again, marked as an edit of the message ref names.
func (t *Transport) Update(_ context.Context, ref botkit.MessageRef, m botkit.Message) error {
	t.pmu.Lock()
	if t.pending != nil && t.pending.ts == ref.TS {
		t.pending = nil // answered elsewhere, or timed out
	}
	t.pmu.Unlock()
	t.print(m.ThreadTS != "", "(edited) ", m.Text)
	return nil
}

func (t *Transport) print(thread bool, tag, text string) {
	first, rest := t.name+": ", "  "
	if thread {
		first, rest = "  ↳ ", "    "
	}
	lines := strings.Split(Plain(text), "\n")
	var b strings.Builder
	for i, l := range lines {
		if i == 0 {
			b.WriteString(first + tag + l + "\n")
		} else {
			b.WriteString(rest + l + "\n")
		}
	}
	t.write(b.String())
}

var markup = regexp.MustCompile(`<([^<>|]*)(?:\|([^<>]*))?>`)

// Plain renders Slack mrkdwn for a terminal: <@U1> as @U1, <url|label> as
// "label (url)", and &lt; &gt; &amp; unescaped.
func Plain(text string) string {
	text = markup.ReplaceAllStringFunc(text, func(m string) string {
		sub := markup.FindStringSubmatch(m)
		target, label := sub[1], sub[2]
		switch {
		case strings.HasPrefix(target, "@"), strings.HasPrefix(target, "#"):
			return target
		case label != "" && label != target:
			return label + " (" + target + ")"
		default:
			return target
		}
	})
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(text)
}

// Escape turns what a person types into what Slack would send: &, < and >
// are escaped unless they form Slack markup such as <@U1> or <https://x|x>.
func Escape(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		loc := markup.FindStringIndex(s)
		if loc == nil {
			b.WriteString(botkit.Escape(s))
			break
		}
		b.WriteString(botkit.Escape(s[:loc[0]]))
		m := s[loc[0]:loc[1]]
		if isMarkup(m) {
			b.WriteString(m)
		} else {
			b.WriteString(botkit.Escape(m))
		}
		s = s[loc[1]:]
	}
	return b.String()
}

// isMarkup reports whether <...> is Slack markup rather than typed text.
func isMarkup(m string) bool {
	inner := m[1 : len(m)-1]
	for _, p := range []string{"@U", "@W", "#C", "!", "http://", "https://", "mailto:"} {
		if strings.HasPrefix(inner, p) {
			return true
		}
	}
	return false
}

// ts makes a Slack-like timestamp from a sequence number.
func ts(n int64) string { return fmt.Sprintf("1700000000.%06d", n) }
