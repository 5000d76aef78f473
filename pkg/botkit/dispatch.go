package botkit

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"
)

// handle runs one event: parse, route, check access and rate, run the
// handler, report errors, audit.
func (b *Bot) handle(ctx context.Context, tr Transport, ev Event) {
	if len(ev.Text) > maxCommandText {
		b.metrics.events.Counter(eventUnknown).Inc()
		b.post(ctx, tr, ev, "That message is too long to be a command. Try `help`.")
		return
	}
	text := stripMention(normalize(ev.Text))
	if text == "" {
		b.metrics.events.Counter(eventUnknown).Inc()
		b.post(ctx, tr, ev, "Hi! Type `help` to see what I can do.")
		return
	}
	s := b.settings.load()
	if reply, ok := b.helpFor(ctx, tr, s, ev, text); ok {
		b.metrics.events.Counter(eventHandled).Inc()
		b.post(ctx, tr, ev, reply)
		return
	}
	cmd, args := b.Match(text)
	if cmd == nil {
		b.metrics.events.Counter(eventUnknown).Inc()
		b.post(ctx, tr, ev, b.notFound(text))
		return
	}
	b.metrics.events.Counter(eventHandled).Inc()
	req := &Request{
		Text: text, User: ev.User, Channel: ev.Channel, TS: ev.TS, ThreadTS: ev.ThreadTS, EventID: ev.ID,
		CorrelationID: newCorrelationID(),
		cmd:           cmd, args: args, tr: tr, bot: b,
	}
	req.logger = b.logger.With(
		slog.String("command", cmd.pat.src), slog.String("user", ev.User), slog.String("channel", ev.Channel),
		slog.String("event_id", ev.ID), slog.String("correlation_id", req.CorrelationID))
	start := time.Now()
	defaulted := req.applyDefaults()

	if ok, wait := b.limiter.allow(ev.User); !ok {
		b.audit(ctx, tr, s, req, "rate_limited", OutcomeRefused, time.Since(start), nil)
		b.post(ctx, tr, ev, fmt.Sprintf("You're sending commands faster than %d a minute; try again in %s.",
			s.RateLimit.PerMinute, wait.Round(time.Second)))
		return
	}
	d := b.decide(ctx, tr, s, cmd, req.args, ev.User, ev.Channel)
	b.metrics.access.Counter(cmd.Name(), d.label()).Inc()
	if !d.allowed {
		b.audit(ctx, tr, s, req, d.label(), OutcomeRefused, time.Since(start), nil)
		b.post(ctx, tr, ev, d.reason)
		return
	}
	if d.confirm {
		ok, err := req.Confirm(ctx, "Run `"+Escape(text)+"`"+defaulted+"? (access rule `"+Escape(d.rule.Name)+"` asks for a confirmation)")
		if err != nil || !ok {
			b.audit(ctx, tr, s, req, "not_confirmed", OutcomeRefused, time.Since(start), err)
			b.post(ctx, tr, ev, "Not run.")
			return
		}
	}

	b.metrics.inFlight.Inc()
	err := b.chain(cmd).ServeCommand(ctx, req)
	b.metrics.inFlight.Dec()
	b.audit(ctx, tr, s, req, d.label(), Outcome(err), time.Since(start), err)
	if err == nil {
		return
	}
	if ue, ok := AsUserError(err); ok {
		b.post(ctx, tr, ev, ue.Msg)
		return
	}
	// The audit line has err with the request's attributes; the user gets
	// one line that lets whoever reads the logs find it.
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
	return Recover()(h)
}

// audit writes the one line every command run leaves, whatever became of
// it, records its metrics, and posts it to the audit channel if one is set.
func (b *Bot) audit(ctx context.Context, tr Transport, s *Settings, req *Request, decision, outcome string, d time.Duration, err error) {
	b.metrics.commands.Counter(req.cmd.pat.src, outcome).Inc()
	b.metrics.duration.Histogram(durationBuckets, req.cmd.pat.src).Update(d.Seconds())
	attrs := []any{
		slog.Any("args", argAttrs(req)), slog.String("decision", decision),
		slog.String("outcome", outcome), slog.Duration("duration", d),
	}
	if err != nil {
		attrs = append(attrs, slog.Any("err", err))
	}
	level := slog.LevelInfo
	if outcome == OutcomeError || outcome == OutcomePanic || outcome == OutcomeTimeout {
		level = slog.LevelError
	}
	req.logger.Log(ctx, level, "audit", attrs...)
	if s.Audit.Channel == "" {
		return
	}
	line := fmt.Sprintf("<@%s> ran `%s` in <#%s>: %s (%s, %s, ref `%s`)",
		req.User, Escape(clip(req.Text, 200)), req.Channel, outcome, decision, d.Round(time.Millisecond), req.CorrelationID)
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := tr.Post(pctx, Message{Channel: s.Audit.Channel, Text: line}); err != nil {
		b.metrics.errors.Counter("audit").Inc()
		req.logger.Error("posting to the audit channel", "audit_channel", s.Audit.Channel, "err", err)
	}
}

// argAttrs is the command's arguments as a log group.
func argAttrs(req *Request) slog.Value {
	attrs := make([]slog.Attr, len(req.args))
	for i, v := range req.args {
		attrs[i] = slog.String(req.cmd.pat.params[i], v)
	}
	return slog.GroupValue(attrs...)
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
