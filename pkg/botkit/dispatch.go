package botkit

import (
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strings"
)

// dispatch runs one message: parse, route, bind arguments, then the
// command's chain (audit, rate limit, access, confirmation, timeout, the
// bot's middleware, the handler), and turns its error into a reply.
func (s *session) dispatch(w work) {
	switch w.ev.Kind {
	case KindMessage:
		s.dispatchText(w, w.ev.Text)
	case KindSlash:
		s.dispatchSlash(w)
	case KindEvent:
		if w.ev.Raw != nil && w.ev.Raw.Type == "app_home_opened" {
			s.publishHome(w.ev)
			return
		}
		s.dispatchListener(w.ev)
	default:
		s.dispatchListener(w.ev)
	}
}

// dispatchText runs the command text of a message or slash command.
func (s *session) dispatchText(w work, text string) {
	rt, ev := s.rt, w.ev
	if w.tooLong {
		rt.metrics.events.Counter(eventUnknown).Inc()
		s.tell(ev, "That message is too long to be a command. Try `help`.")
		return
	}
	text = stripMention(normalize(text))
	if text == "" {
		rt.metrics.events.Counter(eventUnknown).Inc()
		s.tell(ev, "Hi! Type `help` to see what I can do.")
		return
	}
	if reply, ok := s.helpFor(ev, text); ok {
		rt.metrics.events.Counter(eventHandled).Inc()
		s.tell(ev, reply)
		return
	}
	cmd, args := rt.bot.match(text)
	if cmd == nil {
		rt.metrics.events.Counter(eventUnknown).Inc()
		s.tell(ev, rt.bot.notFound(text))
		return
	}
	if err := cmd.pat.bind(args); err != nil {
		rt.metrics.events.Counter(eventUnknown).Inc()
		s.tell(ev, argErrorReply(cmd, err))
		return
	}
	rt.metrics.events.Counter(eventHandled).Inc()
	req := &Request{
		Kind: ev.Kind, Text: text, User: ev.User, Channel: ev.Channel, TS: ev.TS, ThreadTS: ev.ThreadTS, EventID: ev.ID,
		CorrelationID: newCorrelationID(), TriggerID: ev.TriggerID, ResponseURL: ev.ResponseURL,
		ev: &ev, cmd: cmd, args: args, tr: s.tr, rt: rt, inChannel: w.inChannel, received: w.received,
	}
	req.logger = rt.logger.With(
		slog.String("command", cmd.pat.src), slog.String("user", ev.User), slog.String("channel", ev.Channel),
		slog.String("event_id", ev.ID), slog.String("correlation_id", req.CorrelationID))
	if err := req.applyDefaults(); err != nil {
		req.logger.Error("a default is not a valid value", "err", err)
		s.tell(ev, "Sorry, `"+cmd.Name()+"` could not fill in a value you left out. If you ask for help, mention ref `"+req.CorrelationID+"`.")
		return
	}
	s.serve(s.ctx, req)
}

// serve runs req's chain and replies with what became of it.
func (s *session) serve(ctx context.Context, req *Request) {
	s.rt.metrics.inFlight.Inc()
	err := s.rt.chains[req.cmd].ServeCommand(ctx, req)
	s.rt.metrics.inFlight.Dec()
	if req.answer != nil && !req.answered.Load() {
		req.Answer(answerFor(req, err))
		if err == nil || isFieldErrors(err) {
			return
		}
	}
	switch {
	case err == nil, errors.Is(err, errParked), isFieldErrors(err):
		return
	case req.Kind == KindWebhook:
		return // nobody to tell: the audit line has the error
	}
	var rf *refusal
	if errors.As(err, &rf) {
		s.reply(ctx, req, rf.msg)
		return
	}
	if ue, ok := AsUserError(err); ok {
		s.reply(ctx, req, ue.Msg)
		return
	}
	// The audit line has err with the request's attributes; the user gets
	// one line that lets whoever reads the logs find it.
	s.reply(ctx, req, "Sorry, `"+req.cmd.Name()+"` failed. If you ask for help, mention ref `"+req.CorrelationID+"`.")
}

// reply tells req's user text: where the request's replies go (a slash
// command's through its response_url, a click's beside the message, to the
// user alone). The command's context may be over (a timeout), so it gets a
// context of its own.
func (s *session) reply(ctx context.Context, req *Request, text string) {
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), noteTimeout)
	defer cancel()
	var err error
	switch req.Kind {
	case KindSlash, KindAction, KindShortcut, KindView:
		err = req.Ephemeral(pctx, text)
	default:
		var ref MessageRef
		ref, err = s.tr.Post(pctx, Message{Channel: req.where(), ThreadTS: req.thread(), Text: text})
		if err == nil {
			req.noteReply(ref)
		}
	}
	if err != nil {
		s.rt.metrics.errors.Counter("post").Inc()
		req.logger.Error("posting reply", "err", err)
	}
}

// argErrorReply tells the user which argument does not fit and how to use
// the command.
func argErrorReply(cmd *Command, err error) string {
	var ae *ArgError
	if !errors.As(err, &ae) {
		return "Usage: `" + cmd.Usage() + "`."
	}
	return "`" + Escape(clip(ae.Word, 60)) + "` " + Escape(ae.Err.Error()) + " (the " + ae.Param + " of `" + cmd.Usage() + "`). See `help " + cmd.Name() + "`."
}

// chain wraps cmd's handler in botkit's middleware and the bot's: audit
// outermost (it sees every outcome), then rate limit, access, confirmation,
// approval, the command's timeout, panic recovery, the bot's middleware, the handler.
func (rt *Runtime) chain(cmd *Command) Handler {
	h := Handler(cmd.handler)
	mw := rt.bot.middleware
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	h = Recover()(h)
	timeout := cmd.timeout
	if timeout == 0 {
		timeout = rt.commandTimeout
	}
	h = withTimeout(timeout)(h)
	if cmd.kind == KindWebhook {
		// No Slack user to check or limit: the hook's verifier is its
		// access check.
		return rt.audit()(h)
	}
	h = rt.approval()(h)
	h = rt.confirmation()(h)
	h = rt.access()(h)
	h = rt.rateLimit()(h)
	return rt.audit()(h)
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
	word = asciiLower(word)
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
