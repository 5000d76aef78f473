package slacktest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
)

// interactive returns the next interaction payload the client got.
func (c *socketClient) interactive(t *testing.T) (slack.InteractionCallback, *socketmode.Request) {
	t.Helper()
	ev := c.next(t, socketmode.EventTypeInteractive)
	cb, ok := ev.Data.(slack.InteractionCallback)
	if !ok {
		t.Fatalf("interactive data is %T", ev.Data)
	}
	return cb, ev.Request
}

func option(value, text string) *slack.OptionBlockObject {
	return slack.NewOptionBlockObject(value, plain(text), nil)
}

// pickers is a message with one element of each kind block_actions reports.
func pickers() slack.MsgOption {
	return slack.MsgOptionBlocks(slack.NewActionBlock("pick",
		slack.NewButtonBlockElement("go", "v1", plain("Go")),
		slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Env"), "env", option("dev", "Development"), option("prd", "Production")),
		slack.NewOptionsSelectBlockElement(slack.OptTypeExternal, plain("App"), "app"),
		slack.NewOverflowBlockElement("more", option("retry", "Retry"), option("cancel", "Cancel")),
		slack.NewDatePickerBlockElement("day"),
		slack.NewOptionsSelectBlockElement(slack.OptTypeUser, plain("Who"), "who"),
	))
}

func TestActionElements(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	c := connect(t, srv)
	_, ts, err := api(srv).PostMessageContext(t.Context(), "C1", slack.MsgOptionText("pick", false), pickers())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		actionID, value string
		check           func(a *slack.BlockAction) string
		state           string // the state value of the element, "" if it holds none
	}{
		{"go", "", func(a *slack.BlockAction) string { return a.Value + " " + a.Text.Text }, ""},
		{"env", "prd", func(a *slack.BlockAction) string { return a.SelectedOption.Value + " " + a.SelectedOption.Text.Text }, "prd"},
		{"app", "api", func(a *slack.BlockAction) string { return a.SelectedOption.Value }, "api"},
		{"more", "cancel", func(a *slack.BlockAction) string { return a.SelectedOption.Value + " " + a.SelectedOption.Text.Text }, ""},
		{"day", "2024-05-01", func(a *slack.BlockAction) string { return a.SelectedDate }, "2024-05-01"},
		{"who", "U9", func(a *slack.BlockAction) string { return a.SelectedUser }, "U9"},
	}
	want := map[string]string{"go": "v1 Go", "env": "prd Production", "app": "api", "more": "cancel Cancel", "day": "2024-05-01", "who": "U9"}
	types := map[string]slack.ActionType{"go": "button", "env": "static_select", "app": "external_select", "more": "overflow",
		"day": "datepicker", "who": "users_select"}
	for _, tt := range tests {
		t.Run(tt.actionID, func(t *testing.T) {
			env := srv.Interact(slacktest.Action{User: "U1", Channel: "C1", MessageTS: ts, ActionID: tt.actionID, Value: tt.value})
			cb, req := c.interactive(t)
			if req.EnvelopeID != env || req.AcceptsResponsePayload {
				t.Errorf("envelope %+v, want %s, accepting no payload", req, env)
			}
			if len(cb.ActionCallback.BlockActions) != 1 {
				t.Fatalf("actions = %+v", cb.ActionCallback)
			}
			a := cb.ActionCallback.BlockActions[0]
			if got := tt.check(a); got != want[tt.actionID] || a.Type != types[tt.actionID] || a.BlockID != "pick" || a.ActionTs == "" {
				t.Errorf("action = %+v (%q), want type %s, %q", a, got, types[tt.actionID], want[tt.actionID])
			}
			envs := srv.Envelopes()
			if cb.TriggerID == "" || cb.TriggerID != envs[len(envs)-1].TriggerID || cb.ResponseURL == "" ||
				cb.Container.Type != "message" || cb.Container.MessageTs != ts || cb.Channel.ID != "C1" || cb.Message.Text != "pick" {
				t.Errorf("callback = %+v", cb)
			}
			got := ""
			if v, ok := cb.BlockActionState.Values["pick"][tt.actionID]; ok {
				got = v.SelectedOption.Value + v.SelectedDate + v.SelectedUser
			}
			if got != tt.state {
				t.Errorf("state of %s = %q, want %q", tt.actionID, got, tt.state)
			}
		})
	}
	if p := panics(func() {
		srv.Interact(slacktest.Action{User: "U1", Channel: "C1", MessageTS: ts, ActionID: "env", Value: "staging"})
	}); !strings.Contains(p, `offers no option "staging"`) {
		t.Errorf("choice of an option the menu lacks: panic %q", p)
	}
}

