package botkit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// answer is a click that decided a pending command to run.
type answer struct {
	it      *interaction
	verdict verdict
	votes   []vote // an approval's approvers
}

// sweepEvery is how often a runtime looks for records that expired
// unseen (their process died, so no timer of its fires) and prunes old
// ones.
const sweepEvery = 30 * time.Second

// postedWait bounds how long closing a question waits for its messages to
// be recorded: a click can come between the post and the record's update.
const postedWait = 2 * time.Second

// park stores it, posts its question (in req's thread, and in extra if
// set) and leaves the command to run when it is answered.
func (s *session) park(ctx context.Context, req *Request, it *interaction, prompt Prompt, extra string) error {
	rt := s.rt
	waiting := "waiting for your confirmation"
	if it.Kind == interactionApprove {
		waiting = "waiting for approval"
	}
	switch err := rt.pending.add(it); {
	case errors.Is(err, errTooManyForUser):
		return refuse(fmt.Sprintf("You already have %d commands %s: answer those first, or let them expire.", maxPendingPerUser, waiting))
	case errors.Is(err, errTooMany):
		return refuse("Too many commands are " + strings.TrimSuffix(waiting, " for your confirmation") + " right now; try again in a few minutes.")
	case err != nil:
		return fmt.Errorf("parking the command: %w", err)
	}
	s.armTimer(it)
	rt.metrics.pending.Inc()
	m := Message{Channel: req.Channel, ThreadTS: req.thread(), Text: it.Question, Prompt: &prompt}
	ref, err := req.tr.Post(ctx, m)
	if err != nil {
		s.stopTimer(it.ID)
		if won, _, _ := rt.pending.decide(it.ID, verdict{Outcome: verdictAbandoned, At: rt.now()}); won {
			rt.metrics.pending.Dec()
		}
		return fmt.Errorf("posting the question: %w", err)
	}
	posted := []postedRef{{Channel: ref.Channel, TS: ref.TS}}
	if extra != "" && extra != req.Channel {
		m.Channel, m.ThreadTS = extra, ""
		if ref, err := req.tr.Post(ctx, m); err != nil {
			rt.metrics.errors.Counter("post").Inc()
			req.logger.Error("posting the approval request to the approvers' channel", "approval_channel", extra, "err", err)
		} else {
			posted = append(posted, postedRef{Channel: ref.Channel, TS: ref.TS})
		}
	}
	if err := rt.pending.setPosted(it.ID, posted); err != nil {
		req.logger.Error("recording the question's messages", "err", err)
	}
	if it.Kind == interactionApprove {
		return errAwaitingApproval
	}
	return errParked
}

// armTimer expires it on time in this process; sweep does it for records
// whose process is gone.
func (s *session) armTimer(it *interaction) {
	s.tmu.Lock()
	defer s.tmu.Unlock()
	if s.timers == nil {
		s.timers = map[string]*time.Timer{}
	}
	id := it.ID
	s.timers[id] = time.AfterFunc(it.Expires.Sub(s.rt.now()), func() {
		s.stopTimer(id)
		got, err := s.rt.pending.get(id)
		if err == nil {
			s.expire(got)
		}
	})
}

func (s *session) stopTimer(id string) {
	s.tmu.Lock()
	defer s.tmu.Unlock()
	if t, ok := s.timers[id]; ok {
		t.Stop()
		delete(s.timers, id)
	}
}

func (s *session) stopTimers() {
	s.tmu.Lock()
	defer s.tmu.Unlock()
	for id, t := range s.timers {
		t.Stop()
		delete(s.timers, id)
	}
}

// click takes a click on a confirmation's or an approval's buttons. It
// runs on the transport's goroutine, so the rest (reading the record,
// looking up groups) happens apart.
func (s *session) click(ev Event) {
	s.async(ev, func() {
		if !s.answer(ev) {
			s.done(ev)
		}
	})
}

