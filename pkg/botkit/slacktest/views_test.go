package slacktest_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
)

// triggerOf returns a trigger_id issued to user, as the bot gets one: with a
// slash command pushed to an HTTP endpoint.
func triggerOf(t *testing.T, srv *slacktest.Server, rc *receiver, user string) string {
	t.Helper()
	if _, err := srv.PushSlash(t.Context(), rc.srv.URL, user, "C1", "/form", ""); err != nil {
		t.Fatal(err)
	}
	id := rc.last(t).slash.TriggerID
	if id == "" {
		t.Fatal("slash command without trigger_id")
	}
	return id
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

// form is a modal with one text input, as a bot would open.
func form(title, callbackID string) slack.ModalViewRequest {
	input := slack.NewInputBlock("", plain("Reason"), nil, slack.NewPlainTextInputBlockElement(nil, "reason"))
	return slack.ModalViewRequest{Type: slack.VTModal, Title: plain(title), Submit: plain("Send"), Close: plain("Cancel"),
		CallbackID: callbackID, PrivateMetadata: "meta", Blocks: slack.Blocks{BlockSet: []slack.Block{input}}}
}

// slackErr returns the Slack error and its response_metadata messages.
func slackErr(err error) (string, []string) {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err, se.ResponseMetadata.Messages
	}
	if err == nil {
		return "", nil
	}
	return err.Error(), nil
}

