package botkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// tell answers ev's author outside any command run (help, usage, unknown
// command): a slash command's through its response_url, to the user alone;
// a message's in its thread.
func (s *session) tell(ev Event, text string) {
	if rs, ok := s.tr.(Responder); ok && ev.Kind == KindSlash && ev.ResponseURL != "" {
		ctx, cancel := context.WithTimeout(s.ctx, noteTimeout)
		defer cancel()
		if err := rs.Respond(ctx, ev.ResponseURL, Response{Text: text}); err != nil {
			s.rt.metrics.errors.Counter("post").Inc()
			s.rt.logger.Error("answering at the response_url", "command", ev.Slash.Command, "err", err)
		}
		return
	}
	s.post(s.ctx, ev, text)
}

// dispatchSlash runs a slash command's text as a command: /deploy api main
// as "deploy api main" when a command is named deploy, else /ops deploy api
// main as "deploy api main".
func (s *session) dispatchSlash(w work) {
	ev := w.ev
	c := s.rt.slash(ev.Slash.Command)
	if c == nil {
		s.rt.metrics.events.Counter(eventUnknown).Inc()
		s.rt.logger.Warn("slash command this bot does not register", "command", ev.Slash.Command)
		s.tell(ev, "I don't handle `"+Escape(ev.Slash.Command)+"`. Try `@"+s.rt.bot.name+" help`.")
		return
	}
	text := ev.Text
	if base := strings.TrimPrefix(c.Name(), "/"); len(s.rt.bot.routes[base]) > 0 {
		text = base + " " + text
	}
	w.inChannel = c.inChannel
	s.dispatchText(w, text)
}

// slash returns the slash command named name, declared with or without the
// environment's suffix (SlashName), or nil.
func (rt *Runtime) slash(name string) *Command {
	if c, ok := rt.bot.listeners[listenerKey{KindSlash, name}]; ok {
		return c
	}
	if rt.env != "" {
		if base, ok := strings.CutSuffix(name, "-"+rt.env); ok {
			return rt.bot.listeners[listenerKey{KindSlash, base}]
		}
	}
	return nil
}

// listenerID is the ID ev's listener is registered by.
func listenerID(ev *Event) string {
	switch ev.Kind {
	case KindAction:
		return ev.Action.ActionID
	case KindView:
		return ev.Submission.CallbackID
	case KindShortcut:
		return ev.Shortcut.CallbackID
	case KindEvent:
		return ev.Raw.Type
	case KindOptions:
		return ev.Suggestion.ActionID
	case KindWebhook:
		return ev.Webhook.Path
	}
	return ""
}

// request makes the request of an interaction for its listener c.
func (s *session) request(ev Event, c *Command) *Request {
	req := &Request{
		Kind: ev.Kind, User: ev.User, Channel: ev.Channel, TS: ev.TS, ThreadTS: ev.ThreadTS, EventID: ev.ID,
		CorrelationID: newCorrelationID(), TriggerID: ev.TriggerID, ResponseURL: ev.ResponseURL,
		ev: &ev, cmd: c, tr: s.tr, rt: s.rt, received: s.rt.now(),
	}
	if ev.Kind == KindAction {
		req.TS = ev.Action.MessageTS // replies go in the clicked message's thread
	}
	if ev.Kind == KindShortcut && req.TS == "" {
		req.TS = ev.Shortcut.MessageTS
	}
	req.logger = s.rt.logger.With(
		slog.String("command", c.pat.src), slog.String("user", ev.User), slog.String("channel", ev.Channel),
		slog.String("event_id", ev.ID), slog.String("correlation_id", req.CorrelationID))
	return req
}

// dispatchListener runs the listener of a click, a shortcut or an event.
func (s *session) dispatchListener(ev Event) {
	c, ok := s.rt.bot.listeners[listenerKey{ev.Kind, listenerID(&ev)}]
	if !ok {
		// A button of an old message, an event the app subscribes to but
		// no code handles: acknowledged already, nothing to run.
		s.rt.metrics.events.Counter(eventUnknown).Inc()
		s.rt.logger.Info("no listener; ignored", "kind", ev.Kind.String(), "id", listenerID(&ev), "user", ev.User)
		if ev.Kind == KindAction || ev.Kind == KindShortcut {
			s.post(s.ctx, Event{Kind: ev.Kind, Channel: ev.Channel, User: ev.User, Action: &Action{MessageTS: ev.TS}},
				"This no longer does anything; I may have restarted with a new version. Try `@"+s.rt.bot.name+" help`.")
		}
		return
	}
	s.rt.metrics.events.Counter(eventHandled).Inc()
	s.serve(s.ctx, s.request(ev, c))
}

// answerAsync runs the listener of an interaction Slack reads an answer
// from (a modal submission, an options request) at once, off the queue, and
// makes sure it is answered within AnswerBudget.
func (s *session) answerAsync(ev Event) {
	rt := s.rt
	if ev.Answer == nil {
		ev.Answer = func(Answer) {} // a transport that acks alone
	}
	if !rt.seen.first(ev.ID) {
		rt.metrics.events.Counter(eventDuplicate).Inc()
		s.done(ev)
		return
	}
	c, ok := rt.bot.listeners[listenerKey{ev.Kind, listenerID(&ev)}]
	if !ok {
		rt.metrics.events.Counter(eventUnknown).Inc()
		rt.logger.Info("no listener; answered with a note", "kind", ev.Kind.String(), "id", listenerID(&ev), "user", ev.User)
		ev.Answer(unhandled(&ev, "I can't take this form any more; close it and start again."))
		s.done(ev)
		return
	}
	if ev.Kind == KindView && ev.Submission.Closed && !c.closeNotify() {
		ev.Answer(ViewAnswer{})
		s.done(ev)
		return
	}
	select {
	case s.answering <- struct{}{}:
	default:
		rt.metrics.events.Counter(eventBusy).Inc()
		ev.Answer(unhandled(&ev, "I'm busy right now; submit again in a moment."))
		s.done(ev)
		return
	}
	rt.metrics.events.Counter(eventHandled).Inc()
	req := s.request(ev, c)
	req.answer = ev.Answer
	timer := time.AfterFunc(AnswerBudget, func() {
		if req.Answer(unhandled(&ev, "That took me too long to check; submit again.")) {
			rt.metrics.errors.Counter("answer_late").Inc()
			req.logger.Warn("not answered within the budget; answered for the handler", "budget", AnswerBudget)
		}
	})
	s.notes.Go(func() {
		defer func() { <-s.answering }()
		defer s.done(ev)
		defer timer.Stop()
		s.serve(s.ctx, req)
	})
}