// answer answers a click; it reports whether a command was queued to run
// (and marks the click done when it has run).
func (s *session) answer(ev Event) bool {
	rt := s.rt
	id, ans, _ := strings.Cut(ev.Action.Value, ":")
	yes := ans == answerYes
	if !interactionIDPattern.MatchString(id) || ans != answerYes && ans != answerNo {
		s.refuseClick(ev, nil, "forged", "That button is not one of mine.")
		return false
	}
	it, err := rt.pending.get(id)
	if errors.Is(err, errNoInteraction) {
		s.refuseClick(ev, nil, "unknown", "This request is no longer open: it expired, or was decided long ago. Run the command again.")
		return false
	}
	if err != nil {
		rt.logger.Error("reading an interaction", "interaction", id, "err", err)
		s.post(s.ctx, ev, "I couldn't read that request just now; click again in a moment.")
		return false
	}
	if v, decided, err := rt.pending.verdict(id); err == nil && decided {
		s.refuseClick(ev, it, "decided", decidedNote(it, v, ev))
		return false
	}
	if !rt.now().Before(it.Expires) {
		s.expire(it)
		s.refuseClick(ev, it, "expired", expiredNote(it))
		return false
	}
	if it.Kind == interactionApprove {
		return s.answerApproval(ev, it, yes)
	}
	return s.answerConfirm(ev, it, yes)
}

// decide sets v on it, once across every process sharing the store, and
// queues its command when v lets it run. It reports whether it queued.
// click is the click that decided it; nil when the sweep found enough
// approvals that no click saw together.
func (s *session) decide(click *Event, it *interaction, v verdict, votes []vote) bool {
	rt := s.rt
	runs := v.Outcome == verdictConfirmed || v.Outcome == verdictApproved
	tell := func(text string) {
		if click != nil {
			s.post(s.ctx, *click, text)
		}
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		if rt.pending.durable() {
			// Undecided, the record waits for the next process.
			tell("I'm restarting; click again in a minute.")
		} else {
			tell("Not run: I'm restarting; run the command again in a minute.")
		}
		return false
	}
	won, got, err := rt.pending.decide(it.ID, v)
	if err != nil || !won {
		s.mu.RUnlock()
		switch {
		case err != nil:
			rt.logger.Error("deciding an interaction", "interaction", it.ID, "err", err)
			tell("I couldn't record that just now; click again in a moment.")
		case click != nil:
			s.refuseClick(*click, it, "decided", decidedNote(it, got, *click))
		}
		return false
	}
	s.stopTimer(it.ID)
	rt.metrics.pending.Dec()
	var ev Event
	if click != nil {
		ev = *click
	}
	if runs {
		ok := s.queue.pushAnswer(work{ev: ev, answer: &answer{it: it, verdict: v, votes: votes}})
		s.mu.RUnlock()
		if ok {
			rt.metrics.queued.Inc()
			return true
		}
		// Not closed (checked under the same lock), so this cannot
		// happen; say so rather than drop it silently.
		rt.logger.Error("an answer could not be queued", "interaction", it.ID)
		return false
	}
	s.mu.RUnlock()
	s.closeQuestion(it, outcomeLine(it, v, votes), click)
	s.notRun(it, v)
	return false
}

// resume runs a parked command once its question is answered.
func (s *session) resume(w work) {
	a := w.answer
	s.closeQuestion(a.it, outcomeLine(a.it, a.verdict, a.votes), &w.ev)
	if a.it.Kind == interactionApprove && w.ev.Action != nil {
		// The approver whose click decided hears it as a retry of that
		// click would, here or at another process (decidedNote): every
		// delivery of one click hears the same, whichever decided.
		s.post(s.ctx, w.ev, "Your click decided this: you approved it at "+a.verdict.At.UTC().Format("15:04:05 UTC")+", and it runs now.")
	}
	req, err := s.requestFrom(a.it)
	if err != nil {
		s.rt.logger.Error("a decided command cannot run", "interaction", a.it.ID, "err", err)
		where := w.ev
		if where.Channel == "" { // decided by the sweep: tell the requester's thread
			where = Event{Channel: a.it.Run.Channel, ThreadTS: a.it.Run.thread()}
		}
		s.post(s.ctx, where, "Sorry, that command can no longer run: "+err.Error()+".")
		return
	}
	if a.it.Kind == interactionApprove {
		req.approvals = a.votes
		if req.approvals == nil {
			req.approvals = []vote{}
		}
	} else {
		req.answeredBy = a.verdict.By
	}
	s.serve(s.ctx, req)
}

