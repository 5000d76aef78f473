package slack

import (
	"encoding/json"
	"strings"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/botfleet/botfleet/pkg/botkit"
)

// Interaction turns an interactive payload (a click, a modal submitted or
// closed, a shortcut, an options request) into a botkit event; ok is false
// for kinds botkit does not take (legacy dialogs, workflow steps).
func Interaction(cb slack.InteractionCallback) (ev botkit.Event, ok bool) {
	ev.User, ev.Channel = cb.User.ID, cb.Channel.ID
	if ev.Channel == "" {
		ev.Channel = cb.Container.ChannelID
	}
	ev.TriggerID, ev.ResponseURL = cb.TriggerID, cb.ResponseURL
	switch cb.Type {
	case slack.InteractionTypeBlockActions:
		if len(cb.ActionCallback.BlockActions) == 0 {
			return ev, false
		}
		a := cb.ActionCallback.BlockActions[0]
		ev.Kind = botkit.KindAction
		ev.ThreadTS = cb.Message.ThreadTimestamp
		ev.Action = &botkit.Action{ActionID: a.ActionID, BlockID: a.BlockID, Type: string(a.Type), MessageTS: cb.Message.Timestamp, ViewID: cb.View.ID}
		ev.Action.Value, ev.Action.Values = chosen(a)
		if ev.Action.MessageTS == "" {
			ev.Action.MessageTS = cb.Container.MessageTs
		}
		// A click carries no id of its own; its action_ts tells two apart.
		ev.ID = "click:" + a.ActionTs
		if a.ActionTs == "" {
			ev.ID = ""
		}
	case slack.InteractionTypeViewSubmission, slack.InteractionTypeViewClosed:
		ev.Kind = botkit.KindView
		ev.Submission = submission(cb.View)
		ev.Submission.Closed = cb.Type == slack.InteractionTypeViewClosed
	case slack.InteractionTypeShortcut:
		ev.Kind = botkit.KindShortcut
		ev.Shortcut = &botkit.Shortcut{CallbackID: cb.CallbackID}
	case slack.InteractionTypeMessageAction:
		ev.Kind = botkit.KindShortcut
		ev.Shortcut = &botkit.Shortcut{CallbackID: cb.CallbackID, MessageTS: cb.Message.Timestamp, MessageText: cb.Message.Text}
		ev.ThreadTS = cb.Message.ThreadTimestamp
	case slack.InteractionTypeBlockSuggestion:
		ev.Kind = botkit.KindOptions
		ev.Suggestion = &botkit.Suggestion{ActionID: cb.ActionID, BlockID: cb.BlockID, Value: cb.Value}
	default:
		return ev, false
	}
	return ev, true
}

// chosen is what an element's action chose: a button's value, the option,
// date, time, user or conversation picked, or a multi select's.
func chosen(a *slack.BlockAction) (string, []string) {
	switch {
	case a.SelectedOption.Value != "":
		return a.SelectedOption.Value, nil
	case len(a.SelectedOptions) > 0:
		vs := make([]string, len(a.SelectedOptions))
		for i, o := range a.SelectedOptions {
			vs[i] = o.Value
		}
		return "", vs
	case a.SelectedDate != "":
		return a.SelectedDate, nil
	case a.SelectedTime != "":
		return a.SelectedTime, nil
	case a.SelectedUser != "":
		return a.SelectedUser, nil
	case a.SelectedChannel != "":
		return a.SelectedChannel, nil
	case a.SelectedConversation != "":
		return a.SelectedConversation, nil
	case len(a.SelectedUsers) > 0:
		return "", a.SelectedUsers
	case len(a.SelectedChannels) > 0:
		return "", a.SelectedChannels
	case len(a.SelectedConversations) > 0:
		return "", a.SelectedConversations
	}
	return a.Value, nil
}

// submission turns a submitted view's state into typed values.
func submission(v slack.View) *botkit.Submission {
	s := &botkit.Submission{ViewID: v.ID, CallbackID: v.CallbackID, Hash: v.Hash, PrivateMetadata: v.PrivateMetadata,
		Values: map[string]map[string]botkit.FieldValue{}}
	if v.State != nil {
		for block, actions := range v.State.Values {
			m := make(map[string]botkit.FieldValue, len(actions))
			for id, a := range actions {
				val, vals := chosen(&a)
				m[id] = botkit.FieldValue{Type: string(a.Type), Value: val, Values: vals}
			}
			s.Values[block] = m
		}
	}
	for _, b := range v.Blocks.BlockSet {
		if in, ok := b.(*slack.InputBlock); ok && in.BlockID != "" {
			s.Inputs = append(s.Inputs, in.BlockID)
		}
	}
	return s
}