// panics returns what f panicked with, or "".
func panics(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

// deployForm is a modal with inputs of several kinds.
func deployForm() slack.ModalViewRequest {
	env := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Env"), "env", option("dev", "Development"), option("prd", "Production"))
	env.InitialOption = option("dev", "Development")
	day := slack.NewInputBlock("when", plain("When"), nil, slack.NewDatePickerBlockElement("day"))
	day.Optional = true
	approver := slack.NewOptionsSelectBlockElement(slack.OptTypeConversations, plain("Where to report"), "report")
	approver.ResponseURLEnabled = true
	report := slack.NewInputBlock("report", plain("Report to"), nil, approver)
	report.Optional = true
	return slack.ModalViewRequest{Type: slack.VTModal, Title: plain("Deploy"), Submit: plain("Deploy"), CallbackID: "deploy",
		PrivateMetadata: "C1", NotifyOnClose: true, Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock("why", plain("Reason"), nil, slack.NewPlainTextInputBlockElement(nil, "reason")),
			slack.NewInputBlock("where", plain("Env"), nil, env),
			day, report,
			slack.NewSectionBlock(plain("Need help?"), nil, slack.NewAccessory(slack.NewButtonBlockElement("help", "h", plain("Help")))),
			slack.NewSectionBlock(plain("Service"), nil, slack.NewAccessory(slack.NewOptionsSelectBlockElement(slack.OptTypeExternal, plain("Service"), "service"))),
		}}}
}

// openForm opens deployForm for U1 with a trigger of a slash command sent
// over c, and returns its id.
func openForm(t *testing.T, srv *slacktest.Server, c *socketClient) string {
	t.Helper()
	srv.Slash("U1", "C1", "/deploy", "")
	cmd := c.next(t, socketmode.EventTypeSlashCommand).Data.(slack.SlashCommand)
	v, err := api(srv).OpenViewContext(t.Context(), cmd.TriggerID, deployForm())
	if err != nil {
		t.Fatal(err)
	}
	return v.ID
}

