package botkit

import (
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"
)

// handle runs one event: parse, route, run the handler, report errors.
func (b *Bot) handle(ctx context.Context, tr Transport, ev Event) {
	if len(ev.Text) > maxCommandText {
		b.metrics.events.WithLabelValues(eventUnknown).Inc()
		b.post(ctx, tr, ev, "That message is too long to be a command. Try `help`.")
		return
	}
	text := stripMention(normalize(ev.Text))
	if text == "" {
		b.metrics.events.WithLabelValues(eventUnknown).Inc()
		b.post(ctx, tr, ev, "Hi! Type `help` to see what I can do.")
		return
	}
	if reply, ok := b.helpFor(text); ok {
		b.metrics.events.WithLabelValues(eventHandled).Inc()
		b.post(ctx, tr, ev, reply)
		return
	}
	cmd, args := b.Match(text)
	if cmd == nil {
		b.metrics.events.WithLabelValues(eventUnknown).Inc()
		b.post(ctx, tr, ev, b.notFound(text))
		return
	}
	b.metrics.events.WithLabelValues(eventHandled).Inc()
	req := &Request{
		Text: text, User: ev.User, Channel: ev.Channel, TS: ev.TS, ThreadTS: ev.ThreadTS, EventID: ev.ID,
		CorrelationID: newCorrelationID(),
		cmd:           cmd, args: args, tr: tr, bot: b,
	}
	req.logger = b.logger.With(
		slog.String("command", cmd.pat.src), slog.String("user", ev.User), slog.String("channel", ev.Channel),
		slog.String("event_id", ev.ID), slog.String("correlation_id", req.CorrelationID))

	b.metrics.inFlight.Inc()
	defer b.metrics.inFlight.Dec()
	err := b.chain(cmd).ServeCommand(ctx, req)
	if err == nil {
		return
	}
	if ue, ok := AsUserError(err); ok {
		b.post(ctx, tr, ev, ue.Msg)
		return
	}
	// The access log has logged err with the request's attributes; the user
	// gets one line that lets whoever reads the logs find it.
	b.post(ctx, tr, ev, "Sorry, `"+cmd.Name()+"` failed. If you ask for help, mention ref `"+req.CorrelationID+"`.")
}

// chain wraps cmd's handler in the built-in middleware and the bot's.
func (b *Bot) chain(cmd *Command) Handler {
	h := cmd.handler
	for i := len(b.middleware) - 1; i >= 0; i-- {
		h = b.middleware[i](h)
	}
	timeout := cmd.timeout
	if timeout == 0 {
		timeout = b.commandTimeout
	}
	h = withTimeout(timeout)(h)
	h = Recover()(h)
	return b.accessLog(h)
}

// accessLog logs one line per command with its outcome and duration, and
// records the command's metrics. It is the outermost middleware, so it sees
// the outcome of every other.
func (b *Bot) accessLog(next Handler) Handler {
	return HandlerFunc(func(ctx context.Context, req *Request) error {
		start := time.Now()
		err := next.ServeCommand(ctx, req)
		d := time.Since(start)
		outcome := Outcome(err)
		b.metrics.commands.WithLabelValues(req.cmd.pat.src, outcome).Inc()
		b.metrics.duration.WithLabelValues(req.cmd.pat.src).Observe(d.Seconds())
		attrs := []any{slog.String("outcome", outcome), slog.Duration("duration", d)}
		switch outcome {
		case OutcomeOK:
			req.logger.Info("command done", attrs...)
		case OutcomeUserError:
			req.logger.Info("command refused", append(attrs, slog.Any("err", err))...)
		default:
			req.logger.Error("command failed", append(attrs, slog.Any("err", err))...)
		}
		return err
	})
}

// Outcome classifies a handler's error as the outcome label of metrics and
// logs: ok, user_error, timeout, panic or error.
func Outcome(err error) string {
	var pe *PanicError
	switch {
	case err == nil:
		return OutcomeOK
	case errors.As(err, &pe):
		return OutcomePanic
	case errors.Is(err, context.DeadlineExceeded):
		return OutcomeTimeout
	}
	if _, ok := AsUserError(err); ok {
		return OutcomeUserError
	}
	return OutcomeError
}

func newCorrelationID() string {
	var b [4]byte
	v := rand.Uint32()
	b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	return hex.EncodeToString(b[:])
}

// notFound explains an unmatched command: usage when the first word names a
// command, else the closest command.
func (b *Bot) notFound(text string) string {
	word, _, _ := strings.Cut(text, " ")
	word = strings.ToLower(word)
	if _, ok := b.routes[word]; ok {
		var usages []string
		for _, c := range b.cmds {
			if c.Name() == word {
				usages = append(usages, "`"+c.Usage()+"`")
			}
		}
		return "Usage: " + strings.Join(usages, " or ") + ". See `help " + word + "`."
	}
	if c := b.closest(word); c != nil {
		return "I don't know `" + Escape(clip(word, 40)) + "`. Did you mean `" + c.Usage() + "`? Try `help`."
	}
	return "I don't know `" + Escape(clip(word, 40)) + "`. Try `help` to see what I can do."
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for i := n; i > 0; i-- {
		if s[i]&0xC0 != 0x80 {
			return s[:i] + "…"
		}
	}
	return ""
}
