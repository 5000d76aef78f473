package botkit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// MaxMessageText is Slack's limit on a message's text; longer replies are cut
// so that Slack does not reject them (msg_too_long) and the user sees the
// start of the output rather than nothing.
const MaxMessageText = 40000

// Request is one command invocation, or one interaction a listener gets
// (a click, a modal, a shortcut, an event). Its methods are safe for
// concurrent use, so a handler may report progress from several goroutines.
type Request struct {
	// Kind is what started it: a message, a slash command, a click...
	Kind     Kind
	Text     string // the command text after the mention, normalized
	User     string // Slack user ID of whoever typed the command
	Channel  string // where; "" for a modal, the home tab, a global shortcut
	TS       string // the command message's timestamp
	ThreadTS string // the thread the command was typed in, if any
	EventID  string
	// CorrelationID is a short random id, logged with every line about
	// this request and shown to the user when the command fails.
	CorrelationID string
	// TriggerID opens a modal (OpenView): Slack accepts it once, within 3
	// seconds of the interaction, so open the modal first, then work.
	TriggerID string
	// ResponseURL answers a slash command, a click or a message shortcut.
	ResponseURL string

	ev       *Event    // what the transport delivered
	received time.Time // when the bot took it: a trigger ID lives 3 s from then
	cmd      *Command
	args     []string // canonical values, one per parameter
	logger   *slog.Logger
	tr       Transport
	rt       *Runtime // what a handler may read of it: PendingApprovals

	// Set by botkit's middleware as the run goes: the audit line's
	// decision, the access rule that wants a confirmation, the defaults
	// filled in (shown in the question), and who confirmed a resumed run.
	decision    string
	ruleConfirm *Rule
	ruleApprove *Rule // the access rule that asks for an approval
	defaulted   string
	answeredBy  string
	approvals   []vote    // non-nil once approved: who approved, when
	verdict     *verdict  // what stopped a parked command from running
	details     []Detail  // frozen by Prepare (Freeze)
	tick        time.Time // a scheduled job's

	inChannel bool         // a slash command's replies are seen by the channel
	answer    func(Answer) // set for kinds Slack reads an answer from
	answered  atomic.Bool
	respMu    sync.Mutex
	respUsed  int // response_url uses
}

// Command returns the command being run.
func (r *Request) Command() *Command { return r.cmd }

// Arg returns the value of the named parameter: for a typed parameter
// ({env:name}, {n:1..60}, {who:user}...) its canonical value, the one access
// rules and the audit line saw; for a plain {name} or a {rest...}, the
// words with Slack markup decoded (<@U123> is U123, <https://x|x> is
// https://x). An optional parameter that was not given is its Default, or
// "". Arg panics when name is not a parameter of the command's pattern:
// that is a bug the first test of the command finds.
func (r *Request) Arg(name string) string {
	i := slices.Index(r.cmd.pat.params, name)
	if i < 0 {
		panic(fmt.Sprintf("botkit: command %q has no parameter %q", r.cmd.pat.src, name))
	}
	return r.args[i]
}

// Int returns the value of the named integer parameter ({n:int} or
// {n:1..60}), or def when it was left out. It panics when name is not an
// integer parameter of the command's pattern.
func (r *Request) Int(name string, def int) int {
	i := slices.Index(r.cmd.pat.params, name)
	if i < 0 || r.cmd.pat.types[i] == nil || r.cmd.pat.types[i].kind != "int" {
		panic(fmt.Sprintf("botkit: command %q has no integer parameter %q", r.cmd.pat.src, name))
	}
	if r.args[i] == "" {
		return def
	}
	n, _ := strconv.Atoi(r.args[i]) // canonical, so it parses
	return n
}

// Duration returns the value of the named {d:duration} parameter, or def
// when it was left out. It panics when name is not a duration parameter.
func (r *Request) Duration(name string, def time.Duration) time.Duration {
	i := slices.Index(r.cmd.pat.params, name)
	if i < 0 || r.cmd.pat.types[i] == nil || r.cmd.pat.types[i].kind != "duration" {
		panic(fmt.Sprintf("botkit: command %q has no duration parameter %q", r.cmd.pat.src, name))
	}
	if r.args[i] == "" {
		return def
	}
	d, _ := time.ParseDuration(r.args[i])
	return d
}

