// Package console is a botkit transport for working without Slack: it reads
// commands from a reader (a terminal or a pipe) and prints replies.
//
// Every line is a command from the local user U0LOCAL in channel C0LOCAL,
// with or without a leading @name. Replies print under the command,
// indented; updates print again, marked as edits; ephemeral replies are
// marked as seen only by the user.
//
// A line "as U0SOMEONE <line>" comes from that user instead: a command, or
// the answer to the open question ("as U0APPROVER y" approves a request
// that the local user may not approve alone). With no Slack to ask, every
// user group holds two members: the local user and Approver.
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
	"time"

	"github.com/botfleet/botfleet/pkg/botkit"
)

// The local user and channel that console commands come from, and the
// stand-in for a second person, a member of every user group.
const (
	User     = "U0LOCAL"
	Channel  = "C0LOCAL"
	Approver = "U0APPROVER"
)

// maxFinished bounds the ids of finished events kept for waiters.
const maxFinished = 1024

// maxLine bounds one input line; Slack's own limit is 40,000 characters and
// the bot answers longer ones with an error, so a little more is enough.
const maxLine = 64 << 10

// Transport is the console transport. It is safe for concurrent use.
type Transport struct {
	name   string
	in     io.Reader
	prompt bool

	mu          sync.Mutex // serializes writes to out
	out         io.Writer
	promptShown bool // a terminal's prompt waits for input on the last line

	seq atomic.Int64
	// session makes event ids unique across runs: a bot that records
	// handled ids on disk (the ansible bot does) must not take a new
	// session's first command for one it already ran.
	session string
	// epoch is the session's start, in seconds: the seconds of its
	// messages' timestamps.
	epoch int64

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
	open    *pendingPrompt // the last question not closed yet; "as U… y" answers it
	choices []choice       // the buttons and options last offered
	form    *form          // the modal being filled in, a field a line
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
// is read: the runtime reports each finished event to Done (botkit's
// EventDoner).
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
	if !t.transcript && !t.prompt || ev.ID == "" {
		return
	}
	t.fmu.Lock()
	if len(t.finished) > maxFinished {
		clear(t.finished) // ids nobody waited for: a terminal gave up on them
	}
	t.finished[ev.ID] = true
	t.fmu.Unlock()
	select {
	case t.fsignal <- struct{}{}:
	default: // a signal is pending already
	}
}

// New returns a console transport for the bot called name.
func New(name string, in io.Reader, out io.Writer, opts ...Option) *Transport {
	t := &Transport{name: name, in: in, out: out, session: fmt.Sprintf("%08x", rand.Uint32()), epoch: time.Now().Unix()}
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
	// next lets the reader show the prompt again: on a terminal only once
	// the reply is in (or the command runs on), so the conversation reads
	// like a chat.
	next := make(chan struct{}, 1)
	next <- struct{}{}
	go func() {
		sc := bufio.NewScanner(t.in)
		sc.Buffer(make([]byte, 0, 4096), maxLine)
		for {
			select {
			case <-next:
			case <-ctx.Done():
				return
			}
			t.showPrompt()
			if !sc.Scan() {
				break
			}
			t.promptAnswered()
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		errc <- sc.Err()
	}()
	ready := func() {
		select {
		case next <- struct{}{}:
		default:
		}
	}
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
			user, rest, as := asUser(line)
			if as {
				if t.transcript {
					t.write(t.name + "> " + line + "\n")
				}
				line = rest
			}
			p := t.takePrompt()
			if p == nil && as && isAnswer(line) {
				p = t.openPrompt()
			}
			if p != nil {
				if t.transcript && !as {
					t.write(t.name + "> " + line + "\n")
				}
				yes := isYes(line)
				// The answer runs the parked command: in a transcript, wait
				// for it as for a command.
				click := botkit.Event{ID: fmt.Sprintf("console-%s-click-%d", t.session, t.seq.Add(1)), User: user, Channel: Channel,
					Action: &botkit.Action{ActionID: botkit.ConfirmActionID, Value: botkit.PromptValue(p.id, yes), MessageTS: p.ts}}
				deliver(ctx, click)
				if err := t.waitTurn(ctx, click.ID); err != nil {
					return err
				}
				ready()
				continue
			}
			if t.transcript && !as && (strings.TrimSpace(line) != "" || t.filling()) {
				t.write(t.name + "> " + line + "\n")
			}
			if ok, id := t.fill(ctx, line, deliver); ok {
				if id != "" {
					if err := t.waitTurn(ctx, id); err != nil {
						return err
					}
				}
				ready()
				continue
			}
			if c, ok := t.pick(line); ok {
				ev := botkit.Event{Kind: botkit.KindAction, ID: fmt.Sprintf("console-%s-click-%d", t.session, t.seq.Add(1)),
					User: User, Channel: Channel, TriggerID: t.trigger(),
					Action: &botkit.Action{ActionID: c.actionID, BlockID: c.blockID, Type: c.typ, Value: c.value, MessageTS: c.messageTS}}
				deliver(ctx, ev)
				if err := t.waitTurn(ctx, ev.ID); err != nil {
					return err
				}
				ready()
				continue
			}
			text := Escape(t.stripName(strings.TrimSpace(line)))
			if text == "" {
				ready()
				continue
			}
			n := t.seq.Add(1)
			ev := botkit.Event{ID: fmt.Sprintf("console-%s-%d", t.session, n), Text: text, User: user, Channel: Channel, TS: t.ts(n)}
			if cmd, rest, _ := strings.Cut(text, " "); strings.HasPrefix(cmd, "/") && len(cmd) > 1 {
				// A slash command, as Slack delivers one: its text, a
				// trigger to open a modal from, a response_url.
				ev = botkit.Event{Kind: botkit.KindSlash, ID: ev.ID, Slash: &botkit.Slash{Command: cmd}, Text: rest,
					User: user, Channel: Channel, TriggerID: t.trigger(), ResponseURL: "console:" + ev.ID}
			}
			deliver(ctx, ev)
			if err := t.waitTurn(ctx, ev.ID); err != nil {
				return err
			}
			ready()
		}
	}
}

