package botkit

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultConfirmTimeout is how long Confirm waits for an answer.
const DefaultConfirmTimeout = 5 * time.Minute

// Prompt asks a yes/no question with buttons. Transports render it: Slack as
// Block Kit buttons, the console as a y/n question. A click comes back as an
// Event whose Action carries the button's value.
type Prompt struct {
	ID  string // identifies the question; buttons carry ID:yes and ID:no
	Yes string // the confirm button's label
	No  string // the cancel button's label
}

// Action is a click on a button, as a transport delivers it in an Event.
type Action struct {
	ActionID string
	Value    string
	// MessageTS is the message whose button was clicked.
	MessageTS string
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

// ConfirmOption configures a confirmation.
type ConfirmOption func(*confirmOpts)

type confirmOpts struct {
	timeout time.Duration
	users   []string
}

// ConfirmTimeout sets how long to wait for an answer (default 5 minutes); no
// answer counts as cancel.
func ConfirmTimeout(d time.Duration) ConfirmOption { return func(o *confirmOpts) { o.timeout = d } }

// ConfirmUsers lets these users answer too, besides the requester.
func ConfirmUsers(ids ...string) ConfirmOption {
	return func(o *confirmOpts) { o.users = append(o.users, ids...) }
}

// pending is a question waiting for its answer.
type pending struct {
	users  []string
	answer chan bool // buffered 1; written once
}

// confirmations holds the bot's open questions. It is safe for concurrent use.
type confirmations struct {
	mu   sync.Mutex
	open map[string]*pending
}

// Confirm posts prompt in the command's thread with Confirm and Cancel
// buttons and waits for the answer: true only if the requester (or a user
// given with ConfirmUsers) clicked Confirm. A click from anyone else is
// refused and the question stays open; the first valid click answers it.
// No answer within the timeout, or ctx ending, counts as cancel. Either way
// the prompt is edited to show the outcome, so nobody clicks a stale button.
func (r *Request) Confirm(ctx context.Context, prompt string, opts ...ConfirmOption) (bool, error) {
	o := confirmOpts{timeout: DefaultConfirmTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	id := "c" + newCorrelationID() + newCorrelationID()
	p := &pending{users: append([]string{r.User}, o.users...), answer: make(chan bool, 1)}
	r.bot.confirms.add(id, p)
	defer r.bot.confirms.remove(id)

	msg := Message{Channel: r.Channel, ThreadTS: r.thread(), Text: prompt, Prompt: &Prompt{ID: id, Yes: "Confirm", No: "Cancel"}}
	ref, err := r.tr.Post(ctx, msg)
	if err != nil {
		return false, fmt.Errorf("posting confirmation: %w", err)
	}
	timer := time.NewTimer(o.timeout)
	defer timer.Stop()
	var ok bool
	var outcome string
	select {
	case ok = <-p.answer:
		outcome = "cancelled."
		if ok {
			outcome = "confirmed."
		}
	case <-timer.C:
		outcome = fmt.Sprintf("cancelled: no answer within %s.", o.timeout)
	case <-ctx.Done():
		outcome = "cancelled: the command stopped."
	}
	// The edit must happen even when ctx is done, so the buttons go away.
	upd := Message{Channel: ref.Channel, ThreadTS: r.thread(), Text: prompt + "\n→ " + outcome}
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := r.tr.Update(uctx, ref, upd); err != nil {
		r.logger.Warn("updating confirmation", "err", err)
	}
	return ok, nil
}

func (c *confirmations) add(id string, p *pending) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.open == nil {
		c.open = map[string]*pending{}
	}
	c.open[id] = p
}

func (c *confirmations) remove(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.open, id)
}

// answer records a click and returns the note for the clicker ("" when the
// click answered the question).
func (c *confirmations) answer(user, value string) string {
	id, ans, _ := strings.Cut(value, ":")
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.open[id]
	if !ok {
		return "This confirmation expired, run the command again."
	}
	if !slices.Contains(p.users, user) {
		return "Only <@" + p.users[0] + "> can answer this confirmation."
	}
	delete(c.open, id)
	p.answer <- ans == answerYes
	return ""
}

// handleAction answers a button click. It runs on the transport's
// goroutine, so it only looks up and signals; notes are posted apart.
func (b *Bot) handleAction(ctx context.Context, tr Transport, ev Event, post func(func())) {
	if !strings.HasPrefix(ev.Action.ActionID, ConfirmActionID) {
		b.logger.Debug("click on an unknown button ignored", "action_id", ev.Action.ActionID)
		b.done(ev)
		return
	}
	note := b.confirms.answer(ev.User, ev.Action.Value)
	if note == "" {
		b.done(ev)
		return
	}
	post(func() {
		thread := ev.ThreadTS
		if thread == "" {
			thread = ev.Action.MessageTS
		}
		if _, err := tr.Post(ctx, Message{Channel: ev.Channel, ThreadTS: thread, Text: note, EphemeralUser: ev.User}); err != nil {
			b.metrics.errors.Counter("post").Inc()
			b.logger.Error("posting confirmation note", "channel", ev.Channel, "err", err)
		}
		b.done(ev)
	})
}
