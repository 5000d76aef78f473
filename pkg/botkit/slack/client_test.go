package slack

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/botfleet/botfleet/pkg/botkit"
)

func parse(t *testing.T, raw string) slackevents.EventsAPIEvent {
	t.Helper()
	ev, err := slackevents.ParseEvent(json.RawMessage(raw), slackevents.OptionNoVerifyToken())
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestEvent(t *testing.T) {
	c := NewClient(Config{})
	c.self.Store(&Identity{UserID: "UBOT", BotID: "BBOT"})
	wrap := func(inner string) string {
		return `{"type":"event_callback","event_id":"Ev1","team_id":"T1","event":` + inner + `}`
	}
	tests := []struct {
		name, inner string
		ok          bool
		want        botkit.Event
	}{
		{"mention", `{"type":"app_mention","user":"U1","text":"<@UBOT> ping","ts":"1.1","channel":"C1"}`, true,
			botkit.Event{ID: "Ev1", Text: "<@UBOT> ping", User: "U1", Channel: "C1", TS: "1.1"}},
		{"mention in thread", `{"type":"app_mention","user":"U1","text":"<@UBOT> ping","ts":"1.2","thread_ts":"1.0","channel":"C1"}`, true,
			botkit.Event{ID: "Ev1", Text: "<@UBOT> ping", User: "U1", Channel: "C1", TS: "1.2", ThreadTS: "1.0"}},
		{"bot mention", `{"type":"app_mention","user":"U2","bot_id":"B2","text":"<@UBOT> ping","ts":"1.3","channel":"C1"}`, true,
			botkit.Event{ID: "Ev1", Text: "<@UBOT> ping", User: "U2", Channel: "C1", TS: "1.3", BotID: "B2"}},
		{"direct message", `{"type":"message","channel_type":"im","user":"U1","text":"ping","ts":"2.1","channel":"D1"}`, true,
			botkit.Event{ID: "Ev1", Text: "ping", User: "U1", Channel: "D1", TS: "2.1"}},
		{"edit", `{"type":"message","channel_type":"im","subtype":"message_changed","ts":"2.2","channel":"D1"}`, true,
			botkit.Event{ID: "Ev1", Channel: "D1", TS: "2.2", Subtype: "message_changed"}},
		{"own message", `{"type":"message","channel_type":"im","user":"UBOT","text":"pong","ts":"2.3","channel":"D1"}`, true,
			botkit.Event{ID: "Ev1", Text: "pong", User: "UBOT", Channel: "D1", TS: "2.3", BotID: "BBOT"}},
		{"channel message", `{"type":"message","channel_type":"channel","user":"U1","text":"<@UBOT> ping","ts":"3.1","channel":"C1"}`, false, botkit.Event{}},
		{"other event", `{"type":"reaction_added","user":"U1","reaction":"x","item":{}}`, false, botkit.Event{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := c.Event(parse(t, wrap(tt.inner)))
			if ok != tt.ok || (ok && got != tt.want) {
				t.Errorf("Event = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestBlocks(t *testing.T) {
	m := botkit.Message{Text: "Deploy?", Prompt: &botkit.Prompt{ID: "c1", Yes: "Confirm", No: "Cancel"}}
	js, err := json.Marshal(slack.Blocks{BlockSet: Blocks(m)})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"action_id":"botkit_confirm_yes"`, `"value":"c1:yes"`, `"action_id":"botkit_confirm_no"`, `"value":"c1:no"`, `"style":"primary"`, `"text":"Deploy?"`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("blocks lack %s: %s", want, js)
		}
	}
	many := make([]slack.Block, 80)
	for i := range many {
		many[i] = slack.NewDividerBlock()
	}
	if n := len(Blocks(botkit.Message{Blocks: many})); n != MaxBlocks {
		t.Errorf("%d blocks, want at most %d", n, MaxBlocks)
	}
	if n := len(Blocks(botkit.Message{Blocks: many, Prompt: m.Prompt})); n != MaxBlocks {
		t.Errorf("%d blocks with a prompt, want %d", n, MaxBlocks)
	}
}

func TestAction(t *testing.T) {
	var cb slack.InteractionCallback
	raw := `{"type":"block_actions","user":{"id":"U1"},"channel":{"id":"C1"},"message":{"ts":"5.5","thread_ts":"5.0"},
		"actions":[{"block_id":"botkit_prompt_c1","action_id":"botkit_confirm_yes","value":"c1:yes","type":"button"}]}`
	if err := json.Unmarshal([]byte(raw), &cb); err != nil {
		t.Fatal(err)
	}
	ev, ok := Action(cb)
	if !ok || ev.User != "U1" || ev.Channel != "C1" || ev.ThreadTS != "5.0" || ev.Action == nil ||
		*ev.Action != (botkit.Action{ActionID: "botkit_confirm_yes", Value: "c1:yes", MessageTS: "5.5"}) {
		t.Errorf("Action = %+v %+v, %v", ev, ev.Action, ok)
	}
}