// requestFrom rebuilds the request an interaction runs: the same command,
// canonical arguments, frozen details, requester, channel and thread.
func (s *session) requestFrom(it *interaction) (*Request, error) {
	r := it.Run
	cmd := s.rt.commandFor(r.Kind, r.Command)
	if cmd == nil {
		return nil, fmt.Errorf("this version of the bot has no command %q", r.Command)
	}
	if len(r.Args) != len(cmd.pat.params) {
		return nil, fmt.Errorf("command %q now takes %d arguments, not %d", r.Command, len(cmd.pat.params), len(r.Args))
	}
	ev := Event{Kind: r.Kind, ID: r.EventID, User: r.User, Channel: r.Channel, TS: r.TS, ThreadTS: r.ThreadTS, Text: r.Text, ResponseURL: r.ResponseURL}
	req := &Request{
		Kind: r.Kind, Text: r.Text, User: r.User, Channel: r.Channel, TS: r.TS, ThreadTS: r.ThreadTS, EventID: r.EventID,
		CorrelationID: r.CorrelationID, ResponseURL: r.ResponseURL, ev: &ev, received: s.rt.now(), cmd: cmd, args: r.Args,
		tr: s.tr, rt: s.rt, defaulted: r.Defaulted, inChannel: r.InChannel, answeredBy: r.ConfirmedBy, details: r.Details,
	}
	req.logger = s.rt.logger.With(
		slog.String("command", cmd.pat.src), slog.String("user", r.User), slog.String("channel", r.Channel),
		slog.String("event_id", r.EventID), slog.String("correlation_id", r.CorrelationID))
	return req, nil
}

// commandFor finds the command of a stored interaction by its pattern.
func (rt *Runtime) commandFor(kind Kind, src string) *Command {
	for _, c := range rt.bot.cmds {
		if c.pat.src == src {
			return c
		}
	}
	for _, c := range rt.bot.order {
		if c.kind == kind && c.pat.src == src {
			return c
		}
	}
	return nil
}

// expire decides it as expired, if nobody decided it first, and says so.
func (s *session) expire(it *interaction) {
	s.stopTimer(it.ID)
	v := verdict{Outcome: verdictExpired, At: s.rt.now()}
	won, _, err := s.rt.pending.decide(it.ID, v)
	if err != nil || !won {
		return // decided meanwhile, here or elsewhere
	}
	s.rt.metrics.pending.Dec()
	s.closeQuestion(it, outcomeLine(it, v, nil), nil)
	s.notRun(it, v)
}

