package slacktest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
)

// connectManual connects a Socket Mode client that acks nothing by itself:
// the test acks with the payload it wants.
func connectManual(t *testing.T, srv *slacktest.Server) *socketClient {
	t.Helper()
	return connectAcking(t, srv, func(socketmode.Event) bool { return false })
}

// answer acks the next interactive envelope with payload and returns the
// ack the fake recorded.
func (c *socketClient) answer(t *testing.T, srv *slacktest.Server, payload any) slacktest.Ack {
	t.Helper()
	_, req := c.interactive(t)
	if err := c.sm.AckCtx(t.Context(), req.EnvelopeID, payload); err != nil {
		t.Fatal(err)
	}
	return srv.WaitAck(t, req.EnvelopeID)
}

// titles returns the titles of U1's modals, root first.
func titles(srv *slacktest.Server) []string {
	var out []string
	for _, m := range srv.Modals("U1") {
		out = append(out, m.Title)
	}
	return out
}

func TestSubmissionAnswers(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	c := connectManual(t, srv)
	srv.Slash("U1", "C1", "/deploy", "")
	cmd := c.next(t, socketmode.EventTypeSlashCommand)
	if err := c.sm.AckCtx(t.Context(), cmd.Request.EnvelopeID, nil); err != nil {
		t.Fatal(err)
	}
	root, err := api(srv).OpenViewContext(t.Context(), cmd.Data.(slack.SlashCommand).TriggerID, deployForm())
	if err != nil {
		t.Fatal(err)
	}
	values := slacktest.Values{"reason": {"hotfix"}}
	top := func() string { m := srv.Modals("U1"); return m[len(m)-1].ID }
	badView := form(strings.Repeat("t", 30), "bad")
	tests := []struct {
		name    string
		payload any
		problem string   // a part of Answer.Problem, "" for none
		titles  []string // U1's modals after the answer
	}{
		{"errors beside the inputs", slack.NewErrorsViewSubmissionResponse(map[string]string{"why": "say why"}), "", []string{"Deploy"}},
		{"errors for a block that is no input", slack.NewErrorsViewSubmissionResponse(map[string]string{"nope": "x"}),
			`no input block`, []string{"Deploy"}},
		{"update", slack.NewUpdateViewSubmissionResponse(ptr(form("Confirm", "confirm"))), "", []string{"Confirm"}},
		{"push", slack.NewPushViewSubmissionResponse(ptr(form("Step 2", "step2"))), "", []string{"Confirm", "Step 2"}},
		{"push of an invalid view", slack.NewPushViewSubmissionResponse(&badView), "invalid_arguments", []string{"Confirm", "Step 2"}},
		{"unknown response_action", map[string]string{"response_action": "close"}, `unknown response_action "close"`, []string{"Confirm", "Step 2"}},
		{"empty ack closes the submitted modal", nil, "", []string{"Confirm"}},
		{"push again", slack.NewPushViewSubmissionResponse(ptr(form("Step 2", "step2"))), "", []string{"Confirm", "Step 2"}},
		{"clear", slack.NewClearViewSubmissionResponse(), "", nil},
	}
	for _, tt := range tests {
		srv.Submit("U1", top(), values)
		ack := c.answer(t, srv, tt.payload)
		if !strings.Contains(ack.Answer.Problem, tt.problem) || (tt.problem == "" && ack.Answer.Problem != "") {
			t.Errorf("%s: problem %q, want %q", tt.name, ack.Answer.Problem, tt.problem)
		}
		if diff := cmp.Diff(tt.titles, titles(srv)); diff != "" {
			t.Errorf("%s: modals (-want +got):\n%s", tt.name, diff)
		}
		if tt.name == "errors beside the inputs" {
			v, _ := srv.View(root.ID)
			if ack.Answer.ResponseAction != "errors" || ack.Answer.Errors["why"] != "say why" || v.Errors["why"] != "say why" {
				t.Errorf("errors: answer %+v, view errors %v", ack.Answer, v.Errors)
			}
		}
		if tt.name == "update" {
			if m := srv.Modals("U1"); m[0].ID != root.ID || m[0].Hash == root.Hash || m[0].Errors != nil {
				t.Errorf("updated modal = %+v, want id %s with a new hash and no errors", m[0], root.ID)
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestLateAndSecondAcks(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t, slacktest.WithAckDeadline(50*time.Millisecond))
	c := connectManual(t, srv)
	srv.Interact(slacktest.Shortcut{User: "U1", CallbackID: "form"})
	sc, req := c.interactive(t)
	if err := c.sm.AckCtx(t.Context(), req.EnvelopeID, nil); err != nil {
		t.Fatal(err)
	}
	v, err := api(srv).OpenViewContext(t.Context(), sc.TriggerID, form("Form", "form"))
	if err != nil {
		t.Fatal(err)
	}
	srv.Submit("U1", v.ID, slacktest.Values{"reason": {"slow"}})
	_, req = c.interactive(t)
	time.Sleep(100 * time.Millisecond)
	if err := c.sm.AckCtx(t.Context(), req.EnvelopeID, slack.NewClearViewSubmissionResponse()); err != nil {
		t.Fatal(err)
	}
	if err := c.sm.AckCtx(t.Context(), req.EnvelopeID, slack.NewClearViewSubmissionResponse()); err != nil {
		t.Fatal(err)
	}
	srv.WaitFor(t, 0, func() bool { return len(srv.Acks()) == 3 })
	acks := srv.Acks()
	if late := acks[1].Answer; late.ResponseAction != "clear" || !strings.Contains(late.Problem, "past Slack's 50ms") {
		t.Errorf("late ack = %+v", late)
	}
	if second := acks[2].Answer; !strings.Contains(second.Problem, "second ack") {
		t.Errorf("second ack = %+v", second)
	}
	if m := srv.Modals("U1"); len(m) != 1 {
		t.Errorf("a late clear closed the modal: %+v", m)
	}
}

func TestSuggestionAnswers(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	c := connectManual(t, srv)
	_, ts, err := api(srv).PostMessageContext(t.Context(), "C1", slack.MsgOptionText("pick", false), pickers())
	if err != nil {
		t.Fatal(err)
	}
	many := make([]*slack.OptionBlockObject, 101)
	for i := range many {
		many[i] = option("v", "V")
	}
	mrkdwn := slack.NewOptionBlockObject("x", slack.NewTextBlockObject(slack.MarkdownType, "*x*", false, false), nil)
	tests := []struct {
		name    string
		payload any
		want    []slacktest.MenuOption
		groups  int
		problem string
	}{
		{"options", slack.OptionsResponse{Options: []*slack.OptionBlockObject{option("api", "API"), option("web", "Web")}},
			[]slacktest.MenuOption{{Text: "API", Value: "api"}, {Text: "Web", Value: "web"}}, 0, ""},
		{"option groups", slack.OptionGroupsResponse{OptionGroups: []*slack.OptionGroupBlockObject{
			slack.NewOptionGroupBlockElement(plain("Services"), option("api", "API"))}}, nil, 1, ""},
		{"too many", slack.OptionsResponse{Options: many}, nil, 0, "more than 100"},
		{"mrkdwn text", slack.OptionsResponse{Options: []*slack.OptionBlockObject{mrkdwn}}, nil, 0, "plain_text"},
		{"nothing", nil, nil, 0, "no options"},
	}
	for _, tt := range tests {
		srv.Interact(slacktest.Suggestion{User: "U1", Channel: "C1", MessageTS: ts, ActionID: "app", Value: "a"})
		a := c.answer(t, srv, tt.payload).Answer
		if tt.want != nil {
			if diff := cmp.Diff(tt.want, a.Options); diff != "" {
				t.Errorf("%s: options (-want +got):\n%s", tt.name, diff)
			}
		}
		if len(a.OptionGroups) != tt.groups || !strings.Contains(a.Problem, tt.problem) || (tt.problem == "" && a.Problem != "") {
			t.Errorf("%s: answer %+v, want %d groups, problem %q", tt.name, a, tt.groups, tt.problem)
		}
	}
}

func TestCommandAndActionAnswers(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	c := connectManual(t, srv)
	srv.Slash("U1", "C1", "/deploy", "api")
	ack := func(payload any) slacktest.Ack {
		ev := c.next(t, socketmode.EventTypeSlashCommand)
		if err := c.sm.AckCtx(t.Context(), ev.Request.EnvelopeID, payload); err != nil {
			t.Fatal(err)
		}
		return srv.WaitAck(t, ev.Request.EnvelopeID)
	}
	if a := ack(map[string]string{"text": "deploying api", "response_type": "in_channel"}).Answer; a.Problem != "" || a.Text != "deploying api" {
		t.Errorf("in-channel answer = %+v", a)
	}
	srv.Slash("U1", "C1", "/deploy", "")
	if a := ack(map[string]string{"text": "usage: /deploy <app>"}).Answer; a.Problem != "" {
		t.Errorf("ephemeral answer = %+v", a)
	}
	srv.Slash("U1", "C1", "/deploy", "web")
	if a := ack(nil).Answer; !cmp.Equal(a, slacktest.Answer{}) {
		t.Errorf("bare ack = %+v", a)
	}
	srv.Slash("U1", "C1", "/deploy", "web")
	if a := ack(map[string]string{"response_type": "in_channel"}).Answer; a.Problem != "no_text" {
		t.Errorf("answer without text = %+v", a)
	}
	want := []slacktest.Message{
		{Method: "ack", Channel: "C1", Text: "deploying api", ResponseType: "in_channel"},
		{Method: "ack", Channel: "C1", Text: "usage: /deploy <app>", EphemeralUser: "U1"},
	}
	got := srv.Messages()
	for i := range got {
		got[i].TS = ""
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}

	srv.Click(slacktest.Action{User: "U1", Channel: "C1", MessageTS: "1700000000.000100", ActionID: "go"})
	if a := c.answer(t, srv, map[string]string{"text": "hi"}).Answer; !strings.Contains(a.Problem, "reads no answer to block_actions") {
		t.Errorf("payload in a block_actions ack: %+v", a)
	}
}

// answering is a bot's HTTP endpoint that answers each interaction with
// answer(payload type), after delay.
func answering(t *testing.T, delay time.Duration, answer func(typ string) (status int, contentType, body string)) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		var p struct {
			Type string `json:"type"`
		}
		typ := "slash_commands"
		if form.Get("payload") != "" {
			_ = json.Unmarshal([]byte(form.Get("payload")), &p)
			typ = p.Type
		}
		time.Sleep(delay)
		status, ct, out := answer(typ)
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, out)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestHTTPAnswers(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	ctx := t.Context()
	bot := answering(t, 0, func(typ string) (int, string, string) {
		switch typ {
		case "view_submission":
			return http.StatusOK, "application/json", `{"response_action":"errors","errors":{"why":"too short"}}`
		case "block_suggestion":
			return http.StatusOK, "application/json", `{"options":[{"text":{"type":"plain_text","text":"API"},"value":"api"}]}`
		case "slash_commands":
			return http.StatusOK, "text/plain", "on it"
		}
		return http.StatusOK, "text/plain", ""
	})
	res, err := srv.PushInteraction(ctx, bot, slacktest.Shortcut{User: "U1", CallbackID: "form"})
	if err != nil || !cmp.Equal(res.Answer, slacktest.Answer{}) {
		t.Fatalf("shortcut push = %+v, %v", res, err)
	}
	v, err := api(srv).OpenViewContext(ctx, res.TriggerID, deployForm())
	if err != nil {
		t.Fatal(err)
	}
	res, err = srv.PushInteraction(ctx, bot, slacktest.Submission{User: "U1", ViewID: v.ID, Values: slacktest.Values{"reason": {"x"}}})
	if got, _ := srv.View(v.ID); err != nil || res.Answer.ResponseAction != "errors" || got.Errors["why"] != "too short" {
		t.Errorf("submission over HTTP: %+v, %v; view errors %v", res.Answer, err, got.Errors)
	}
	res, err = srv.PushInteraction(ctx, bot, slacktest.Suggestion{User: "U1", ViewID: v.ID, ActionID: "service", Value: "a"})
	if err != nil || len(res.Answer.Options) != 1 || res.Answer.Options[0].Value != "api" || res.Answer.Problem != "" {
		t.Errorf("suggestion over HTTP: %+v, %v", res.Answer, err)
	}
	res, err = srv.PushSlash(ctx, bot, "U2", "C1", "/deploy", "")
	if m := srv.Messages(); err != nil || res.Answer.Text != "on it" || len(m) != 1 || m[0].Method != "ack" || m[0].EphemeralUser != "U2" {
		t.Errorf("slash over HTTP: %+v, %v; messages %+v", res.Answer, err, m)
	}

	// Too slow, or failing: Slack shows an error and applies nothing.
	fast := slacktest.New(t, slacktest.WithAckDeadline(50*time.Millisecond))
	slow := answering(t, 100*time.Millisecond, func(string) (int, string, string) {
		return http.StatusOK, "application/json", `{"response_action":"clear"}`
	})
	broken := answering(t, 0, func(string) (int, string, string) { return http.StatusInternalServerError, "text/plain", "boom" })
	res, _ = fast.PushInteraction(ctx, broken, slacktest.Shortcut{User: "U1", CallbackID: "form"})
	if !strings.Contains(res.Answer.Problem, "status 500") {
		t.Errorf("500 answer = %+v", res.Answer)
	}
	v, err = api(fast).OpenViewContext(ctx, res.TriggerID, form("Form", "form"))
	if err != nil {
		t.Fatal(err)
	}
	res, _ = fast.PushInteraction(ctx, slow, slacktest.Submission{User: "U1", ViewID: v.ID, Values: slacktest.Values{"reason": {"x"}}})
	if !strings.Contains(res.Answer.Problem, "past Slack's") || len(fast.Modals("U1")) != 1 {
		t.Errorf("slow answer = %+v, modals %+v", res.Answer, fast.Modals("U1"))
	}
}

// Many users at once, over HTTP: each runs a shortcut, the bot opens a
// modal with its trigger, the user submits it, and the bot's answer closes
// it. Under -race this checks the fake's state is safe for concurrent use.
func TestConcurrentModals(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	bot := answering(t, 0, func(typ string) (int, string, string) {
		if typ == "view_submission" {
			return http.StatusOK, "application/json", `{"response_action":"clear"}`
		}
		return http.StatusOK, "text/plain", ""
	})
	c := api(srv)
	var wg sync.WaitGroup
	for i := range 20 {
		user := fmt.Sprintf("U%d", i)
		wg.Go(func() {
			res, err := srv.PushInteraction(t.Context(), bot, slacktest.Shortcut{User: user, CallbackID: "form"})
			if err != nil {
				t.Error(err)
				return
			}
			v, err := c.OpenViewContext(t.Context(), res.TriggerID, form("Form", "form"))
			if err != nil {
				t.Error(err)
				return
			}
			res, err = srv.PushInteraction(t.Context(), bot, slacktest.Submission{User: user, ViewID: v.ID, Values: slacktest.Values{"reason": {"x"}}})
			if err != nil || res.Answer.Problem != "" {
				t.Errorf("%s: submission answer %+v, %v", user, res.Answer, err)
			}
			if m := srv.Modals(user); len(m) != 0 {
				t.Errorf("%s: modals left open: %+v", user, m)
			}
		})
	}
	wg.Wait()
	if n := len(srv.Calls("views.open")); n != 20 {
		t.Errorf("%d views.open calls, want 20", n)
	}
}