// closeNotify reports whether a view listener wants view_closed: every
// View listener gets it, as Slack sends it only when the modal asked.
func (c *Command) closeNotify() bool { return c.kind == KindView }

// unhandled is the answer to an interaction no handler answers: a modal
// keeps its inputs, with note beside its first input; a select shows no
// options.
func unhandled(ev *Event, note string) Answer {
	if ev.Kind == KindOptions {
		return OptionsAnswer{}
	}
	if ev.Submission == nil || ev.Submission.Closed || len(ev.Submission.Inputs) == 0 {
		return ViewAnswer{}
	}
	return ViewAnswer{Errors: map[string]string{ev.Submission.Inputs[0]: note}}
}

// answerFor is the answer of a handler that returned err without answering.
func answerFor(req *Request, err error) Answer {
	if req.Kind == KindOptions {
		return OptionsAnswer{}
	}
	var fe FieldErrors
	switch {
	case err == nil:
		return ViewAnswer{}
	case errors.As(err, &fe):
		return ViewAnswer{Errors: fe}
	}
	msg := "Sorry, that failed. If you ask for help, mention ref `" + req.CorrelationID + "`."
	var rf *refusal
	if errors.As(err, &rf) {
		msg = rf.msg
	} else if ue, ok := AsUserError(err); ok {
		msg = ue.Msg
	}
	return unhandled(req.ev, msg)
}

func isFieldErrors(err error) bool {
	var fe FieldErrors
	return errors.As(err, &fe)
}

// publishHome publishes the App Home tab of the user who opened it: the
// commands this user may run, as help lists them, then the bot's own
// blocks.
func (s *session) publishHome(ev Event) {
	vw, ok := s.tr.(Viewer)
	if !ok {
		return
	}
	rt := s.rt
	var tab struct {
		Tab string `json:"tab"`
	}
	if ev.Raw != nil && len(ev.Raw.JSON) > 0 {
		_ = json.Unmarshal(ev.Raw.JSON, &tab) // no tab: the home tab
	}
	if tab.Tab != "" && tab.Tab != "home" {
		return // the messages tab
	}
	blocks := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, clip(rt.bot.name, 140), false, false)),
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, homeCommands(rt, s, ev), false, false), nil, nil),
	}
	if rt.bot.home != nil {
		c := &Command{kind: KindEvent, pat: &pattern{src: "home", required: []elem{{kind: litElem, text: "home"}}}}
		req := s.request(ev, c)
		ctx, cancel := context.WithTimeout(s.ctx, rt.commandTimeout)
		own, err := func() (b []slack.Block, err error) {
			defer func() {
				if v := recover(); v != nil {
					err = fmt.Errorf("home func panicked: %v", v)
				}
			}()
			return rt.bot.home(ctx, req)
		}()
		cancel()
		if err != nil {
			rt.metrics.errors.Counter("home").Inc()
			req.logger.Error("home blocks", "err", err)
		} else {
			blocks = append(blocks, slack.NewDividerBlock())
			blocks = append(blocks, own...)
		}
	}
	if len(blocks) > maxViewBlocks {
		blocks = blocks[:maxViewBlocks]
	}
	ctx, cancel := context.WithTimeout(s.ctx, noteTimeout)
	defer cancel()
	if err := vw.PublishHome(ctx, ev.User, slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}}); err != nil {
		rt.metrics.errors.Counter("home").Inc()
		rt.logger.Error("publishing the home tab", "user", ev.User, "err", err)
	}
}

// maxViewBlocks is Slack's limit of blocks in a modal or home view.
const maxViewBlocks = 100

// homeCommands lists the commands the user may run, as help does.
func homeCommands(rt *Runtime, s *session, ev Event) string {
	var sb strings.Builder
	sb.WriteString("*What you can ask me* (mention me, e.g. `@" + rt.bot.name + " help`):\n")
	n := 0
	for _, c := range rt.bot.cmds {
		if c.hidden || !rt.policy.mayList(s.ctx, s.tr, c, ev.User, ev.Channel) {
			continue
		}
		n++
		sb.WriteString("• `" + c.Usage() + "`")
		if c.desc != "" {
			sb.WriteString(" — " + c.desc)
		}
		sb.WriteByte('\n')
	}
	var slashes []string
	for _, c := range rt.bot.order {
		if c.kind == KindSlash {
			slashes = append(slashes, "`"+SlashName(c.Name(), rt.env)+"`")
		}
	}
	if len(slashes) > 0 {
		slices.Sort(slashes)
		sb.WriteString("Slash commands: " + strings.Join(slashes, ", ") + "\n")
	}
	if n == 0 {
		sb.WriteString("Nothing you may run yet; ask whoever runs this bot.")
	}
	sb.WriteString(rt.bot.jobsHelp(rt.now(), rt.timing))
	return clip(sb.String(), 3000) // a section's text limit
}