func TestViewsOpenPushUpdate(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	rc := newReceiver(t)
	c := api(srv)
	ctx := t.Context()

	trig := triggerOf(t, srv, rc, "U1")
	root, err := c.OpenViewContext(ctx, trig, form("Deploy", "deploy"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(root.ID, "V") || root.Hash == "" || root.RootViewID != root.ID || root.CallbackID != "deploy" ||
		root.PrivateMetadata != "meta" || root.Title.Text != "Deploy" || root.AppID != slacktest.AppID || root.BotID != slacktest.BotID {
		t.Errorf("opened view = %+v", root.View)
	}
	// Slack fills in the block_id the bot left out.
	if in, ok := root.Blocks.BlockSet[0].(*slack.InputBlock); !ok || in.BlockID == "" {
		t.Errorf("input block = %#v, want one with a block_id", root.Blocks.BlockSet[0])
	}
	if _, err := c.OpenViewContext(ctx, trig, form("Again", "x")); errText(err) != "exchanged_trigger_id" {
		t.Errorf("second views.open with one trigger: err = %v, want exchanged_trigger_id", err)
	}

	// Two pushes fill the stack; a third is over Slack's limit of 3.
	var ids []string
	for i := range slacktest.MaxViewStack {
		v, err := c.PushViewContext(ctx, triggerOf(t, srv, rc, "U1"), form("Step", "step"))
		if i == slacktest.MaxViewStack-1 {
			if errText(err) != "push_limit_reached" {
				t.Errorf("push %d: err = %v, want push_limit_reached", i+1, err)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if v.RootViewID != root.ID {
			t.Errorf("pushed view's root = %s, want %s", v.RootViewID, root.ID)
		}
		ids = append(ids, v.ID)
	}
	modals := srv.Modals("U1")
	var got []string
	for _, m := range modals {
		got = append(got, m.ID)
	}
	if diff := cmp.Diff(append([]string{root.ID}, ids...), got); diff != "" {
		t.Errorf("modal stack (-want +got):\n%s", diff)
	}
	if modals[2].PreviousViewID != ids[0] {
		t.Errorf("top's previous_view_id = %s, want %s", modals[2].PreviousViewID, ids[0])
	}

	// views.update checks the hash and gives a new one.
	if _, err := c.UpdateViewContext(ctx, form("Late", "deploy"), "", "1.stale", root.ID); errText(err) != "hash_conflict" {
		t.Errorf("update with a stale hash: err = %v, want hash_conflict", err)
	}
	up, err := c.UpdateViewContext(ctx, form("Deploying", "deploy"), "", root.Hash, root.ID)
	if err != nil {
		t.Fatal(err)
	}
	if up.ID != root.ID || up.Hash == root.Hash || up.Title.Text != "Deploying" {
		t.Errorf("updated view = id %s hash %s title %q; want id %s, a new hash", up.ID, up.Hash, up.Title.Text, root.ID)
	}
	withExt := form("By external id", "deploy")
	withExt.ExternalID = "deploy-42"
	if _, err := c.UpdateViewContext(ctx, withExt, "", "", root.ID); err != nil {
		t.Fatal(err)
	}
	if v, err := c.UpdateViewContext(ctx, form("Again", "deploy"), "deploy-42", "", ""); err != nil || v.ID != root.ID {
		t.Errorf("update by external_id = %v, %v", v, err)
	}
	if _, err := c.UpdateViewContext(ctx, form("Nobody", "x"), "", "", "V404"); errText(err) != "not_found" {
		t.Errorf("update of an unknown view: err = %v, want not_found", err)
	}

	// A new views.open replaces the whole stack.
	if _, err := c.OpenViewContext(ctx, triggerOf(t, srv, rc, "U1"), form("Fresh", "fresh")); err != nil {
		t.Fatal(err)
	}
	if m := srv.Modals("U1"); len(m) != 1 || m[0].Title != "Fresh" {
		t.Errorf("after a new views.open: modals = %+v", m)
	}
	if _, ok := srv.View(root.ID); ok {
		t.Errorf("replaced view %s still open", root.ID)
	}
	// Each view belongs to the user the trigger came from.
	if m := srv.Modals("U2"); len(m) != 0 {
		t.Errorf("U2 has modals %+v", m)
	}
}

// errText is the error's text, or "" for nil.
func errText(err error) string {
	e, _ := slackErr(err)
	return e
}

func TestTriggerExpiry(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t, slacktest.WithTriggerExpiry(50*time.Millisecond))
	rc := newReceiver(t)
	c := api(srv)
	ctx := t.Context()
	trig := triggerOf(t, srv, rc, "U1")
	time.Sleep(100 * time.Millisecond)
	tests := []struct{ name, trigger, want string }{
		{"expired", trig, "expired_trigger_id"},
		{"malformed", "not-a-trigger", "invalid_trigger_id"},
		{"never issued", "123.456.abcdef", "invalid_trigger_id"},
	}
	for _, tt := range tests {
		if _, err := c.OpenViewContext(ctx, tt.trigger, form("Late", "late")); errText(err) != tt.want {
			t.Errorf("%s: err = %v, want %s", tt.name, err, tt.want)
		}
		if _, err := c.PushViewContext(ctx, tt.trigger, form("Late", "late")); errText(err) != tt.want {
			t.Errorf("%s push: err = %v, want %s", tt.name, err, tt.want)
		}
	}
	if m := srv.Modals("U1"); len(m) != 0 {
		t.Errorf("modals opened with bad triggers: %+v", m)
	}
}

func TestViewValidation(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	rc := newReceiver(t)
	c := api(srv)
	manyBlocks := make([]slack.Block, slacktest.MaxViewBlocks+1)
	for i := range manyBlocks {
		manyBlocks[i] = slack.NewDividerBlock()
	}
	tests := []struct {
		name   string
		change func(v *slack.ModalViewRequest)
		want   []string
	}{
		{"title too long", func(v *slack.ModalViewRequest) { v.Title = plain(strings.Repeat("x", 25)) },
			[]string{"[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"}},
		{"no title", func(v *slack.ModalViewRequest) { v.Title = nil },
			[]string{"[ERROR] missing required field: title [json-pointer:/view/title]"}},
		{"submit too long", func(v *slack.ModalViewRequest) { v.Submit = plain(strings.Repeat("s", 25)) },
			[]string{"[ERROR] must be less than 25 characters [json-pointer:/view/submit/text]"}},
		{"inputs without submit", func(v *slack.ModalViewRequest) { v.Submit = nil },
			[]string{"[ERROR] must provide submit when the view has input blocks [json-pointer:/view/submit]"}},
		{"too many blocks", func(v *slack.ModalViewRequest) { v.Blocks.BlockSet = manyBlocks },
			[]string{"[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]"}},
		{"a home view", func(v *slack.ModalViewRequest) { v.Type = slack.VTHomeTab },
			[]string{`[ERROR] must be "modal" [json-pointer:/view/type]`}},
		{"private_metadata too long", func(v *slack.ModalViewRequest) { v.PrivateMetadata = strings.Repeat("m", 3001) },
			[]string{"[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]"}},
		{"input without label", func(v *slack.ModalViewRequest) {
			v.Blocks.BlockSet = []slack.Block{slack.NewInputBlock("in", nil, nil, slack.NewPlainTextInputBlockElement(nil, "a"))}
		}, []string{"[ERROR] must be plain_text of at most 2000 characters [json-pointer:/view/blocks/0/label]"}},
	}
	trig := triggerOf(t, srv, rc, "U1")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := form("Deploy", "deploy")
			tt.change(&v)
			_, err := c.OpenViewContext(t.Context(), trig, v)
			got, msgs := slackErr(err)
			if got != "invalid_arguments" {
				t.Errorf("err = %v, want invalid_arguments", err)
			}
			if diff := cmp.Diff(tt.want, msgs); diff != "" {
				t.Errorf("response_metadata.messages (-want +got):\n%s", diff)
			}
		})
	}
	// Nothing opened, and the trigger was not used up.
	if m := srv.Modals("U1"); len(m) != 0 {
		t.Errorf("invalid views opened: %+v", m)
	}
	if _, err := c.OpenViewContext(t.Context(), trig, form("Deploy", "deploy")); err != nil {
		t.Errorf("valid view after invalid ones: %v", err)
	}
}

