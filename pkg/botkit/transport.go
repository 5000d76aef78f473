package botkit

import (
	"context"
	"time"

	"github.com/slack-go/slack"
)

// Event is what a transport received: a message that may hold a command (a
// mention of the bot or a direct message), or an interaction (a slash
// command, a click, a modal submitted, a shortcut, another Events API
// event, an options request). Kind tells which; the field of that kind is
// set.
type Event struct {
	Kind Kind
	// ID identifies the event across deliveries: Slack's event_id, which a
	// retry keeps. Events with an ID already seen are dropped. Empty means
	// the transport cannot tell, and the event is never deduplicated.
	ID       string
	Text     string // raw Slack text, markup and all
	User     string // Slack user ID of the author
	Channel  string
	TS       string // the message's own timestamp
	ThreadTS string // the thread it was posted in, if any
	// BotID is set when a bot (this one included) wrote the message;
	// Subtype is set for edits, joins and other non-plain messages. Either
	// makes the event ignored, so bots never answer bots or edits.
	BotID   string
	Subtype string
	// Action is set for KindAction: a click on an element the bot posted
	// (a confirmation's buttons among them); Text is then empty.
	Action *Action
	// Slash is set for KindSlash; Text is the command's text.
	Slash *Slash
	// Submission is set for KindView.
	Submission *Submission
	// Shortcut is set for KindShortcut.
	Shortcut *Shortcut
	// Raw is set for KindEvent.
	Raw *RawEvent
	// Suggestion is set for KindOptions.
	Suggestion *Suggestion
	// Webhook is set for KindWebhook.
	Webhook *Delivery
	// TriggerID opens a modal (within 3 seconds, once); ResponseURL
	// answers the interaction (slash commands, clicks, message shortcuts).
	TriggerID   string
	ResponseURL string
	// Answer is set by the transport for interactions Slack reads an
	// answer from (KindView, KindOptions): the bot calls it once, within
	// AnswerBudget, and the transport acknowledges with it.
	Answer func(Answer)
	// Ack, when the transport sets it, acknowledges the event to its
	// source: the bot calls it once, when it has recorded the event (at
	// once without a state directory; after the record is written and
	// synced in the state directory's inbox with one), and never for an
	// event it leaves to the source to send again (one delivered while
	// it shuts down). It may be called from any goroutine, so acks may
	// go out in another order than the events came. Transports
	// acknowledge the events they set no Ack on before delivering them.
	Ack func()

	// inbox is the event's record in the inbox, once recorded.
	inbox *inboxEntry
}

// ack calls ev.Ack once, if set.
func (ev *Event) ack() {
	if ev.Ack != nil {
		ev.Ack()
		ev.Ack = nil
	}
}

// AnswerBudget is how long the bot takes to answer an interaction whose
// acknowledgement carries the answer. Slack waits 3 seconds; the rest is for
// the network. Past it the bot answers in time anyway: a modal keeps its
// inputs with a note to try again, a select shows no options.
const AnswerBudget = 2500 * time.Millisecond

// Message is what a bot posts. Text is Slack mrkdwn: use Escape for text
// that came from users.
type Message struct {
	Channel  string
	ThreadTS string // reply in this thread; empty posts to the channel
	Text     string
	// EphemeralUser, when set, shows the message to that user only.
	EphemeralUser string
	// Blocks, when set, are Block Kit blocks shown instead of Text (which
	// remains the notification text and the console's rendering).
	Blocks []slack.Block
	// Prompt, when set, asks a yes/no question with buttons (Confirm).
	Prompt *Prompt
}

// File is a text file a bot uploads, such as a long log.
type File struct {
	Channel  string
	ThreadTS string
	Name     string // file name, e.g. deploy-42.log
	Content  string
	Comment  string // message posted with the file
}

// Uploader is implemented by transports that can upload files; others get
// the content as a (cut) message instead.
type Uploader interface {
	Upload(ctx context.Context, f File) error
}

// MessageRef names a posted message so that it can be updated.
type MessageRef struct {
	Channel string
	TS      string
	url     string // a message posted through a response_url, which has no ts
}

// Poster posts and edits messages: the half of a Transport that a bot uses
// outside a command, in OnStart. Implementations are safe for concurrent use.
type Poster interface {
	// Post sends a message and returns its reference.
	Post(ctx context.Context, m Message) (MessageRef, error)
	// Update replaces the text of a message posted earlier.
	Update(ctx context.Context, ref MessageRef, m Message) error
}

// Transport connects a Bot to Slack, a terminal or a test. Implementations
// must be safe for concurrent use: Post and Update are called from many
// handlers at once.
type Transport interface {
	// Listen receives events and calls deliver for each, after the event has
	// been acknowledged to its source or with Event.Ack set, which the bot
	// calls once it has recorded the event; deliver never blocks for long. Listen
	// returns nil when its input ends (end of file on a console) and, when
	// ctx is cancelled, closes its connection first, so no new events
	// arrive, and then returns ctx's error. After Listen returns, it calls
	// deliver no more.
	Listen(ctx context.Context, deliver func(context.Context, Event)) error
	Poster
}

// Readier is implemented by transports that can be connected or not, such as
// a websocket; the health server reports the bot not ready while Ready
// returns an error.
type Readier interface {
	Ready() error
}
