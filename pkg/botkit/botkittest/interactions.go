package botkittest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/botfleet/botfleet/pkg/botkit"
)

// View is a view the bot opened, pushed, updated or published.
type View struct {
	Op        string // open, push, update, publish
	ID        string
	TriggerID string // open and push
	User      string // publish: whose home tab
	Modal     *slack.ModalViewRequest
	Home      *slack.HomeTabViewRequest
}

// responsePrefix starts the response_urls the kit hands out; the user and
// channel follow, so that Respond knows whom an answer is for.
const responsePrefix = "https://response.botkittest.invalid/"

// OpenView implements botkit.Viewer. A trigger the kit did not hand out is
// refused, as Slack refuses one it does not know.
func (tr *Memory) OpenView(_ context.Context, triggerID string, v slack.ModalViewRequest) (botkit.ViewRef, error) {
	return tr.view("open", triggerID, "", &v)
}

// PushView implements botkit.Viewer.
func (tr *Memory) PushView(_ context.Context, triggerID string, v slack.ModalViewRequest) (botkit.ViewRef, error) {
	return tr.view("push", triggerID, "", &v)
}

// UpdateView implements botkit.Viewer.
func (tr *Memory) UpdateView(_ context.Context, ref botkit.ViewRef, v slack.ModalViewRequest) (botkit.ViewRef, error) {
	if ref.ID == "" {
		return botkit.ViewRef{}, errors.New("not_found")
	}
	return tr.view("update", "", ref.ID, &v)
}

// PublishHome implements botkit.Viewer.
func (tr *Memory) PublishHome(_ context.Context, user string, v slack.HomeTabViewRequest) error {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.seq++
	tr.views = append(tr.views, View{Op: "publish", ID: fmt.Sprintf("VHOME%06d", tr.seq), User: user, Home: &v})
	return nil
}

func (tr *Memory) view(op, trigger, id string, v *slack.ModalViewRequest) (botkit.ViewRef, error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if op != "update" && !strings.HasPrefix(trigger, "trigger-") {
		return botkit.ViewRef{}, errors.New("invalid_trigger_id")
	}
	tr.seq++
	if id == "" {
		id = fmt.Sprintf("V%06d", tr.seq)
	}
	tr.views = append(tr.views, View{Op: op, ID: id, TriggerID: trigger, Modal: v})
	return botkit.ViewRef{ID: id, Hash: fmt.Sprintf("h%d", tr.seq)}, nil
}

// Views returns the views the bot opened, pushed, updated and published,
// in order.
func (tr *Memory) Views() []View {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]View(nil), tr.views...)
}