// sweep expires the records whose time is up that no timer here covers
// (made by a process that is gone) and prunes old ones, now and every
// sweepEvery until stop is closed.
func (s *session) sweep(stop <-chan struct{}) {
	tick := time.NewTicker(sweepEvery)
	defer tick.Stop()
	for {
		now := s.rt.now()
		if err := s.rt.pending.prune(now); err != nil {
			s.rt.logger.Warn("pruning interactions", "err", err)
		}
		open, err := s.rt.pending.open()
		if err != nil {
			s.rt.logger.Warn("listing interactions", "err", err)
		}
		s.rt.metrics.pending.Set(float64(len(open)))
		for _, it := range open {
			switch {
			case !now.Before(it.Expires):
				s.expire(it)
			case s.rt.pending.durable():
				s.adopt(it)
				s.tally(it)
			}
		}
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

// tally decides an approval whose approvals are all in, though no click
// saw them together: on NFS a process may list a directory from its cache
// and miss a vote another process just made, so two approvers clicking at
// once at two processes could each count one.
func (s *session) tally(it *interaction) {
	if it.Kind != interactionApprove {
		return
	}
	votes, err := s.rt.pending.votes(it.ID)
	if err != nil {
		return
	}
	if votes, err = s.countable(it, votes); err != nil || len(votes) < it.Count {
		return
	}
	// The vote that made the count decides: its approver and its click,
	// which a delivery of that click, here or at another process, is told.
	slices.SortStableFunc(votes, func(a, b vote) int { return a.At.Compare(b.At) })
	last := votes[it.Count-1]
	if last.At.IsZero() {
		return // its file is being written: the next sweep reads it whole
	}
	s.decide(nil, it, verdict{Outcome: verdictApproved, By: last.User, Click: last.Click, At: s.rt.now()}, votes)
}

// adopt arms a timer for a record another process made, so that it expires
// on time even if that process is gone. Whichever process fires first
// decides it; the others find it decided.
func (s *session) adopt(it *interaction) {
	s.tmu.Lock()
	_, ok := s.timers[it.ID]
	s.tmu.Unlock()
	if !ok {
		s.armTimer(it)
	}
}

// abandonPending runs when the bot stops. Records in memory die with it:
// their questions are closed, so nobody clicks a dead button. Records on
// the state directory wait for the next process.
func (s *session) abandonPending() {
	s.stopTimers()
	if s.rt.pending.durable() {
		return
	}
	open, _ := s.rt.pending.open()
	var wg sync.WaitGroup
	for _, it := range open {
		v := verdict{Outcome: verdictAbandoned, At: s.rt.now()}
		if won, _, _ := s.rt.pending.decide(it.ID, v); !won {
			continue
		}
		wg.Go(func() {
			s.closeQuestion(it, "not run: I restarted before an answer; run the command again.", nil)
			s.notRun(it, v)
		})
	}
	wg.Wait()
	s.rt.metrics.pending.Set(0)
}

// closeQuestion edits it's messages to say what became of it, so nobody
// clicks a stale button. clicked, if set, is the click that decided it: its
// message is edited when the record does not know its messages yet.
func (s *session) closeQuestion(it *interaction, outcome string, clicked *Event) {
	posted := it.Posted
	for deadline := time.Now().Add(postedWait); len(posted) == 0 && time.Now().Before(deadline); {
		if got, err := s.rt.pending.get(it.ID); err == nil && len(got.Posted) > 0 {
			posted = got.Posted
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(posted) == 0 && clicked != nil && clicked.Action != nil && clicked.Action.MessageTS != "" {
		posted = []postedRef{{Channel: clicked.Channel, TS: clicked.Action.MessageTS}}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), noteTimeout)
	defer cancel()
	for _, p := range posted {
		upd := Message{Channel: p.Channel, Text: it.Question + "\n→ " + outcome}
		if p.Channel == it.Run.Channel {
			upd.ThreadTS = it.Run.thread()
		}
		if err := s.tr.Update(ctx, MessageRef{Channel: p.Channel, TS: p.TS}, upd); err != nil {
			s.rt.metrics.errors.Counter("update").Inc()
			s.rt.logger.Warn("updating a question", "interaction", it.ID, "err", err)
		}
	}
}

// notRun records a parked command that will not run: its audit line says
// why and who decided.
func (s *session) notRun(it *interaction, v verdict) {
	req, err := s.requestFrom(it)
	if err != nil {
		s.rt.logger.Warn("audit of a command that will not run", "interaction", it.ID, "outcome", v.Outcome, "err", err)
		return
	}
	req.decision = decisionNotConfirmed
	if it.Kind == interactionApprove {
		req.decision = "not_approved_" + v.Outcome
	}
	req.verdict = &v
	s.rt.record(s.ctx, req, refuse(v.Outcome), 0)
}

// refuseClick tells the clicker why their click did nothing, and records
// it: a refused click on an approval is part of its audit trail.
func (s *session) refuseClick(ev Event, it *interaction, reason, note string) {
	attrs := []any{slog.String("clicker", ev.User), slog.String("reason", reason), slog.String("value", clip(ev.Action.Value, 80))}
	if it != nil {
		attrs = append(attrs, slog.String("interaction", it.ID), slog.String("kind", it.Kind),
			slog.String("command", it.Run.Text), slog.String("requester", it.Run.User), slog.String("correlation_id", it.Run.CorrelationID))
	}
	s.rt.logger.Warn("click refused", attrs...)
	if it != nil && it.Kind == interactionApprove {
		if ch := s.rt.policy.load().Audit.Channel; ch != "" {
			s.postAuditLine(ch, fmt.Sprintf("<@%s> clicked on the approval of `%s` (asked by <@%s>, ref `%s`): refused (%s)",
				ev.User, Escape(clip(it.Run.Text, 200)), it.Run.User, it.Run.CorrelationID, reason))
		}
	}
	s.post(s.ctx, ev, note)
}

// postAuditLine posts a line to the audit channel.
func (s *session) postAuditLine(channel, line string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), noteTimeout)
	defer cancel()
	if _, err := s.tr.Post(ctx, Message{Channel: channel, Text: line}); err != nil {
		s.rt.metrics.errors.Counter("audit").Inc()
		s.rt.logger.Error("posting to the audit channel", "audit_channel", channel, "err", err)
	}
}

// decidedNote tells a click that found it decided what became of it, and
// truthfully who decided it: a delivery of the very click that decided it
// (a retry, or the same click at another process) is told its click did;
// the one who decided it with another click, that they did; anyone else,
// who did and how.
func decidedNote(it *interaction, v verdict, ev Event) string {
	if v.Outcome == verdictExpired {
		return expiredNote(it)
	}
	what := "This confirmation was answered already"
	if it.Kind == interactionApprove {
		what = "This request was decided already"
	}
	at := ""
	if !v.At.IsZero() {
		at = " at " + v.At.UTC().Format("15:04:05 UTC")
	}
	verb, ok := decidedVerbs[v.Outcome]
	switch {
	case v.Outcome == verdictAbandoned:
		return what + ": it was dropped when I restarted; run the command again."
	case !ok:
		return what + "."
	case v.Click != "" && v.Click == ev.ID:
		return "Your click decided this already: you " + verb + " it" + at + "."
	case v.By == ev.User:
		return what + ": you " + verb + " it" + at + "."
	case v.By == "":
		return what + ": " + v.Outcome + at + "."
	case v.Outcome == verdictWithdrawn:
		return what + ": its requester <@" + v.By + "> withdrew it" + at + "."
	}
	return what + ": <@" + v.By + "> " + verb + " it" + at + "."
}

// decidedVerbs say what the decider of each verdict did.
var decidedVerbs = map[string]string{
	verdictConfirmed: "confirmed", verdictCancelled: "cancelled",
	verdictApproved: "approved", verdictRejected: "rejected", verdictWithdrawn: "withdrew",
}

func expiredNote(it *interaction) string {
	if it.Kind == interactionApprove {
		return "This request expired without approval; run the command again to ask again."
	}
	return "This confirmation expired, run the command again."
}

func by(v verdict) string {
	if v.By == "" {
		return ""
	}
	return " by <@" + v.By + ">"
}

// outcomeLine is what the question's messages say once it is decided.
func outcomeLine(it *interaction, v verdict, votes []vote) string {
	timeout := it.Timeout
	switch v.Outcome {
	case verdictConfirmed:
		return "confirmed."
	case verdictCancelled:
		return "cancelled."
	case verdictApproved:
		return "approved by " + voters(votes) + "; running."
	case verdictRejected:
		return "rejected" + by(v) + " at " + v.At.UTC().Format("15:04 UTC") + "."
	case verdictWithdrawn:
		return "withdrawn" + by(v) + "."
	case verdictExpired:
		if it.Kind == interactionApprove {
			return fmt.Sprintf("rejected: not approved within %s.", timeout)
		}
		return fmt.Sprintf("cancelled: no answer within %s.", timeout)
	}
	return "not run: I restarted before an answer; run the command again."
}

// voters lists approvers as mentions with the time of their click.
func voters(votes []vote) string {
	parts := make([]string, len(votes))
	for i, v := range votes {
		parts[i] = "<@" + v.User + ">"
		if !v.At.IsZero() {
			parts[i] += " (" + v.At.UTC().Format("15:04 UTC") + ")"
		}
	}
	return strings.Join(parts, ", ")
}
