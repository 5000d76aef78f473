package slacktest

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"
)

// Event is an Events API event (the inner "event" of an event_callback)
// that someone in Slack caused. AppHomeOpened, ReactionAdded,
// MemberJoinedChannel, ChannelCreated and ChannelMessage make real-shaped
// ones of other types than mentions.
type Event struct {
	// Type is the event type; empty means app_mention. An app_mention or a
	// message carries a message's fields (text, blocks, ts, channel_type…);
	// any other type carries type, user and channel (if set) and event_ts,
	// and Fields for the rest.
	Type string
	// User is who wrote the message (for a bot, its bot user), or who
	// caused the event.
	User string
	// Channel is where; a D… id for a direct message.
	Channel string
	// ChannelType is sent for message events: channel, group, im or mpim.
	// Empty means im for a D… channel and channel otherwise.
	ChannelType string
	// Text is the message text, exactly as sent (Mention adds the <@UBOT>).
	Text string
	// TS is the message's ts; empty means a fresh one.
	TS string
	// ThreadTS is the parent's ts for a message in a thread.
	ThreadTS string
	// BotID is set for messages from bots (including the bot itself).
	BotID string
	// SubType is the message subtype, like bot_message or message_changed.
	SubType string
	// Fields are added to (or replace) the inner event's JSON fields, for
	// anything else, like "edited" or "message" of a message_changed.
	Fields map[string]any
	// EventID is the event_id; empty means a fresh one. Slack keeps it
	// across retries.
	EventID string
}

// callbackLocked completes ev and returns its event_callback payload.
func (s *Server) callbackLocked(ev Event) (Event, json.RawMessage) {
	if ev.Type == "" {
		ev.Type = "app_mention"
	}
	if ev.TS == "" {
		ev.TS = s.tsLocked()
	}
	if ev.EventID == "" {
		ev.EventID = fmt.Sprintf("Ev%08dFAKE", s.nextLocked())
	}
	message := ev.Type == "app_mention" || ev.Type == "message"
	if !message {
		return s.storeEventLocked(ev, s.otherEventLocked(ev))
	}
	inner := map[string]any{
		"type": ev.Type, "text": ev.Text, "ts": ev.TS, "channel": ev.Channel, "event_ts": ev.TS, "team": Team,
		"blocks": richText(ev.Text),
	}
	if ev.User != "" {
		inner["user"] = ev.User
		inner["client_msg_id"] = fmt.Sprintf("%08x-c11e-4a5e-9000-%012x", s.seq, s.seq)
	}
	if ev.Type == "message" {
		ct := ev.ChannelType
		if ct == "" {
			ct = "channel"
			if strings.HasPrefix(ev.Channel, "D") {
				ct = "im"
			}
		}
		inner["channel_type"] = ct
	}
	if ev.ThreadTS != "" {
		inner["thread_ts"] = ev.ThreadTS
	}
	if ev.BotID != "" {
		inner["bot_id"] = ev.BotID
		delete(inner, "client_msg_id")
	}
	if ev.SubType != "" {
		inner["subtype"] = ev.SubType
	}
	maps.Copy(inner, ev.Fields)
	if ev.SubType == "" || ev.SubType == "bot_message" || ev.SubType == "thread_broadcast" {
		s.history[key(ev.Channel, ev.TS)] = &histMsg{Channel: ev.Channel, TS: ev.TS, ThreadTS: ev.ThreadTS,
			User: ev.User, BotID: ev.BotID, Text: ev.Text, SubType: ev.SubType}
	}
	return s.storeEventLocked(ev, inner)
}

// otherEventLocked returns the inner event of an event that is no message.
func (s *Server) otherEventLocked(ev Event) map[string]any {
	inner := map[string]any{"type": ev.Type, "event_ts": ev.TS}
	if ev.User != "" {
		inner["user"] = ev.User
	}
	if ev.Channel != "" {
		inner["channel"] = ev.Channel
	}
	maps.Copy(inner, ev.Fields)
	switch ev.Type {
	case "app_home_opened": // carries the home tab the bot published for the user
		if v := s.views[s.homes[ev.User]]; v != nil && inner["tab"] == "home" && ev.Fields["view"] == nil {
			inner["view"] = v.wire()
		}
	case "reaction_added", "reaction_removed": // and the author of the message reacted to
		item, _ := inner["item"].(map[string]any)
		channel, _ := item["channel"].(string)
		ts, _ := item["ts"].(string)
		if h := s.history[key(channel, ts)]; h != nil && inner["item_user"] == nil {
			inner["item_user"] = h.User
		}
	}
	return inner
}

// storeEventLocked keeps ev, for Events and retries, and returns it with
// its event_callback payload around inner.
func (s *Server) storeEventLocked(ev Event, inner map[string]any) (Event, json.RawMessage) {
	payload := marshal(map[string]any{
		"token":      VerificationToken,
		"team_id":    Team,
		"api_app_id": AppID,
		"event":      inner,
		"type":       "event_callback",
		"event_id":   ev.EventID,
		"event_time": time.Now().Unix(),
		"authorizations": []map[string]any{{"enterprise_id": nil, "team_id": Team, "user_id": BotUser,
			"is_bot": true, "is_enterprise_install": false}},
		"is_ext_shared_channel": false,
		"event_context":         "4-fake-" + ev.EventID,
	})
	if s.events[ev.EventID] == nil {
		s.eventOrder = append(s.eventOrder, ev.EventID)
	}
	s.events[ev.EventID] = &storedEvent{event: ev, payload: payload}
	return ev, payload
}