// Event turns an Events API callback into a botkit event. A mention
// (app_mention) or a direct message (message.im) is a KindMessage; other
// channel messages are not taken (mentions in channels arrive as
// app_mention, so taking them too would run them twice); any other event
// is a KindEvent with its JSON. ok is false for what is not a callback.
func (c *Client) Event(outer slackevents.EventsAPIEvent) (ev botkit.Event, ok bool) {
	if outer.Type != slackevents.CallbackEvent {
		return ev, false
	}
	var raw json.RawMessage
	if cb, isCB := outer.Data.(*slackevents.EventsAPICallbackEvent); isCB {
		ev.ID = cb.EventID
		if cb.InnerEvent != nil {
			raw = *cb.InnerEvent
		}
	}
	switch e := outer.InnerEvent.Data.(type) {
	case *slackevents.AppMentionEvent:
		ev.Text, ev.User, ev.Channel, ev.TS, ev.ThreadTS, ev.BotID = e.Text, e.User, e.Channel, e.TimeStamp, e.ThreadTimeStamp, e.BotID
	case *slackevents.MessageEvent:
		if e.ChannelType != "im" {
			return ev, false
		}
		ev.Text, ev.User, ev.Channel, ev.TS, ev.ThreadTS, ev.BotID, ev.Subtype = e.Text, e.User, e.Channel, e.TimeStamp, e.ThreadTimeStamp, e.BotID, e.SubType
	default:
		typ := outer.InnerEvent.Type
		if typ == "" || strings.HasPrefix(typ, "message") {
			return ev, false
		}
		ev.Kind = botkit.KindEvent
		ev.Raw = &botkit.RawEvent{Type: typ, JSON: raw}
		var common struct {
			User    json.RawMessage `json:"user"` // a string, or an object (user_change)
			Channel json.RawMessage `json:"channel"`
			BotID   string          `json:"bot_id"`
			TS      string          `json:"event_ts"`
		}
		if json.Unmarshal(raw, &common) == nil {
			ev.User, ev.Channel, ev.BotID, ev.TS = jsonString(common.User), jsonString(common.Channel), common.BotID, common.TS
		}
	}
	if self := c.Self(); self.UserID != "" && ev.User == self.UserID {
		ev.BotID = self.BotID // our own doing: never a command, never an event to act on
		if ev.BotID == "" {
			ev.BotID = "self"
		}
	}
	return ev, true
}

// jsonString returns raw when it is a JSON string, else "".
func jsonString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// Slash turns a slash command into a botkit event.
func Slash(sc slack.SlashCommand) botkit.Event {
	return botkit.Event{Kind: botkit.KindSlash, Slash: &botkit.Slash{Command: sc.Command}, Text: sc.Text,
		User: sc.UserID, Channel: sc.ChannelID, TriggerID: sc.TriggerID, ResponseURL: sc.ResponseURL}
}

// answerPayload is an answer as Slack reads it from an ack or a response
// body; nil for an empty one (a modal closes).
func answerPayload(a botkit.Answer) any {
	switch a := a.(type) {
	case botkit.ViewAnswer:
		switch {
		case len(a.Errors) > 0:
			return slack.NewErrorsViewSubmissionResponse(a.Errors)
		case a.Update != nil:
			return slack.NewUpdateViewSubmissionResponse(a.Update)
		case a.Push != nil:
			return slack.NewPushViewSubmissionResponse(a.Push)
		case a.Clear:
			return slack.NewClearViewSubmissionResponse()
		}
		return nil
	case botkit.OptionsAnswer:
		opts := make([]*slack.OptionBlockObject, len(a.Choices))
		for i, c := range a.Choices {
			opts[i] = slack.NewOptionBlockObject(c.Value, slack.NewTextBlockObject(slack.PlainTextType, clipText(c.Text, 75), false, false), nil)
		}
		return slack.OptionsResponse{Options: opts}
	}
	return nil
}

// clipText cuts s to n characters (Slack's limit for an option's text).
func clipText(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