func TestViewTooLarge(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	rc := newReceiver(t)
	v := form("Big", "big")
	v.PrivateMetadata = strings.Repeat("x", 260<<10)
	if _, err := api(srv).OpenViewContext(t.Context(), triggerOf(t, srv, rc, "U1"), v); errText(err) != "view_too_large" {
		t.Errorf("err = %v, want view_too_large", err)
	}
}

func TestViewsPublish(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	c := api(srv)
	ctx := t.Context()
	home := slack.HomeTabViewRequest{Type: slack.VTHomeTab, CallbackID: "home",
		Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*commands*", false, false), nil, nil)}}}
	first, err := c.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: "U1", View: home})
	if err != nil {
		t.Fatal(err)
	}
	stale := "1.stale"
	if _, err := c.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: "U1", View: home, Hash: &stale}); errText(err) != "hash_conflict" {
		t.Errorf("publish with a stale hash: err = %v, want hash_conflict", err)
	}
	again, err := c.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: "U1", View: home, Hash: &first.Hash})
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID || again.Hash == first.Hash || again.Type != slack.VTHomeTab {
		t.Errorf("republished home = id %s hash %s, first id %s hash %s", again.ID, again.Hash, first.ID, first.Hash)
	}
	got, ok := srv.Home("U1")
	var blocks []map[string]any
	if err := json.Unmarshal([]byte(got.Blocks), &blocks); err != nil || !ok || got.User != "U1" || got.Hash != again.Hash || len(blocks) != 1 {
		t.Errorf("Home(U1) = %+v, %v", got, ok)
	}
	if _, ok := srv.Home("U2"); ok {
		t.Error("U2 has a home tab nobody published")
	}
	modal := slack.HomeTabViewRequest{Type: slack.VTModal}
	if _, err := c.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: "U1", View: modal}); errText(err) != "invalid_arguments" {
		t.Errorf("publish of a modal: err = %v, want invalid_arguments", err)
	}
	if _, err := c.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: "C1", View: home}); errText(err) != "user_not_found" {
		t.Errorf("publish to a channel: err = %v, want user_not_found", err)
	}
	calls := srv.Calls("views.publish")
	if len(calls) != 5 || calls[0].Params.Get("user_id") != "U1" {
		t.Errorf("views.publish calls = %+v", calls)
	}
}