// Events returns the events sent over Socket Mode or pushed over HTTP, in
// order, completed with the TS and EventID the fake gave them.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Event, 0, len(s.eventOrder))
	for _, id := range s.eventOrder {
		ev := s.events[id].event
		ev.Fields = maps.Clone(ev.Fields)
		out = append(out, ev)
	}
	return out
}

// richText returns the rich_text block Slack adds to messages typed in the
// client: user mentions become user elements, the rest text.
func richText(text string) []any {
	var els []any
	for text != "" {
		i := strings.Index(text, "<@")
		j := strings.Index(text[max(i, 0):], ">")
		if i < 0 || j < 0 {
			els = append(els, map[string]any{"type": "text", "text": text})
			break
		}
		if i > 0 {
			els = append(els, map[string]any{"type": "text", "text": text[:i]})
		}
		user, _, _ := strings.Cut(text[i+2:i+j], "|")
		els = append(els, map[string]any{"type": "user", "user_id": user})
		text = text[i+j+1:]
	}
	if len(els) == 0 {
		return []any{}
	}
	return []any{map[string]any{"type": "rich_text", "block_id": "fake",
		"elements": []any{map[string]any{"type": "rich_text_section", "elements": els}}}}
}

// SendEvent sends ev over Socket Mode in an events_api envelope and returns
// its event id and envelope id. It queues the envelope while no socket is
// open.
func (s *Server) SendEvent(ev Event) (eventID, envelopeID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev, payload := s.callbackLocked(ev)
	return ev.EventID, s.sendLocked("events_api", payload, ev.EventID, 0, "", nil)
}

// Mention sends an app_mention of the bot by user in channel, as a new
// message (not in a thread): its text is "<@UBOT> " + text. It returns the
// event id and the envelope id.
func (s *Server) Mention(user, channel, text string) (eventID, envelopeID string) {
	return s.SendEvent(Event{User: user, Channel: channel, Text: "<@" + BotUser + "> " + text})
}

// MentionInThread is Mention in the thread of threadTS.
func (s *Server) MentionInThread(user, channel, threadTS, text string) (eventID, envelopeID string) {
	return s.SendEvent(Event{User: user, Channel: channel, ThreadTS: threadTS, Text: "<@" + BotUser + "> " + text})
}

// DM sends a direct message from user to the bot in the IM channel (a D…
// id): a message event with channel_type im and text as is. It returns the
// event id and the envelope id.
func (s *Server) DM(user, channel, text string) (eventID, envelopeID string) {
	return s.SendEvent(Event{Type: "message", User: user, Channel: channel, ChannelType: "im", Text: text})
}

// BotMention sends an app_mention of the bot written by another bot: bot_id
// is botID and user its bot user, "U" + botID without its leading B. It
// returns the event id and the envelope id.
func (s *Server) BotMention(botID, channel, text string) (eventID, envelopeID string) {
	return s.SendEvent(Event{User: "U" + strings.TrimPrefix(botID, "B"), BotID: botID, Channel: channel,
		Text: "<@" + BotUser + "> " + text})
}

// Retry sends event eventID (sent before by SendEvent, Mention, DM,
// BotMention or PushEvent) again as Slack retries it: the same payload and
// event_id in a new envelope, with retry_attempt one more than last time and
// retry_reason "timeout". It returns the new envelope id and panics if the
// event is unknown.
func (s *Server) Retry(eventID string) (envelopeID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev := s.events[eventID]
	if ev == nil {
		panic(fmt.Sprintf("slacktest: Retry of unknown event %q", eventID))
	}
	ev.attempts++
	return s.sendLocked("events_api", ev.payload, eventID, ev.attempts, "timeout", nil)
}

// AppHomeOpened is user opening the app's Home tab: an app_home_opened
// event with tab "home", in the user's IM channel with the bot (D and the
// user id without its U), carrying the home view the bot published for
// them, if any.
func AppHomeOpened(user string) Event {
	return Event{Type: "app_home_opened", User: user, Channel: "D" + strings.TrimPrefix(user, "U"),
		Fields: map[string]any{"tab": "home"}}
}

// ReactionAdded is user adding the emoji reaction (a name, without colons)
// to the message at channel and ts: a reaction_added event, whose item_user
// is the message's author if the fake knows the message.
func ReactionAdded(user, reaction, channel, ts string) Event {
	return Event{Type: "reaction_added", User: user, Fields: map[string]any{"reaction": reaction,
		"item": map[string]any{"type": "message", "channel": channel, "ts": ts}}}
}

// MemberJoinedChannel is user joining channel (the bot itself, if user is
// BotUser): a member_joined_channel event, channel_type C for a public
// channel and G for a private one (a G… id).
func MemberJoinedChannel(user, channel string) Event {
	typ := "C"
	if strings.HasPrefix(channel, "G") {
		typ = "G"
	}
	return Event{Type: "member_joined_channel", User: user, Channel: channel, Fields: map[string]any{"channel_type": typ, "team": Team}}
}

// ChannelCreated is creator creating the public channel id named name: a
// channel_created event, whose channel is an object.
func ChannelCreated(id, name, creator string) Event {
	return Event{Type: "channel_created", Channel: id, Fields: map[string]any{"channel": map[string]any{
		"id": id, "name": name, "name_normalized": name, "is_channel": true, "created": time.Now().Unix(), "creator": creator}}}
}

// ChannelMessage is user writing text in channel without mentioning the
// bot: a message event (channel_type channel), which the bot gets if it
// subscribes to message.channels and is a member.
func ChannelMessage(user, channel, text string) Event {
	return Event{Type: "message", User: user, Channel: channel, Text: text}
}