// applyDefaults fills in the parameters left out that have a Default, in
// their canonical form, and notes them for the user, like " (env=dev)".
func (r *Request) applyDefaults() error {
	var filled []string
	for _, d := range r.cmd.defaults {
		if r.args[d.index] != "" {
			continue
		}
		v := d.value(r)
		if v == "" {
			continue
		}
		if t := r.cmd.pat.types[d.index]; t != nil {
			c, err := t.canonical(v)
			if err != nil {
				return &ArgError{Param: r.cmd.pat.params[d.index], Word: v, Err: err}
			}
			v = c
		}
		r.args[d.index] = v
		filled = append(filled, r.cmd.pat.params[d.index]+"="+Escape(v))
	}
	if len(filled) > 0 {
		r.defaulted = " (" + strings.Join(filled, ", ") + ")"
	}
	return nil
}

// resumed reports whether r runs a command that was parked for a
// confirmation or an approval and has been answered.
func (r *Request) resumed() bool { return r.answeredBy != "" || r.approvals != nil }

// Log returns a logger tagged with the bot, command, user, channel, event
// id and correlation id.
func (r *Request) Log() *slog.Logger { return r.logger }

// thread is where replies go: the mention's thread, or a new thread under
// the mention.
func (r *Request) thread() string {
	if r.ThreadTS != "" {
		return r.ThreadTS
	}
	return r.TS
}

// Reply posts text in the thread of the command and returns a reference for
// Update. Text longer than Slack allows is posted cut, and where the
// transport can upload, the whole text follows as a file in the thread; the
// reference is the cut message's, so Update works on it either way.
//
// Where the reply goes depends on what started the request: a slash
// command's goes through its response_url, to the user alone (InChannel:
// to the channel), as long as Slack takes answers there (5, within 30
// minutes), then to the channel, in a thread; a click's goes in the thread
// of the clicked message; a modal's, a global shortcut's or an event's with
// no channel goes to the user as a direct message.
func (r *Request) Reply(ctx context.Context, text string) (MessageRef, error) {
	if r.where() == "" {
		return MessageRef{}, errNowhere
	}
	if ref, ok, err := r.respond(ctx, text, MessageRef{}); ok {
		return ref, err
	}
	if _, ok := r.tr.(Uploader); ok && utf8.RuneCountInString(text) > MaxMessageText {
		head := clipRunes(text, 3000) + "\n… (the full output is in the file below)"
		ref, err := r.tr.Post(ctx, Message{Channel: r.Channel, ThreadTS: r.thread(), Text: head})
		if err != nil {
			return ref, fmt.Errorf("posting reply: %w", err)
		}
		r.noteReply(ref)
		return ref, r.Upload(ctx, "output.txt", text, "")
	}
	ref, err := r.tr.Post(ctx, Message{Channel: r.where(), ThreadTS: r.thread(), Text: fit(text)})
	if err != nil {
		return ref, fmt.Errorf("posting reply: %w", err)
	}
	r.noteReply(ref)
	return ref, nil
}

// noteReply notes in the inbox that the request's event got a reply, so
// that a process taking the event over does not answer it again.
func (r *Request) noteReply(ref MessageRef) {
	if r.ev != nil {
		r.ev.inbox.noteReply(ref)
	}
}

// errNowhere is Reply's error for a request with no channel and no user: a
// scheduled job's, when the config names no channel for jobs.
var errNowhere = errors.New("no channel to post in: set schedule.channel in the config, or name a channel in the message")

// where is the channel replies go to: the request's, or the user's direct
// messages with the bot when it has none (a modal, a global shortcut).
func (r *Request) where() string {
	if r.Channel != "" {
		return r.Channel
	}
	return r.User
}

// responseURLUses is how many answers Slack takes at a response_url (within
// 30 minutes); a slash command's further replies go to its channel.
const responseURLUses = 5

// respond answers through the response_url of a slash command, when there
// is one and Slack still takes answers there; ok is false otherwise.
// Updating (ref set) replaces the message the response_url answered with.
func (r *Request) respond(ctx context.Context, text string, ref MessageRef) (MessageRef, bool, error) {
	rs, isResponder := r.tr.(Responder)
	if r.Kind != KindSlash || r.ResponseURL == "" || !isResponder || ref.TS != "" {
		return MessageRef{}, false, nil
	}
	r.respMu.Lock()
	if r.respUsed >= responseURLUses {
		r.respMu.Unlock()
		return MessageRef{}, false, nil
	}
	r.respUsed++
	r.respMu.Unlock()
	err := rs.Respond(ctx, r.ResponseURL, Response{Text: fit(text), InChannel: r.inChannel, ReplaceOriginal: ref.url != ""})
	if err != nil {
		return MessageRef{}, true, fmt.Errorf("answering at the response_url: %w", err)
	}
	return MessageRef{Channel: r.Channel, url: r.ResponseURL}, true, nil
}