func TestSubmission(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	c := connect(t, srv)
	id := openForm(t, srv, c)

	// A choice in the modal stays in its state, as Slack keeps it.
	srv.Interact(slacktest.Action{User: "U1", ViewID: id, ActionID: "env", Value: "prd"})
	cb, _ := c.interactive(t)
	if cb.Container.Type != "view" || cb.Container.ViewID != id || cb.View.ID != id || cb.ResponseURL != "" || cb.TriggerID == "" ||
		cb.View.State.Values["where"]["env"].SelectedOption.Value != "prd" {
		t.Errorf("action in a modal = %+v", cb)
	}

	for _, tt := range []struct {
		name   string
		values slacktest.Values
		want   string
	}{
		{"a required input left empty", slacktest.Values{"day": {"2024-05-01"}}, `input "why" of view ` + id + " is required"},
		{"an element the view lacks", slacktest.Values{"reason": {"x"}, "nope": {"x"}}, `has no element "nope"`},
		{"an option the menu lacks", slacktest.Values{"reason": {"x"}, "env": {"staging"}}, `offers no option "staging"`},
	} {
		if p := panics(func() { srv.Submit("U1", id, tt.values) }); !strings.Contains(p, tt.want) {
			t.Errorf("Submit with %s: panic %q, want %q", tt.name, p, tt.want)
		}
	}
	if v, _ := srv.View(id); strings.Contains(v.State, "2024-05-01") || strings.Contains(v.State, `"x"`) {
		t.Errorf("refused submissions changed the state: %s", v.State)
	}
	env := srv.Submit("U1", id, slacktest.Values{"reason": {"hotfix"}, "report": {"C7"}})
	cb, req := c.interactive(t)
	if !req.AcceptsResponsePayload || req.EnvelopeID != env {
		t.Errorf("view_submission envelope = %+v", req)
	}
	values := cb.View.State.Values
	got := []string{values["why"]["reason"].Value, values["where"]["env"].SelectedOption.Value, values["when"]["day"].SelectedDate,
		values["report"]["report"].SelectedConversation}
	if diff := cmp.Diff([]string{"hotfix", "prd", "", "C7"}, got); diff != "" {
		t.Errorf("submitted values (-want +got):\n%s", diff)
	}
	if cb.Type != slack.InteractionTypeViewSubmission || cb.View.CallbackID != "deploy" || cb.View.PrivateMetadata != "C1" ||
		cb.View.Hash == "" || cb.TriggerID == "" || cb.User.ID != "U1" || cb.Team.ID != slacktest.Team {
		t.Errorf("view_submission = %+v", cb)
	}
	if len(cb.ResponseURLs) != 1 || cb.ResponseURLs[0].ChannelID != "C7" || cb.ResponseURLs[0].BlockID != "report" || cb.ResponseURLs[0].ResponseURL == "" {
		t.Errorf("response_urls = %+v", cb.ResponseURLs)
	}
	// The raw state carries the empty datepicker as null, as Slack does.
	var raw struct {
		View struct {
			State struct {
				Values map[string]map[string]map[string]any `json:"values"`
			} `json:"state"`
		} `json:"view"`
	}
	if err := json.Unmarshal(req.Payload, &raw); err != nil {
		t.Fatal(err)
	}
	if day, ok := raw.View.State.Values["when"]["day"]; !ok || day["selected_date"] != nil || day["type"] != "datepicker" {
		t.Errorf("empty datepicker in state = %v, %v", day, ok)
	}
}

func TestViewClosed(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	c := connect(t, srv)
	id := openForm(t, srv, c)
	env := srv.Interact(slacktest.ViewClosed{User: "U1", ViewID: id})
	cb, req := c.interactive(t)
	if env == "" || req.EnvelopeID != env || cb.Type != slack.InteractionTypeViewClosed || cb.View.ID != id || cb.IsCleared {
		t.Errorf("view_closed = %+v in %+v", cb, req)
	}
	if m := srv.Modals("U1"); len(m) != 0 {
		t.Errorf("modals after close = %+v", m)
	}

	// Without notify_on_close, nothing reaches the bot; with
	// clear_on_close, the whole stack closes.
	srv.Slash("U1", "C1", "/deploy", "")
	cmd := c.next(t, socketmode.EventTypeSlashCommand).Data.(slack.SlashCommand)
	quiet := form("Quiet", "quiet")
	quiet.ClearOnClose = true
	if _, err := api(srv).OpenViewContext(t.Context(), cmd.TriggerID, quiet); err != nil {
		t.Fatal(err)
	}
	srv.Interact(slacktest.Shortcut{User: "U1", CallbackID: "more"})
	sc, _ := c.interactive(t)
	top, err := api(srv).PushViewContext(t.Context(), sc.TriggerID, form("Top", "top"))
	if err != nil {
		t.Fatal(err)
	}
	if p := panics(func() { srv.Interact(slacktest.ViewClosed{User: "U1", ViewID: srv.Modals("U1")[0].ID}) }); p == "" {
		t.Error("closing a modal under the top one did not panic")
	}
	if env := srv.Interact(slacktest.ViewClosed{User: "U1", ViewID: top.ID}); env != "" {
		t.Errorf("view_closed sent for a view without notify_on_close: %s", env)
	}
	if m := srv.Modals("U1"); len(m) != 1 || m[0].Title != "Quiet" {
		t.Errorf("after closing the pushed view: %+v, want the root", m)
	}
	if env := srv.Interact(slacktest.ViewClosed{User: "U1", ViewID: srv.Modals("U1")[0].ID}); env != "" || len(srv.Modals("U1")) != 0 {
		t.Errorf("closing the root: envelope %q, modals %+v", env, srv.Modals("U1"))
	}
}