// Respond implements botkit.Responder: an answer at a response_url the kit
// handed out is kept as a Reply with ResponseURL set (and Ephemeral, unless
// it is for the channel).
func (tr *Memory) Respond(_ context.Context, url string, r botkit.Response) error {
	rest, ok := strings.CutPrefix(url, responsePrefix)
	if !ok {
		return fmt.Errorf("unknown response_url %q", url)
	}
	user, channel, _ := strings.Cut(rest, "/")
	channel, _, _ = strings.Cut(channel, "/")
	reply := Reply{Channel: channel, Text: r.Text, ResponseURL: url, Update: r.ReplaceOriginal}
	if !r.InChannel {
		reply.Ephemeral = user
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.replies = append(tr.replies, reply)
	return nil
}

// ids hands out the trigger and response_url of one interaction.
func (tr *Transport) interactionIDs(user, channel string) (trigger, responseURL string) {
	n := tr.ids.Add(1)
	return fmt.Sprintf("trigger-%d", n), fmt.Sprintf("%s%s/%s/%d", responsePrefix, user, channel, n)
}

// Slash types the slash command (/deploy api main is Slash(t, "/deploy",
// "api main")) as User in Channel, waits until the bot is done, and returns
// what it answered at the command's response_url and posted in the
// channel.
func (tr *Transport) Slash(t testing.TB, command, text string) []Reply {
	t.Helper()
	return tr.SlashAs(t, User, command, text)
}

// SlashAs is Slash typed by user.
func (tr *Transport) SlashAs(t testing.TB, user, command, text string) []Reply {
	t.Helper()
	trigger, url := tr.interactionIDs(user, Channel)
	before := len(tr.Replies())
	tr.Send(t, botkit.Event{Kind: botkit.KindSlash, Slash: &botkit.Slash{Command: command}, Text: text,
		User: user, Channel: Channel, TriggerID: trigger, ResponseURL: url})
	return tr.Replies()[before:]
}

// Act clicks an interactive element as user: a posts a's choice (a button's
// value, a select's option), on the message a.MessageTS in channel, or in
// the view a.ViewID. It waits until the bot is done and returns what the
// bot posted meanwhile, in order.
func (tr *Transport) Act(t testing.TB, user, channel string, a botkit.Action) []Reply {
	t.Helper()
	trigger, url := tr.interactionIDs(user, channel)
	before := len(tr.Replies())
	if a.Type == "" {
		a.Type = "button"
	}
	tr.Send(t, botkit.Event{Kind: botkit.KindAction, ID: fmt.Sprintf("act-%d", tr.ids.Add(1)), Action: &a,
		User: user, Channel: channel, TriggerID: trigger, ResponseURL: url})
	return tr.Replies()[before:]
}

// Submit submits a modal as user and returns the bot's answer, which Slack
// would read from the acknowledgement: nil when the bot answered nothing
// (the modal closes), a botkit.ViewAnswer otherwise. It returns once the
// answer is in (a listener may work on after answering) and fails t when
// the bot took longer than botkit.AnswerBudget to answer.
func (tr *Transport) Submit(t testing.TB, user string, s botkit.Submission) botkit.Answer {
	t.Helper()
	return tr.answerOf(t, botkit.Event{Kind: botkit.KindView, Submission: &s, User: user})
}

// Options asks the bot for the options of the external select actionID,
// as user typing value, and returns them.
func (tr *Transport) Options(t testing.TB, user, actionID, value string) []botkit.Choice {
	t.Helper()
	a := tr.answerOf(t, botkit.Event{Kind: botkit.KindOptions, Suggestion: &botkit.Suggestion{ActionID: actionID, Value: value}, User: user})
	oa, _ := a.(botkit.OptionsAnswer)
	return oa.Choices
}

// answered delivers ev and returns the answer the bot gave within the
// budget Slack allows.
func (tr *Transport) answerOf(t testing.TB, ev botkit.Event) botkit.Answer {
	t.Helper()
	trigger, _ := tr.interactionIDs(ev.User, "")
	ev.TriggerID = trigger
	ev.ID = fmt.Sprintf("answer-%d", tr.ids.Add(1))
	answers := make(chan botkit.Answer, 1)
	ev.Answer = func(a botkit.Answer) {
		select {
		case answers <- a:
		default:
			t.Errorf("botkittest: the bot answered %s twice", ev.Kind)
		}
	}
	start := time.Now()
	tr.SendAsync(t, ev)
	select {
	case a := <-answers:
		if d := time.Since(start); d > botkit.AnswerBudget+100*time.Millisecond {
			t.Errorf("botkittest: the bot answered %s after %s, past the budget of %s", ev.Kind, d, botkit.AnswerBudget)
		}
		if va, ok := a.(botkit.ViewAnswer); ok && va.Errors == nil && va.Update == nil && va.Push == nil && !va.Clear {
			return nil
		}
		return a
	case <-time.After(30 * time.Second):
		t.Fatalf("botkittest: no answer to the %s within 30s", ev.Kind)
		return nil
	}
}

// Shortcut uses the global shortcut callbackID as user (a message shortcut
// when msg is set: the message it is used on, in Channel), waits until the
// bot is done, and returns what it posted.
func (tr *Transport) Shortcut(t testing.TB, user, callbackID string, msg *Reply) []Reply {
	t.Helper()
	sc := &botkit.Shortcut{CallbackID: callbackID}
	channel := ""
	if msg != nil {
		sc.MessageTS, sc.MessageText, channel = msg.TS, msg.Text, msg.Channel
	}
	trigger, url := tr.interactionIDs(user, channel)
	if msg == nil {
		url = "" // a global shortcut has no response_url
	}
	before := len(tr.Replies())
	tr.Send(t, botkit.Event{Kind: botkit.KindShortcut, ID: fmt.Sprintf("sc-%d", tr.ids.Add(1)), Shortcut: sc,
		User: user, Channel: channel, TriggerID: trigger, ResponseURL: url})
	return tr.Replies()[before:]
}

// SendEvent delivers an Events API event of type typ with the inner event
// fields (user, channel, and whatever else it carries), waits until the bot
// is done, and returns what it posted.
func (tr *Transport) SendEvent(t testing.TB, typ string, fields map[string]any) []Reply {
	t.Helper()
	inner := map[string]any{"type": typ}
	for k, v := range fields {
		inner[k] = v
	}
	raw, err := json.Marshal(inner)
	if err != nil {
		t.Fatal(err)
	}
	ev := botkit.Event{Kind: botkit.KindEvent, Raw: &botkit.RawEvent{Type: typ, JSON: raw}}
	ev.User, _ = fields["user"].(string)
	ev.Channel, _ = fields["channel"].(string)
	ev.BotID, _ = fields["bot_id"].(string)
	before := len(tr.Replies())
	tr.Send(t, ev)
	return tr.Replies()[before:]
}

// OpenHome opens the bot's App Home tab as user and returns the view the
// bot published for them.
func (tr *Transport) OpenHome(t testing.TB, user string) slack.HomeTabViewRequest {
	t.Helper()
	tr.SendEvent(t, "app_home_opened", map[string]any{"user": user, "channel": "D" + strings.TrimPrefix(user, "U"), "tab": "home"})
	views := tr.Views()
	for i := len(views) - 1; i >= 0; i-- {
		if v := views[i]; v.Op == "publish" && v.User == user {
			return *v.Home
		}
	}
	t.Fatalf("botkittest: no home tab was published for %s", user)
	return slack.HomeTabViewRequest{}
}

// BlockTexts returns the text of each block that has some (sections,
// headers, context), for assertions on views and messages.
func BlockTexts(blocks []slack.Block) []string {
	var out []string
	for _, b := range blocks {
		switch b := b.(type) {
		case *slack.SectionBlock:
			if b.Text != nil {
				out = append(out, b.Text.Text)
			}
		case *slack.HeaderBlock:
			if b.Text != nil {
				out = append(out, b.Text.Text)
			}
		case *slack.ContextBlock:
			for _, e := range b.ContextElements.Elements {
				if tx, ok := e.(*slack.TextBlockObject); ok {
					out = append(out, tx.Text)
				}
			}
		case *slack.InputBlock:
			if b.Label != nil {
				out = append(out, b.Label.Text)
			}
		}
	}
	return out
}