// ReplyMessage is Reply of a whole message, such as one with Block Kit
// blocks (buttons, selects): it goes where Reply's text would, in the
// request's channel and thread unless m names others.
func (r *Request) ReplyMessage(ctx context.Context, m Message) (MessageRef, error) {
	if rs, ok := r.tr.(Responder); ok && r.Kind == KindSlash && r.ResponseURL != "" && m.Channel == "" {
		r.respMu.Lock()
		ok = r.respUsed < responseURLUses
		if ok {
			r.respUsed++
		}
		r.respMu.Unlock()
		if ok {
			if err := rs.Respond(ctx, r.ResponseURL, Response{Text: fit(m.Text), Blocks: m.Blocks, InChannel: r.inChannel}); err != nil {
				return MessageRef{}, fmt.Errorf("answering at the response_url: %w", err)
			}
			return MessageRef{Channel: r.Channel, url: r.ResponseURL}, nil
		}
	}
	if m.Channel == "" {
		m.Channel, m.ThreadTS = r.where(), r.thread()
	}
	if m.Channel == "" {
		return MessageRef{}, errNowhere
	}
	m.Text = fit(m.Text)
	ref, err := r.tr.Post(ctx, m)
	if err != nil {
		return ref, fmt.Errorf("posting reply: %w", err)
	}
	r.noteReply(ref)
	return ref, nil
}

// Replyf is Reply with fmt.Sprintf formatting.
func (r *Request) Replyf(ctx context.Context, format string, args ...any) (MessageRef, error) {
	return r.Reply(ctx, fmt.Sprintf(format, args...))
}

// Update replaces the text of a reply posted earlier, for progress reports.
// A slash command's reply is replaced through its response_url while Slack
// takes answers there; after that the new text is posted in the channel.
func (r *Request) Update(ctx context.Context, ref MessageRef, text string) error {
	if ref.url != "" {
		if _, ok, err := r.respond(ctx, text, ref); ok {
			return err
		}
		_, err := r.tr.Post(ctx, Message{Channel: r.where(), Text: fit(text)})
		if err != nil {
			return fmt.Errorf("posting the update: %w", err)
		}
		return nil
	}
	if err := r.tr.Update(ctx, ref, Message{Channel: ref.Channel, ThreadTS: r.thread(), Text: fit(text)}); err != nil {
		return fmt.Errorf("updating reply: %w", err)
	}
	return nil
}

// Ephemeral posts text, in the command's thread, that only the requester
// sees; for a slash command, through its response_url.
func (r *Request) Ephemeral(ctx context.Context, text string) error {
	if rs, ok := r.tr.(Responder); ok && r.Kind == KindSlash && r.ResponseURL != "" {
		if err := rs.Respond(ctx, r.ResponseURL, Response{Text: fit(text)}); err != nil {
			return fmt.Errorf("answering at the response_url: %w", err)
		}
		return nil
	}
	if r.Channel == "" {
		_, err := r.Reply(ctx, text) // a direct message is the user's alone
		return err
	}
	_, err := r.tr.Post(ctx, Message{Channel: r.Channel, ThreadTS: r.thread(), Text: fit(text), EphemeralUser: r.User})
	if err != nil {
		return fmt.Errorf("posting ephemeral reply: %w", err)
	}
	return nil
}

// Upload attaches content as a file named name in the command's thread,
// with comment as its message. Transports that cannot upload post the
// comment and the content as a message, cut to Slack's limit.
func (r *Request) Upload(ctx context.Context, name, content, comment string) error {
	if u, ok := r.tr.(Uploader); ok {
		// Uploader's errors name the file already.
		return u.Upload(ctx, File{Channel: r.Channel, ThreadTS: r.thread(), Name: name, Content: content, Comment: comment})
	}
	_, err := r.tr.Post(ctx, Message{Channel: r.Channel, ThreadTS: r.thread(), Text: fit(comment + "\n```\n" + content + "\n```")})
	if err != nil {
		return fmt.Errorf("posting %s: %w", name, err)
	}
	return nil
}

// clipRunes returns the first n runes of s.
func clipRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

const cutNote = "\n… (cut: the output was longer than Slack allows)"

// fit cuts text to MaxMessageText characters, on a rune boundary.
func fit(text string) string {
	if utf8.RuneCountInString(text) <= MaxMessageText {
		return text
	}
	n, limit := 0, MaxMessageText-utf8.RuneCountInString(cutNote)
	for i := range text {
		if n == limit {
			return text[:i] + cutNote
		}
		n++
	}
	return text
}
