package botkit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultConfirmTimeout is how long a confirmation waits for an answer.
const DefaultConfirmTimeout = 5 * time.Minute

// Bounds on the confirmations waiting at once. A waiting command holds no
// worker, only its request (a few hundred bytes) and a timer, so the bounds
// are about abuse, not memory pressure: one user cannot park more than a
// handful, and all users together no more than a busy team would.
const (
	maxPendingPerUser = 5
	maxPending        = 1000
)

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

// errParked is what the confirmation middleware returns for a command that
// now waits for its answer: nothing more is to be done for the message.
var errParked = errors.New("waiting for a confirmation")

// pending is a command waiting for the answer to its question.
type pending struct {
	id       string
	req      *Request
	users    []string // who may answer; the requester first
	question string
	timeout  time.Duration
	timer    *time.Timer

	posted chan struct{} // closed once ref is set, or the post failed
	ref    MessageRef
}

// answer is a click that decided a pending command.
type answer struct {
	p   *pending
	yes bool
	by  string
}

// pendingStore keeps the commands waiting for an answer. Each is decided
// once: take removes it, and only the caller that removed it acts on it, so
// two clicks (or one delivered twice) decide once. Implementations are safe
// for concurrent use. The one here keeps them in memory; a durable one (on
// the state directory) lets an answer reach another process.
type pendingStore interface {
	// add stores p unless its user, or everyone, is at the bound.
	add(p *pending) error
	// get returns the pending command id, without removing it.
	get(id string) (*pending, bool)
	// take removes and returns it; false when it was decided already.
	take(id string) (*pending, bool)
	// takeAll removes and returns every pending command.
	takeAll() []*pending
	// size returns how many wait.
	size() int
}

var (
	errTooManyForUser = errors.New("too many confirmations open for this user")
	errTooMany        = errors.New("too many confirmations open")
)

type memPending struct {
	mu     sync.Mutex
	byID   map[string]*pending
	byUser map[string]int
}

func newMemPending() *memPending {
	return &memPending{byID: map[string]*pending{}, byUser: map[string]int{}}
}

func (m *memPending) add(p *pending) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.byUser[p.req.User] >= maxPendingPerUser:
		return errTooManyForUser
	case len(m.byID) >= maxPending:
		return errTooMany
	}
	m.byID[p.id] = p
	m.byUser[p.req.User]++
	return nil
}

func (m *memPending) get(id string) (*pending, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.byID[id]
	return p, ok
}

func (m *memPending) take(id string) (*pending, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.byID[id]
	if !ok {
		return nil, false
	}
	delete(m.byID, id)
	if m.byUser[p.req.User]--; m.byUser[p.req.User] <= 0 {
		delete(m.byUser, p.req.User)
	}
	return p, true
}

func (m *memPending) takeAll() []*pending {
	m.mu.Lock()
	defer m.mu.Unlock()
	all := make([]*pending, 0, len(m.byID))
	for _, p := range m.byID {
		all = append(all, p)
	}
	clear(m.byID)
	clear(m.byUser)
	return all
}

func (m *memPending) size() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.byID)
}

// confirmation is the middleware that parks a command whose definition or
// access rule asks for a confirmation, and lets a confirmed one through.
func (rt *Runtime) confirmation() Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, req *Request) error {
			if req.answeredBy != "" {
				return next.ServeCommand(ctx, req)
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
			return rt.park(ctx, req, spec, question)
		})
	}
}

// park posts the question and stores req to run when it is answered.
func (rt *Runtime) park(ctx context.Context, req *Request, spec *confirmSpec, question string) error {
	p := &pending{
		id: "c" + newCorrelationID() + newCorrelationID(), req: req,
		users: append([]string{req.User}, spec.users...), question: question,
		timeout: spec.timeout, posted: make(chan struct{}),
	}
	// The timer is set before p can be seen: a click may come the moment
	// the question is posted, and stops it.
	s := rt.s
	p.timer = time.AfterFunc(spec.timeout, func() { s.expire(p.id) })
	switch err := rt.pending.add(p); {
	case errors.Is(err, errTooManyForUser):
		p.timer.Stop()
		return refuse(fmt.Sprintf("You already have %d commands waiting for your confirmation: answer those first, or let them expire.", maxPendingPerUser))
	case err != nil:
		p.timer.Stop()
		return refuse("Too many commands are waiting for confirmations right now; try again in a few minutes.")
	}
	rt.metrics.pending.Set(float64(rt.pending.size()))
	ref, err := req.tr.Post(ctx, Message{Channel: req.Channel, ThreadTS: req.thread(), Text: question,
		Prompt: &Prompt{ID: p.id, Yes: "Confirm", No: "Cancel"}})
	if err != nil {
		p.timer.Stop()
		rt.pending.take(p.id)
		rt.metrics.pending.Set(float64(rt.pending.size()))
		close(p.posted)
		return fmt.Errorf("posting confirmation: %w", err)
	}
	p.ref = ref
	close(p.posted)
	return errParked
}

