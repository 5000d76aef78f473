package botkit

import (
	"context"
	"encoding/json"

	"github.com/slack-go/slack"
)

// Kind is what started a request: a message, a slash command, a click, a
// form, a shortcut or another event.
type Kind uint8

// Kinds of requests. A Command (registered with Bot.Command) runs for
// KindMessage and KindSlash; the other kinds have listeners of their own.
const (
	KindMessage  Kind = iota // a mention, a direct message, a console line
	KindSlash                // a slash command: /deploy api main
	KindAction               // a click: a button, a select, an overflow menu, a date picker
	KindView                 // a modal submitted, or closed
	KindShortcut             // a global or message shortcut
	KindEvent                // any other Events API event the app subscribes to
	KindOptions              // an external select asking for its options
	KindSchedule             // a scheduled job's tick (Bot.Schedule)
	KindWebhook              // a verified request to one of the bot's webhooks (Webhook)
)

func (k Kind) String() string {
	switch k {
	case KindMessage:
		return "message"
	case KindSlash:
		return "slash"
	case KindAction:
		return "action"
	case KindView:
		return "view"
	case KindShortcut:
		return "shortcut"
	case KindEvent:
		return "event"
	case KindOptions:
		return "options"
	case KindSchedule:
		return "schedule"
	case KindWebhook:
		return "webhook"
	}
	return "unknown"
}

// Action is a click on an interactive element the bot posted (a button, a
// select, an overflow menu, a date picker), as a transport delivers it in
// an Event.
type Action struct {
	ActionID string
	BlockID  string
	// Type is Slack's element type: button, static_select,
	// external_select, overflow, datepicker, users_select, ...
	Type string
	// Value is what was chosen: a button's value, the selected option's
	// value, the date (YYYY-MM-DD), the user or channel ID.
	Value string
	// Values holds the choices of a multi select.
	Values []string
	// MessageTS is the message whose element was clicked; ViewID the
	// modal or home tab, when it was clicked there.
	MessageTS string
	ViewID    string
}

// Slash is a slash command as Slack sends it: /deploy api main is Command
// "/deploy" with the Event's Text "api main".
type Slash struct {
	Command string
}

// Submission is a modal submitted (or closed, with NotifyOnClose): its
// callback ID names the View listener, Values its inputs.
type Submission struct {
	ViewID          string
	CallbackID      string
	Hash            string
	PrivateMetadata string
	Closed          bool // view_closed: the user closed it without submitting
	// Values are the inputs by block ID (a view's block IDs are unique),
	// then action ID.
	Values map[string]map[string]FieldValue
	// Inputs are the input blocks' IDs in the view's order: an answer
	// that must keep the modal open puts its note beside the first.
	Inputs []string
}

// FieldValue is one input of a submitted modal.
type FieldValue struct {
	Type   string   // plain_text_input, static_select, datepicker, users_select...
	Value  string   // the text, or the selected option's value, date, user...
	Values []string // a multi select's
}

// Shortcut is a global or message shortcut.
type Shortcut struct {
	CallbackID string
	// MessageTS and MessageText are set for a message shortcut: the
	// message it was used on.
	MessageTS   string
	MessageText string
}

// RawEvent is an Events API event with no listener kind of its own:
// reaction_added, member_joined_channel, channel_created, app_home_opened...
type RawEvent struct {
	Type string
	JSON json.RawMessage // the inner event, as Slack sent it
}

// Suggestion asks for the options of an external select.
type Suggestion struct {
	ActionID string
	BlockID  string
	Value    string // what the user typed so far
}

// Answer is what an interaction that Slack reads an answer from (a modal
// submission, an options request) answers in its acknowledgement: a
// ViewAnswer or an OptionsAnswer.
type Answer interface{ answer() }

// ViewAnswer answers a modal submission. The zero value closes the modal.
type ViewAnswer struct {
	// Errors keeps the modal open with these messages beside the inputs,
	// by block ID.
	Errors map[string]string
	// Update replaces the modal; Push puts a modal on top of it. Clear
	// closes every modal of the stack.
	Update *slack.ModalViewRequest
	Push   *slack.ModalViewRequest
	Clear  bool
}

func (ViewAnswer) answer() {}

// Choice is one option of a select.
type Choice struct {
	Text  string
	Value string
}

// OptionsAnswer answers an external select's options request.
type OptionsAnswer struct {
	Choices []Choice
}

func (OptionsAnswer) answer() {}

// FieldErrors is an error a View listener returns to keep the modal open
// with messages beside its inputs, by block ID: the user fixes them and
// submits again.
type FieldErrors map[string]string

func (e FieldErrors) Error() string {
	for k, v := range e {
		return "invalid " + k + ": " + v
	}
	return "invalid form"
}

// ViewRef names an open view, for UpdateView.
type ViewRef struct {
	ID   string
	Hash string
}

// Viewer is implemented by transports that can open and change views:
// modals (from a trigger ID, which Slack lets be used once, within 3
// seconds of the interaction that issued it) and the App Home tab.
type Viewer interface {
	OpenView(ctx context.Context, triggerID string, v slack.ModalViewRequest) (ViewRef, error)
	PushView(ctx context.Context, triggerID string, v slack.ModalViewRequest) (ViewRef, error)
	UpdateView(ctx context.Context, ref ViewRef, v slack.ModalViewRequest) (ViewRef, error)
	PublishHome(ctx context.Context, user string, v slack.HomeTabViewRequest) error
}

// Responder is implemented by transports that can answer through an
// interaction's response_url (slash commands, clicks, message shortcuts).
type Responder interface {
	Respond(ctx context.Context, responseURL string, r Response) error
}

// Response is a message sent to a response_url.
type Response struct {
	Text            string
	Blocks          []slack.Block
	InChannel       bool // seen by the channel; else only by the user (ephemeral)
	ReplaceOriginal bool // replaces the message the response_url belongs to
}
