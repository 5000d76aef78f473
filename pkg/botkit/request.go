package botkit

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxMessageText is Slack's limit on a message's text; longer replies are cut
// so that Slack does not reject them (msg_too_long) and the user sees the
// start of the output rather than nothing.
const MaxMessageText = 40000

// Request is one command invocation. Its methods are safe for concurrent use,
// so a handler may report progress from several goroutines.
type Request struct {
	Text     string // the command text after the mention, normalized
	User     string // Slack user ID of whoever typed the command
	Channel  string
	TS       string // the command message's timestamp
	ThreadTS string // the thread the command was typed in, if any
	EventID  string
	// CorrelationID is a short random id, logged with every line about
	// this request and shown to the user when the command fails.
	CorrelationID string

	cmd    *Command
	args   []string
	logger *slog.Logger
	tr     Transport
	bot    *Bot
}

// Command returns the command being run.
func (r *Request) Command() *Command { return r.cmd }

// Arg returns the value of the named parameter, with Slack markup decoded
// (<@U123> is U123, <https://x|x> is https://x); an optional parameter that
// was not given is its Default, or "". Arg panics when name is not a parameter of the
// command's pattern: that is a bug the first test of the command finds.
func (r *Request) Arg(name string) string {
	i := slices.Index(r.cmd.pat.params, name)
	if i < 0 {
		panic(fmt.Sprintf("botkit: command %q has no parameter %q", r.cmd.pat.src, name))
	}
	return r.args[i]
}

// applyDefaults fills in the parameters left out that have a Default, and
// returns them for the user, like " (env=dev)", or "" when none was.
func (r *Request) applyDefaults() string {
	var filled []string
	for _, d := range r.cmd.defaults {
		if r.args[d.index] != "" {
			continue
		}
		if v := d.value(r); v != "" {
			r.args[d.index] = v
			filled = append(filled, r.cmd.pat.params[d.index]+"="+Escape(v))
		}
	}
	if len(filled) == 0 {
		return ""
	}
	return " (" + strings.Join(filled, ", ") + ")"
}

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
// Update. Text longer than Slack allows is uploaded as a file where the
// transport can, with its start as the message; otherwise it is cut, saying
// so.
func (r *Request) Reply(ctx context.Context, text string) (MessageRef, error) {
	if _, ok := r.tr.(Uploader); ok && utf8.RuneCountInString(text) > MaxMessageText {
		head := clipRunes(text, 3000)
		err := r.Upload(ctx, "output.txt", text, head+"\n… (the full output is attached)")
		return MessageRef{}, err
	}
	ref, err := r.tr.Post(ctx, Message{Channel: r.Channel, ThreadTS: r.thread(), Text: fit(text)})
	if err != nil {
		return ref, fmt.Errorf("posting reply: %w", err)
	}
	return ref, nil
}

// Replyf is Reply with fmt.Sprintf formatting.
func (r *Request) Replyf(ctx context.Context, format string, args ...any) (MessageRef, error) {
	return r.Reply(ctx, fmt.Sprintf(format, args...))
}

// Update replaces the text of a reply posted earlier, for progress reports.
func (r *Request) Update(ctx context.Context, ref MessageRef, text string) error {
	if err := r.tr.Update(ctx, ref, Message{Channel: ref.Channel, ThreadTS: r.thread(), Text: fit(text)}); err != nil {
		return fmt.Errorf("updating reply: %w", err)
	}
	return nil
}

// Ephemeral posts text, in the command's thread, that only the requester sees.
func (r *Request) Ephemeral(ctx context.Context, text string) error {
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
		if err := u.Upload(ctx, File{Channel: r.Channel, ThreadTS: r.thread(), Name: name, Content: content, Comment: comment}); err != nil {
			return fmt.Errorf("uploading %s: %w", name, err)
		}
		return nil
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