// terminalWait is how long a terminal session waits for a command's reply
// before showing the prompt again: a quick command's reply comes first, a
// long one (a countdown, a deploy) leaves the prompt free for the next
// command, such as cancel.
const terminalWait = 2 * time.Second

// waitTurn waits until the next line may be read: in a transcript until the
// command is done or asks a question; on a terminal as long, for at most
// terminalWait.
func (t *Transport) waitTurn(ctx context.Context, id string) error {
	switch {
	case t.transcript:
		return t.wait(ctx, id, nil)
	case t.prompt:
		timer := time.NewTimer(terminalWait)
		defer timer.Stop()
		return t.wait(ctx, id, timer.C)
	}
	return nil
}

// wait returns when the event id is finished or asks a question, or when
// giveUp fires (nil never does).
func (t *Transport) wait(ctx context.Context, id string, giveUp <-chan time.Time) error {
	for {
		t.fmu.Lock()
		done := t.finished[id]
		delete(t.finished, id)
		t.fmu.Unlock()
		if done {
			// A question the event asked before it finished signalled too: the
			// signal is spent here, or the wait for the next event would
			// take it as its own and read the next line too early.
			select {
			case <-t.prompted:
			default:
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.prompted:
			return nil
		case <-giveUp:
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

// openPrompt returns the last question not closed yet, if any.
func (t *Transport) openPrompt() *pendingPrompt {
	t.pmu.Lock()
	defer t.pmu.Unlock()
	return t.open
}

// asUserLine is "as U0SOMEONE rest".
var asUserLine = regexp.MustCompile(`^\s*as\s+([UW][A-Z0-9]{1,30})\s+(.*)$`)

// asUser returns who a line comes from and the line without an "as U…"
// prefix; as reports whether it had one.
func asUser(line string) (user, rest string, as bool) {
	m := asUserLine.FindStringSubmatch(line)
	if m == nil {
		return User, line, false
	}
	return m[1], m[2], true
}

// isAnswer reports whether s answers a question rather than being a
// command.
func isAnswer(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "y", "yes", "n", "no":
		return true
	}
	return false
}

// GroupMembers implements botkit.GroupResolver: with no Slack to ask, every
// user group holds the local user and Approver, so that access rules on
// groups and approvals can be tried on a laptop.
func (t *Transport) GroupMembers(context.Context, string) ([]string, error) {
	return []string{User, Approver}, nil
}

func isYes(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "y", "yes":
		return true
	}
	return false
}

// write prints s. On a terminal where the prompt waits for input, s goes
// above it: the prompt's line is cleared, s printed, the prompt shown again.
func (t *Transport) write(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.promptShown {
		io.WriteString(t.out, "\r\033[K"+s+t.name+"> ")
		return
	}
	io.WriteString(t.out, s)
}

func (t *Transport) showPrompt() {
	if !t.prompt {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.out, "%s> ", t.name)
	t.promptShown = true
}

// promptAnswered notes that the line after the prompt was entered.
func (t *Transport) promptAnswered() {
	t.mu.Lock()
	t.promptShown = false
	t.mu.Unlock()
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
	ref := botkit.MessageRef{Channel: m.Channel, TS: t.ts(t.seq.Add(1))}
	tag := ""
	if m.EphemeralUser != "" {
		tag = "(only you) "
	}
	text := m.Text
	if m.Prompt != nil {
		text += "\n[y/N] type y to " + strings.ToLower(m.Prompt.Yes) + ", anything else to " + strings.ToLower(m.Prompt.No)
		t.pmu.Lock()
		t.pending = &pendingPrompt{id: m.Prompt.ID, ts: ref.TS}
		t.open = t.pending
		t.pmu.Unlock()
	}
	if cs := choicesOf(m.Blocks, ref.TS); len(cs) > 0 {
		t.offer(cs)
		text += "\n" + choicesLine(cs)
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
	if t.pending != nil && t.pending.ts == ref.TS && m.Prompt == nil {
		t.pending = nil // answered elsewhere, or timed out
	}
	if t.open != nil && t.open.ts == ref.TS && m.Prompt == nil {
		t.open = nil
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
// ts is the timestamp of the session's nth message: unique across
// sessions too (the seconds are the session's start), since a state
// directory keys messages by channel and ts (the inbox, jobs).
func (t *Transport) ts(n int64) string { return fmt.Sprintf("%d.%06d", t.epoch, n) }