// click answers a button click. It runs on the transport's goroutine, so it
// only looks up and queues; notes are posted apart.
func (s *session) click(ev Event) {
	rt := s.rt
	if !strings.HasPrefix(ev.Action.ActionID, ConfirmActionID) {
		rt.logger.Debug("click on an unknown button ignored", "action_id", ev.Action.ActionID)
		s.done(ev)
		return
	}
	id, ans, _ := strings.Cut(ev.Action.Value, ":")
	note := func(text string) {
		s.async(ev, func() {
			s.post(s.ctx, ev, text)
			s.done(ev)
		})
	}
	p, ok := rt.pending.get(id)
	if !ok {
		if rt.decided.known(id) {
			note("This confirmation was answered already.")
		} else {
			note("This confirmation expired, run the command again.")
		}
		return
	}
	if !slices.Contains(p.users, ev.User) {
		note("Only <@" + p.users[0] + "> can answer this confirmation.")
		return
	}
	if p, ok = rt.pending.take(id); !ok {
		note("This confirmation was answered already.")
		return
	}
	rt.decided.first(id)
	rt.metrics.pending.Set(float64(rt.pending.size()))
	p.timer.Stop()
	if s.queue.pushAnswer(work{ev: ev, answer: &answer{p: p, yes: ans == answerYes, by: ev.User}}) {
		rt.metrics.queued.Inc()
		return
	}
	// Shutting down: the answer cannot run any more.
	s.async(ev, func() {
		s.closeQuestion(p, "not run: I'm restarting; run the command again in a minute.")
		s.done(ev)
	})
}

// resume runs (or drops) a parked command once its question is answered.
func (s *session) resume(w work) {
	a := w.answer
	p, req := a.p, a.p.req
	if !a.yes {
		s.closeQuestion(p, "cancelled.")
		s.notConfirmed(req)
		return
	}
	s.closeQuestion(p, "confirmed.")
	// A new request of the same command: the one that asked may still be
	// writing its audit line on another worker.
	s.serve(s.ctx, req.confirmedBy(a.by))
}

// expire cancels a question nobody answered in time.
func (s *session) expire(id string) {
	p, ok := s.rt.pending.take(id)
	if !ok {
		return // answered meanwhile
	}
	s.rt.metrics.pending.Set(float64(s.rt.pending.size()))
	s.closeQuestion(p, fmt.Sprintf("cancelled: no answer within %s.", p.timeout))
	s.notConfirmed(p.req)
}

// abandonPending closes the questions still open when the bot stops: their
// commands can no longer run, and nobody should click a dead button.
func (s *session) abandonPending() {
	all := s.rt.pending.takeAll()
	s.rt.metrics.pending.Set(0)
	var wg sync.WaitGroup
	for _, p := range all {
		p.timer.Stop()
		wg.Go(func() {
			s.closeQuestion(p, "not run: I restarted before an answer; run the command again.")
			s.notConfirmed(p.req)
		})
	}
	wg.Wait()
}

// closeQuestion edits p's question to say what became of it, so nobody
// clicks a stale button.
func (s *session) closeQuestion(p *pending, outcome string) {
	<-p.posted
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), noteTimeout)
	defer cancel()
	upd := Message{Channel: p.ref.Channel, ThreadTS: p.req.thread(), Text: p.question + "\n→ " + outcome}
	if err := s.tr.Update(ctx, p.ref, upd); err != nil {
		s.rt.metrics.errors.Counter("update").Inc()
		p.req.logger.Warn("updating confirmation", "err", err)
	}
}

// notConfirmed records a parked command that will not run.
func (s *session) notConfirmed(req *Request) {
	req.decision = decisionNotConfirmed
	s.rt.record(s.ctx, req, refuse("not confirmed"), 0)
}