func TestShortcutsAndSuggestions(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	c := connect(t, srv)
	srv.Interact(slacktest.Shortcut{User: "U1", CallbackID: "new_deploy"})
	sc, _ := c.interactive(t)
	if sc.Type != slack.InteractionTypeShortcut || sc.CallbackID != "new_deploy" || sc.TriggerID == "" || sc.ResponseURL != "" || sc.User.ID != "U1" {
		t.Errorf("shortcut = %+v", sc)
	}
	if _, err := api(srv).OpenViewContext(t.Context(), sc.TriggerID, form("From a shortcut", "s")); err != nil {
		t.Errorf("views.open with a shortcut's trigger: %v", err)
	}

	_, ts, err := api(srv).PostMessageContext(t.Context(), "C1", slack.MsgOptionText("deployed api", false), pickers())
	if err != nil {
		t.Fatal(err)
	}
	srv.Interact(slacktest.MessageShortcut{User: "U2", CallbackID: "rollback", Channel: "C1", MessageTS: ts})
	ms, _ := c.interactive(t)
	if ms.Type != slack.InteractionTypeMessageAction || ms.CallbackID != "rollback" || ms.TriggerID == "" || ms.ResponseURL == "" ||
		ms.Channel.ID != "C1" || ms.Message.Text != "deployed api" || ms.Message.BotID != slacktest.BotID || ms.MessageTs != ts {
		t.Errorf("message_action = %+v", ms)
	}

	if p := panics(func() {
		srv.Interact(slacktest.Suggestion{User: "U1", Channel: "C1", MessageTS: ts, ActionID: "env", Value: "p"})
	}); p == "" {
		t.Error("a suggestion for a static select did not panic")
	}
	env := srv.Interact(slacktest.Suggestion{User: "U1", Channel: "C1", MessageTS: ts, ActionID: "app", Value: "ap"})
	sg, req := c.interactive(t)
	if sg.Type != slack.InteractionTypeBlockSuggestion || sg.ActionID != "app" || sg.BlockID != "pick" || sg.Value != "ap" ||
		!req.AcceptsResponsePayload || req.EnvelopeID != env || sg.TriggerID != "" {
		t.Errorf("block_suggestion = %+v in %+v", sg, req)
	}
}

func TestPushInteractions(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	rc := newReceiver(t)
	ctx := t.Context()
	res, err := srv.PushInteraction(ctx, rc.srv.URL, slacktest.Shortcut{User: "U1", CallbackID: "new_deploy"})
	if err != nil || res.TriggerID == "" {
		t.Fatalf("push = %+v, %v", res, err)
	}
	if got := rc.last(t); got.click.Type != slack.InteractionTypeShortcut || got.click.TriggerID != res.TriggerID ||
		got.header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("received %+v", got.click)
	}
	v, err := api(srv).OpenViewContext(ctx, res.TriggerID, deployForm())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.PushInteraction(ctx, rc.srv.URL, slacktest.Submission{User: "U1", ViewID: v.ID, Values: slacktest.Values{"reason": {"why not"}}}); err != nil {
		t.Fatal(err)
	}
	if got := rc.last(t).click; got.Type != slack.InteractionTypeViewSubmission || got.View.State.Values["why"]["reason"].Value != "why not" {
		t.Errorf("view_submission = %+v", got)
	}
	if _, err := srv.PushInteraction(ctx, rc.srv.URL, slacktest.Command{User: "U1", Channel: "C1", Name: "/deploy", Text: "api"}); err != nil {
		t.Fatal(err)
	}
	if got := rc.last(t).slash; got.Command != "/deploy" || got.TriggerID == "" || got.ResponseURL == "" {
		t.Errorf("slash command = %+v", got)
	}
}

// A bad interaction pushed over HTTP panics and leaves the fake usable.
func TestPushInteractionPanicUnlocks(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	rc := newReceiver(t)
	if p := panics(func() {
		_, _ = srv.PushInteraction(t.Context(), rc.srv.URL, slacktest.Submission{User: "U1", ViewID: "V404"})
	}); !strings.Contains(p, `U1 has no view "V404" open`) {
		t.Errorf("panic %q", p)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := api(srv).AuthTestContext(ctx); err != nil {
		t.Fatalf("after the panic: %v (the fake stayed locked)", err)
	}
}
