package botkit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slack-go/slack"
)

// ErrNoViews is returned by OpenView and friends on a transport that cannot
// show views, or a request with no trigger ID to open one from.
var ErrNoViews = errors.New("this request cannot open a view")

// Action returns the click a KindAction request is about, or nil.
func (r *Request) Action() *Action { return r.ev.Action }

// Submission returns the modal a KindView request is about, or nil.
func (r *Request) Submission() *Submission { return r.ev.Submission }

// Shortcut returns the shortcut a KindShortcut request is about, or nil.
func (r *Request) Shortcut() *Shortcut { return r.ev.Shortcut }

// Event returns the Events API event a KindEvent request is about, or nil.
func (r *Request) Event() *RawEvent { return r.ev.Raw }

// Suggestion returns what an external select asks options for, or nil.
func (r *Request) Suggestion() *Suggestion { return r.ev.Suggestion }

// Field returns the value of a submitted modal's input in block blockID
// (its only element's, or the first): the text typed, the option, date,
// user or channel chosen; "" when there is none.
func (r *Request) Field(blockID string) string {
	if v, ok := r.field(blockID); ok {
		return v.Value
	}
	return ""
}

// Fields returns the values of a multi select in block blockID.
func (r *Request) Fields(blockID string) []string {
	if v, ok := r.field(blockID); ok {
		return v.Values
	}
	return nil
}

func (r *Request) field(blockID string) (FieldValue, bool) {
	s := r.ev.Submission
	if s == nil {
		return FieldValue{}, false
	}
	for _, v := range s.Values[blockID] {
		return v, true
	}
	return FieldValue{}, false
}

// Answer answers an interaction in Slack's acknowledgement: a modal
// submission (ViewAnswer) or an options request (OptionsAnswer). The first
// answer counts; later ones, and answers to requests that take none, are
// ignored, reported false. A handler that answers early may go on working.
func (r *Request) Answer(a Answer) bool {
	if r.answer == nil || !r.answered.CompareAndSwap(false, true) {
		return false
	}
	r.answer(a)
	return true
}

// triggerLife is how long Slack takes a trigger ID after the interaction
// that issued it; a call after it can only fail (expired_trigger_id).
const triggerLife = 3 * time.Second

// OpenView opens a modal from the request's trigger ID. Slack takes a
// trigger once, within 3 seconds of the interaction: open the modal first,
// then do slow work. OpenView gives up when the trigger expires (a 429's
// Retry-After can outlast it); the error is then a UserError telling the
// user to try again, since nothing on their side went wrong.
func (r *Request) OpenView(ctx context.Context, v slack.ModalViewRequest) (ViewRef, error) {
	vw, ok := r.tr.(Viewer)
	if !ok || r.TriggerID == "" {
		return ViewRef{}, ErrNoViews
	}
	ctx, cancel := context.WithDeadline(ctx, r.received.Add(triggerLife))
	defer cancel()
	ref, err := vw.OpenView(ctx, r.TriggerID, v)
	if err != nil {
		err = fmt.Errorf("opening view %s: %w", v.CallbackID, err)
		if ctx.Err() != nil || triggerGone(err) {
			return ref, &UserError{Msg: "Slack was too busy to open the form in time; try again in a moment.", Err: err}
		}
		return ref, err
	}
	return ref, nil
}

// triggerGone reports whether Slack refused a trigger as expired or used.
func triggerGone(err error) bool {
	var se slack.SlackErrorResponse
	return errors.As(err, &se) && (se.Err == "expired_trigger_id" || se.Err == "exchanged_trigger_id")
}

// PushView puts a modal on top of the open one, from the request's trigger
// ID (a click in a modal).
func (r *Request) PushView(ctx context.Context, v slack.ModalViewRequest) (ViewRef, error) {
	vw, ok := r.tr.(Viewer)
	if !ok || r.TriggerID == "" {
		return ViewRef{}, ErrNoViews
	}
	ref, err := vw.PushView(ctx, r.TriggerID, v)
	if err != nil {
		return ref, fmt.Errorf("pushing view %s: %w", v.CallbackID, err)
	}
	return ref, nil
}

// UpdateView replaces an open modal; ref's hash, when set, makes Slack
// refuse an update of a view that changed meanwhile.
func (r *Request) UpdateView(ctx context.Context, ref ViewRef, v slack.ModalViewRequest) (ViewRef, error) {
	vw, ok := r.tr.(Viewer)
	if !ok {
		return ViewRef{}, ErrNoViews
	}
	out, err := vw.UpdateView(ctx, ref, v)
	if err != nil {
		return out, fmt.Errorf("updating view %s: %w", ref.ID, err)
	}
	return out, nil
}
