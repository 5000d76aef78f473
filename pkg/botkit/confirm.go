package botkit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// DefaultConfirmTimeout is how long a confirmation waits for an answer.
const DefaultConfirmTimeout = 5 * time.Minute

// Prompt asks a yes/no question with buttons. Transports render it: Slack as
// Block Kit buttons, the console as a y/n question. A click comes back as an
// Event whose Action carries the button's value.
type Prompt struct {
	ID  string // identifies the question; buttons carry ID:yes and ID:no
	Yes string // the confirm button's label
	No  string // the cancel button's label
}

// ConfirmActionID starts the action_id of confirmation buttons
// (botkit_confirm_yes, botkit_confirm_no: unique within their block, as
// Slack requires).
const ConfirmActionID = "botkit_confirm"

// PromptValue is the value a prompt's button carries: the prompt's ID and
// the answer.
func PromptValue(id string, yes bool) string {
	if yes {
		return id + ":" + answerYes
	}
	return id + ":" + answerNo
}

// Values a confirmation button carries after its prompt's ID.
const (
	answerYes = "yes"
	answerNo  = "no"
)

// PromptFunc returns the question a command asks before it runs, such as
// "Launch the rocket in 10 s?". It runs on a worker with the command's
// arguments bound and may look things up (what will be deployed), but
// should be quick: the worker is held while it runs. An error is handled as
// the command's own.
type PromptFunc func(ctx context.Context, req *Request) (string, error)

// ConfirmOption configures a confirmation.
type ConfirmOption func(*confirmSpec)

type confirmSpec struct {
	prompt  PromptFunc
	timeout time.Duration
	users   []string
}

// ConfirmTimeout sets how long to wait for an answer (default 5 minutes); no
// answer counts as cancel.
func ConfirmTimeout(d time.Duration) ConfirmOption {
	return func(o *confirmSpec) {
		if d <= 0 {
			panic("botkit: ConfirmTimeout must be positive")
		}
		o.timeout = d
	}
}

// ConfirmUsers lets these users answer too, besides the requester.
func ConfirmUsers(ids ...string) ConfirmOption {
	return func(o *confirmSpec) { o.users = append(o.users, ids...) }
}

// Confirm makes the command ask prompt's question with Confirm and Cancel
// buttons before it runs, and run only if the requester (or a user given
// with ConfirmUsers) clicks Confirm. The command does not hold a worker
// while it waits: it is parked, and runs on a worker when the answer comes.
// A click from anyone else is refused and the question stays open; no
// answer within the timeout cancels it; either way the question is edited
// to show what became of it. Access rules are checked again when the
// answer comes. A user may have at most 5 questions open at once.
func Confirm(prompt PromptFunc, opts ...ConfirmOption) CommandOption {
	if prompt == nil {
		panic("botkit: nil PromptFunc")
	}
	spec := &confirmSpec{prompt: prompt, timeout: DefaultConfirmTimeout}
	for _, o := range opts {
		o(spec)
	}
	return func(c *Command) { c.confirm = spec }
}

// errParked is what the confirmation and approval middleware return for a
// command that now waits for a click: nothing more is to be done for the
// message. errAwaitingApproval is the same for an approval.
var (
	errParked           = errors.New("waiting for a confirmation")
	errAwaitingApproval = fmt.Errorf("%w: awaiting approval", errParked)
)

// confirmation is the middleware that parks a command whose definition or
// access rule asks for a confirmation, and lets a confirmed one through.
func (rt *Runtime) confirmation() Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, req *Request) error {
			if req.resumed() {
				return next.ServeCommand(ctx, req)
			}
			if req.cmd.prepare != nil {
				if err := req.cmd.prepare(ctx, req); err != nil {
					return err
				}
			}
			spec := req.cmd.confirm
			var question string
			switch {
			case spec != nil:
				q, err := spec.prompt(ctx, req)
				if err != nil {
					return err
				}
				question = q
				if req.ruleConfirm != nil {
					question += "\n(access rule `" + Escape(req.ruleConfirm.Name) + "` asks for a confirmation)"
				}
			case req.ruleConfirm != nil:
				spec = &confirmSpec{timeout: DefaultConfirmTimeout}
				question = "Run `" + Escape(req.Text) + "`" + req.defaulted + "? (access rule `" + Escape(req.ruleConfirm.Name) + "` asks for a confirmation)"
			default:
				return next.ServeCommand(ctx, req)
			}
			now := rt.now()
			it := &interaction{
				ID: newInteractionID(interactionConfirm), Kind: interactionConfirm, Created: now, Expires: now.Add(spec.timeout), Timeout: spec.timeout,
				Question: question, Answerers: append([]string{req.User}, spec.users...), Run: runSpecOf(req),
			}
			return rt.s.park(ctx, req, it, Prompt{ID: it.ID, Yes: "Confirm", No: "Cancel"}, "")
		})
	}
}

// runSpecOf is what a stored interaction needs to run req's command.
func runSpecOf(req *Request) runSpec {
	return runSpec{
		Kind: req.Kind, Command: req.cmd.pat.src, Text: req.Text, Args: slices.Clone(req.args), Details: slices.Clone(req.details),
		Defaulted: req.defaulted, User: req.User, Channel: req.Channel, TS: req.TS, ThreadTS: req.ThreadTS, EventID: req.EventID,
		CorrelationID: req.CorrelationID, InChannel: req.inChannel, ConfirmedBy: req.answeredBy, ResponseURL: req.ResponseURL,
	}
}

// answerConfirm answers a click on a confirmation.
func (s *session) answerConfirm(ev Event, it *interaction, yes bool) bool {
	if !slices.Contains(it.Answerers, ev.User) {
		s.refuseClick(ev, it, "not_answerer", "Only <@"+it.Answerers[0]+"> can answer this confirmation.")
		return false
	}
	v := verdict{Outcome: verdictCancelled, By: ev.User, Click: ev.ID, At: s.rt.now()}
	if yes {
		v.Outcome = verdictConfirmed
	}
	return s.decide(&ev, it, v, nil)
}
