package slack

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
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
		{"other event", `{"type":"reaction_added","user":"U1","reaction":"x","item":{"type":"message","channel":"C1","ts":"1.1"},"event_ts":"4.1"}`, true,
			botkit.Event{Kind: botkit.KindEvent, ID: "Ev1", User: "U1", TS: "4.1", Raw: &botkit.RawEvent{Type: "reaction_added",
				JSON: json.RawMessage(`{"type":"reaction_added","user":"U1","reaction":"x","item":{"type":"message","channel":"C1","ts":"1.1"},"event_ts":"4.1"}`)}}},
		{"own reaction", `{"type":"reaction_added","user":"UBOT","reaction":"x","item":{},"event_ts":"4.2"}`, true,
			botkit.Event{Kind: botkit.KindEvent, ID: "Ev1", User: "UBOT", TS: "4.2", BotID: "BBOT", Raw: &botkit.RawEvent{Type: "reaction_added",
				JSON: json.RawMessage(`{"type":"reaction_added","user":"UBOT","reaction":"x","item":{},"event_ts":"4.2"}`)}}},
		{"member joined", `{"type":"member_joined_channel","user":"U3","channel":"C9","channel_type":"C","event_ts":"4.3"}`, true,
			botkit.Event{Kind: botkit.KindEvent, ID: "Ev1", User: "U3", Channel: "C9", TS: "4.3", Raw: &botkit.RawEvent{Type: "member_joined_channel",
				JSON: json.RawMessage(`{"type":"member_joined_channel","user":"U3","channel":"C9","channel_type":"C","event_ts":"4.3"}`)}}},
		{"channel created: channel is an object", `{"type":"channel_created","channel":{"id":"C7","name":"new","creator":"U4"},"event_ts":"4.4"}`, true,
			botkit.Event{Kind: botkit.KindEvent, ID: "Ev1", TS: "4.4", Raw: &botkit.RawEvent{Type: "channel_created",
				JSON: json.RawMessage(`{"type":"channel_created","channel":{"id":"C7","name":"new","creator":"U4"},"event_ts":"4.4"}`)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := c.Event(parse(t, wrap(tt.inner)))
			if ok != tt.ok {
				t.Fatalf("Event ok = %v, want %v (%+v)", ok, tt.ok, got)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(botkit.Event{}, "Answer", "Ack"), cmpopts.IgnoreUnexported(botkit.Event{})); ok && diff != "" {
				t.Errorf("Event (-want +got):\n%s", diff)
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

// TestInteraction: each kind of interactive payload, in the shape Slack
// sends it, becomes the botkit event of its kind.
func TestInteraction(t *testing.T) {
	tests := []struct {
		name, raw string
		ok        bool
		want      botkit.Event
	}{
		{"confirm button", `{"type":"block_actions","user":{"id":"U1"},"channel":{"id":"C1"},"message":{"ts":"5.5","thread_ts":"5.0"},"trigger_id":"T1","response_url":"https://hooks/1",
			"actions":[{"block_id":"botkit_prompt_c1","action_id":"botkit_confirm_yes","value":"c1:yes","type":"button","action_ts":"9.1"}]}`, true,
			botkit.Event{Kind: botkit.KindAction, ID: "click:9.1", User: "U1", Channel: "C1", ThreadTS: "5.0", TriggerID: "T1", ResponseURL: "https://hooks/1",
				Action: &botkit.Action{ActionID: "botkit_confirm_yes", BlockID: "botkit_prompt_c1", Type: "button", Value: "c1:yes", MessageTS: "5.5"}}},
		{"static select", `{"type":"block_actions","user":{"id":"U1"},"container":{"type":"message","message_ts":"6.6","channel_id":"C2"},
			"actions":[{"block_id":"b","action_id":"pick_env","type":"static_select","selected_option":{"text":{"type":"plain_text","text":"dev"},"value":"dev"},"action_ts":"9.2"}]}`, true,
			botkit.Event{Kind: botkit.KindAction, ID: "click:9.2", User: "U1", Channel: "C2",
				Action: &botkit.Action{ActionID: "pick_env", BlockID: "b", Type: "static_select", Value: "dev", MessageTS: "6.6"}}},
		{"date picker in a modal", `{"type":"block_actions","user":{"id":"U1"},"view":{"id":"V1"},
			"actions":[{"block_id":"when","action_id":"day","type":"datepicker","selected_date":"2026-12-24","action_ts":"9.3"}]}`, true,
			botkit.Event{Kind: botkit.KindAction, ID: "click:9.3", User: "U1",
				Action: &botkit.Action{ActionID: "day", BlockID: "when", Type: "datepicker", Value: "2026-12-24", ViewID: "V1"}}},
		{"multi select", `{"type":"block_actions","user":{"id":"U1"},"channel":{"id":"C1"},"message":{"ts":"7.7"},
			"actions":[{"block_id":"b","action_id":"who","type":"multi_users_select","selected_users":["U2","U3"],"action_ts":"9.4"}]}`, true,
			botkit.Event{Kind: botkit.KindAction, ID: "click:9.4", User: "U1", Channel: "C1",
				Action: &botkit.Action{ActionID: "who", BlockID: "b", Type: "multi_users_select", Values: []string{"U2", "U3"}, MessageTS: "7.7"}}},
		{"view submission", `{"type":"view_submission","user":{"id":"U1"},"trigger_id":"T2","view":{"id":"V2","callback_id":"deploy_form","hash":"h1","private_metadata":"C1",
			"blocks":[{"type":"section","text":{"type":"mrkdwn","text":"hi"}},{"type":"input","block_id":"app","label":{"type":"plain_text","text":"App"},"element":{"type":"plain_text_input","action_id":"v"}},
			          {"type":"input","block_id":"env","label":{"type":"plain_text","text":"Env"},"element":{"type":"static_select","action_id":"v"}}],
			"state":{"values":{"app":{"v":{"type":"plain_text_input","value":"api"}},"env":{"v":{"type":"static_select","selected_option":{"text":{"type":"plain_text","text":"prd"},"value":"prd"}}}}}}}`, true,
			botkit.Event{Kind: botkit.KindView, User: "U1", TriggerID: "T2", Submission: &botkit.Submission{ViewID: "V2", CallbackID: "deploy_form", Hash: "h1", PrivateMetadata: "C1",
				Values: map[string]map[string]botkit.FieldValue{"app": {"v": {Type: "plain_text_input", Value: "api"}}, "env": {"v": {Type: "static_select", Value: "prd"}}},
				Inputs: []string{"app", "env"}}}},
		{"view closed", `{"type":"view_closed","user":{"id":"U1"},"view":{"id":"V3","callback_id":"deploy_form"},"is_cleared":false}`, true,
			botkit.Event{Kind: botkit.KindView, User: "U1", Submission: &botkit.Submission{ViewID: "V3", CallbackID: "deploy_form", Closed: true, Values: map[string]map[string]botkit.FieldValue{}}}},
		{"global shortcut", `{"type":"shortcut","user":{"id":"U1"},"callback_id":"new_incident","trigger_id":"T3"}`, true,
			botkit.Event{Kind: botkit.KindShortcut, User: "U1", TriggerID: "T3", Shortcut: &botkit.Shortcut{CallbackID: "new_incident"}}},
		{"message shortcut", `{"type":"message_action","user":{"id":"U1"},"channel":{"id":"C1"},"callback_id":"file_bug","trigger_id":"T4","response_url":"https://hooks/4",
			"message":{"ts":"8.8","text":"it broke"}}`, true,
			botkit.Event{Kind: botkit.KindShortcut, User: "U1", Channel: "C1", TriggerID: "T4", ResponseURL: "https://hooks/4",
				Shortcut: &botkit.Shortcut{CallbackID: "file_bug", MessageTS: "8.8", MessageText: "it broke"}}},
		{"options request", `{"type":"block_suggestion","user":{"id":"U1"},"action_id":"pick_app","block_id":"b","value":"ap"}`, true,
			botkit.Event{Kind: botkit.KindOptions, User: "U1", Suggestion: &botkit.Suggestion{ActionID: "pick_app", BlockID: "b", Value: "ap"}}},
		{"legacy dialog", `{"type":"dialog_submission","user":{"id":"U1"}}`, false, botkit.Event{}},
		{"click with no action", `{"type":"block_actions","user":{"id":"U1"},"actions":[]}`, false, botkit.Event{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cb slack.InteractionCallback
			if err := json.Unmarshal([]byte(tt.raw), &cb); err != nil {
				t.Fatal(err)
			}
			got, ok := Interaction(cb)
			if ok != tt.ok {
				t.Fatalf("Interaction ok = %v, want %v (%+v)", ok, tt.ok, got)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(botkit.Event{}, "Answer", "Ack"), cmpopts.IgnoreUnexported(botkit.Event{})); ok && diff != "" {
				t.Errorf("Interaction (-want +got):\n%s", diff)
			}
		})
	}
}
