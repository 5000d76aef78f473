package slacktest_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
)

func TestAuthTest(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	got, err := api(srv).AuthTestContext(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got.UserID != slacktest.BotUser || got.BotID != slacktest.BotID || got.TeamID != slacktest.Team {
		t.Errorf("auth.test = %+v, want user %s bot %s team %s", got, slacktest.BotUser, slacktest.BotID, slacktest.Team)
	}
	calls := srv.Calls("auth.test")
	if len(calls) != 1 || calls[0].Token != slacktest.BotToken || calls[0].Params.Has("token") {
		t.Errorf("calls = %+v, want one with the bot token, token not in params", calls)
	}
}

func TestTokensAreChecked(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	tests := []struct {
		name, token, want string
	}{
		{"missing", "", "not_authed"},
		{"wrong", "xoxb-0-not-the-fake", "invalid_auth"},
		{"app token for a bot method", slacktest.AppToken, "not_allowed_token_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := slack.New(tt.token, slack.OptionAPIURL(srv.APIURL()))
			_, _, err := c.PostMessageContext(t.Context(), "C1", slack.MsgOptionText("hi", false))
			if err == nil || err.Error() != tt.want {
				t.Errorf("err = %v, want %s", err, tt.want)
			}
			if _, err := c.AuthTestContext(t.Context()); err == nil || err.Error() != tt.want {
				t.Errorf("auth.test err = %v, want %s", err, tt.want)
			}
		})
	}
	t.Run("bot token for apps.connections.open", func(t *testing.T) {
		c := slack.New(slacktest.BotToken, slack.OptionAPIURL(srv.APIURL()), slack.OptionAppLevelToken(slacktest.BotToken))
		if _, _, err := c.StartSocketModeContext(t.Context()); err == nil || err.Error() != "not_allowed_token_type" {
			t.Errorf("err = %v, want not_allowed_token_type", err)
		}
	})
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages posted with bad tokens", n)
	}
	var errs []string
	for _, c := range srv.Calls("chat.postMessage") {
		errs = append(errs, c.Error)
	}
	if diff := cmp.Diff([]string{"not_authed", "invalid_auth", "not_allowed_token_type"}, errs); diff != "" {
		t.Errorf("recorded errors (-want +got):\n%s", diff)
	}
}

func TestPostUpdateDelete(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	c := api(srv)
	ctx := t.Context()
	blocks := slack.MsgOptionBlocks(slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*deploying*", false, false), nil, nil))
	ch, ts, err := c.PostMessageContext(ctx, "C1", slack.MsgOptionText("deploying", false), slack.MsgOptionTS("1699999999.000001"), blocks)
	if err != nil {
		t.Fatal(err)
	}
	if ch != "C1" || ts != "1700000000.000100" {
		t.Errorf("posted to %s at %s, want C1 at 1700000000.000100", ch, ts)
	}
	_, ts2, err := c.PostMessageContext(ctx, "C1", slack.MsgOptionText("second", false))
	if err != nil {
		t.Fatal(err)
	}
	if ts2 <= ts {
		t.Errorf("second ts %s not after %s", ts2, ts)
	}
	if _, _, _, err := c.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("deployed", false)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.DeleteMessageContext(ctx, "C1", ts2); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := c.UpdateMessageContext(ctx, "C1", ts2, slack.MsgOptionText("gone", false)); err == nil || err.Error() != "message_not_found" {
		t.Errorf("update of a deleted message: err = %v, want message_not_found", err)
	}

	want := []slacktest.Message{
		{Method: "chat.postMessage", Channel: "C1", TS: ts, ThreadTS: "1699999999.000001", Text: "deploying",
			Blocks: `[{"type":"section","text":{"type":"mrkdwn","text":"*deploying*"}}]`},
		{Method: "chat.postMessage", Channel: "C1", TS: ts2, Text: "second"},
		{Method: "chat.update", Channel: "C1", TS: ts, ThreadTS: "1699999999.000001", Text: "deployed"},
		{Method: "chat.delete", Channel: "C1", TS: ts2},
	}
	if diff := cmp.Diff(want, srv.Messages()); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	if got := srv.Calls("chat.postMessage")[0].Params.Get("blocks"); !strings.Contains(got, "*deploying*") {
		t.Errorf("recorded blocks param = %s", got)
	}
}

func TestEphemeralAndReactions(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	c := api(srv)
	ctx := t.Context()
	ts, err := c.PostEphemeralContext(ctx, "C1", "U1", slack.MsgOptionText("only you", false))
	if err != nil || ts == "" {
		t.Fatalf("postEphemeral = %q, %v", ts, err)
	}
	srv.Mention("U1", "C1", "deploy")
	// The mention is a message in C1 the bot can react to.
	msgTS := srv.Events()[0].TS
	if err := c.AddReactionContext(ctx, "eyes", slack.ItemRef{Channel: "C1", Timestamp: msgTS}); err != nil {
		t.Fatal(err)
	}
	if err := c.AddReactionContext(ctx, "eyes", slack.ItemRef{Channel: "C1", Timestamp: msgTS}); err == nil || err.Error() != "already_reacted" {
		t.Errorf("second reaction: err = %v, want already_reacted", err)
	}
	if err := c.AddReactionContext(ctx, "eyes", slack.ItemRef{Channel: "C1", Timestamp: "1.2"}); err == nil || err.Error() != "message_not_found" {
		t.Errorf("reaction to nothing: err = %v, want message_not_found", err)
	}
	if got := srv.Messages(); len(got) != 1 || got[0].EphemeralUser != "U1" || got[0].Method != "chat.postEphemeral" {
		t.Errorf("messages = %+v, want one ephemeral for U1", got)
	}
	if diff := cmp.Diff([]slacktest.Reaction{{Name: "eyes", Channel: "C1", TS: msgTS}}, srv.Reactions()); diff != "" {
		t.Errorf("reactions (-want +got):\n%s", diff)
	}
}

func TestLookups(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	c := api(srv)
	ctx := t.Context()
	srv.SetUser(slacktest.User{ID: "U1", Name: "alice", RealName: "Alice", Email: "alice@example.com", IsAdmin: true})
	srv.SetChannel(slacktest.Channel{ID: "C1", Name: "deploys"})
	srv.SetUserGroup("S1", "U1", "U2")

	u, err := c.GetUserInfoContext(ctx, "U1")
	if err != nil || u.Name != "alice" || u.Profile.Email != "alice@example.com" || !u.IsAdmin {
		t.Errorf("users.info U1 = %+v, %v", u, err)
	}
	if u, err := c.GetUserInfoContext(ctx, slacktest.BotUser); err != nil || !u.IsBot {
		t.Errorf("users.info of the bot = %+v, %v; want a bot", u, err)
	}
	if _, err := c.GetUserInfoContext(ctx, "nobody"); err == nil || err.Error() != "user_not_found" {
		t.Errorf("users.info nobody: err = %v, want user_not_found", err)
	}
	ch, err := c.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: "C1"})
	if err != nil || ch.Name != "deploys" || !ch.IsChannel {
		t.Errorf("conversations.info C1 = %+v, %v", ch, err)
	}
	if im, err := c.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: "D1"}); err != nil || !im.IsIM {
		t.Errorf("conversations.info D1 = %+v, %v; want an IM", im, err)
	}
	members, err := c.GetUserGroupMembersContext(ctx, "S1")
	if diff := cmp.Diff([]string{"U1", "U2"}, members); err != nil || diff != "" {
		t.Errorf("usergroups.users.list S1: %v (-want +got):\n%s", err, diff)
	}
	if _, err := c.GetUserGroupMembersContext(ctx, "S9"); err == nil || err.Error() != "no_such_subteam" {
		t.Errorf("unknown group: err = %v, want no_such_subteam", err)
	}

	// A thread: the user's mention, the bot's reply, the user's follow-up.
	srv.Mention("U1", "C1", "status")
	parent := "1700000000.000100"
	if _, _, err := c.PostMessageContext(ctx, "C1", slack.MsgOptionText("all good", false), slack.MsgOptionTS(parent)); err != nil {
		t.Fatal(err)
	}
	srv.MentionInThread("U1", "C1", parent, "thanks")
	msgs, _, _, err := c.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{ChannelID: "C1", Timestamp: parent})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range msgs {
		got = append(got, m.User+": "+m.Text)
	}
	want := []string{"U1: <@UBOT> status", "UBOT: all good", "U1: <@UBOT> thanks"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("conversations.replies (-want +got):\n%s", diff)
	}
	if msgs[1].BotID != slacktest.BotID || msgs[0].ReplyCount != 2 {
		t.Errorf("reply bot_id = %q, parent reply_count = %d", msgs[1].BotID, msgs[0].ReplyCount)
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	c := api(srv)
	long := slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, strings.Repeat("x", 3001), false, false), nil, nil)
	tests := []struct {
		name string
		opts []slack.MsgOption
		want string
	}{
		{"no text", nil, "no_text"},
		{"text too long", []slack.MsgOption{slack.MsgOptionText(strings.Repeat("x", slacktest.MaxTextLen+1), false)}, "msg_too_long"},
		{"section too long", []slack.MsgOption{slack.MsgOptionBlocks(long)}, "invalid_blocks"},
		{"longest text", []slack.MsgOption{slack.MsgOptionText(strings.Repeat("x", slacktest.MaxTextLen), false)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := c.PostMessageContext(t.Context(), "C1", tt.opts...)
			if got := fmt.Sprint(err); (tt.want == "" && err != nil) || (tt.want != "" && got != tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("%d messages recorded, want only the valid one", n)
	}
}

func TestUploadFile(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	content := "line 1\nline 2\n"
	f, err := api(srv).UploadFileContext(t.Context(), slack.UploadFileParameters{
		Filename: "out.txt", Title: "Output", Content: content, FileSize: len(content),
		Channel: "C1", ThreadTimestamp: "1700000000.000100", InitialComment: "full output",
	})
	if err != nil {
		t.Fatal(err)
	}
	files := srv.Files()
	if len(files) != 1 {
		t.Fatalf("files = %+v, want 1", files)
	}
	got := files[0]
	if f.ID != got.ID || f.Title != "Output" {
		t.Errorf("UploadFile returned %+v, recorded %s", f, got.ID)
	}
	want := slacktest.File{ID: got.ID, Name: "out.txt", Title: "Output", Length: len(content), Content: []byte(content),
		Channel: "C1", ThreadTS: "1700000000.000100", InitialComment: "full output", Completed: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("file (-want +got):\n%s", diff)
	}
	if len(srv.Calls("files.getUploadURLExternal")) != 1 || len(srv.Calls("files.completeUploadExternal")) != 1 {
		t.Errorf("calls = %+v", srv.Calls(""))
	}
}

func TestRateLimitIsRetriedOnce(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	srv.RateLimit("chat.postMessage", 1)
	start := time.Now()
	_, _, err := api(srv, slack.OptionRetry(2)).PostMessageContext(t.Context(), "C1", slack.MsgOptionText("once", false))
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("retried after %v, before Retry-After: 1", d)
	}
	calls := srv.Calls("chat.postMessage")
	if len(calls) != 2 || calls[0].Status != 429 || calls[0].Error != "ratelimited" || calls[1].Status != 200 {
		t.Errorf("calls = %+v, want a 429 then a 200", calls)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("%d messages posted, want exactly 1", n)
	}
}

func TestRateLimitWithoutRetry(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	srv.Inject("chat.update", 1, slacktest.Fault{RetryAfter: 7, Error: "ratelimited"})
	_, _, _, err := api(srv).UpdateMessageContext(t.Context(), "C1", "1.1", slack.MsgOptionText("x", false))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 7*time.Second {
		t.Errorf("err = %v, want RateLimitedError after 7s", err)
	}
}

func TestFailAndDelay(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	c := api(srv)
	srv.Fail("chat.postMessage", 1, "channel_not_found")
	if _, _, err := c.PostMessageContext(t.Context(), "C1", slack.MsgOptionText("a", false)); err == nil || err.Error() != "channel_not_found" {
		t.Errorf("err = %v, want channel_not_found", err)
	}
	if _, _, err := c.PostMessageContext(t.Context(), "C1", slack.MsgOptionText("b", false)); err != nil {
		t.Errorf("after the fault: %v", err)
	}

	srv.Inject("auth.test", -1, slacktest.Fault{Delay: time.Second})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.AuthTestContext(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("slow auth.test: err = %v, want deadline exceeded", err)
	}
	srv.WaitFor(t, 0, func() bool { return len(srv.Calls("auth.test")) == 1 })
	if c := srv.Calls("auth.test")[0]; c.Status != 0 {
		t.Errorf("abandoned call recorded with status %d", c.Status)
	}
	srv.ClearFaults("auth.test")
	if _, err := c.AuthTestContext(t.Context()); err != nil {
		t.Errorf("after ClearFaults: %v", err)
	}
}

func TestHandle(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	c := api(srv)
	if _, err := c.GetTeamInfoContext(t.Context()); err == nil || err.Error() != "unknown_method" {
		t.Errorf("team.info, a method the fake lacks: err = %v, want unknown_method", err)
	}
	if _, err := c.OpenViewContext(t.Context(), "trig", slack.ModalViewRequest{Type: slack.VTModal}); err == nil || err.Error() != "invalid_trigger_id" {
		t.Errorf("views.open before Handle: err = %v, want the fake's invalid_trigger_id", err)
	}
	srv.Handle("views.open", func(p url.Values) (map[string]any, string) {
		if p.Get("trigger_id") != "trig" {
			return nil, "invalid_trigger_id"
		}
		return map[string]any{"view": map[string]any{"id": "V1"}}, ""
	})
	v, err := c.OpenViewContext(t.Context(), "trig", slack.ModalViewRequest{Type: slack.VTModal})
	if err != nil || v.ID != "V1" {
		t.Errorf("views.open = %+v, %v", v, err)
	}
}

func TestConcurrentPosts(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	c := api(srv)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if _, _, err := c.PostMessageContext(t.Context(), "C1", slack.MsgOptionText(fmt.Sprint(i), false)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, m := range srv.WaitMessages(t, 20) {
		if seen[m.TS] {
			t.Errorf("ts %s given twice", m.TS)
		}
		seen[m.TS] = true
	}
}

func TestMessageButton(t *testing.T) {
	m := slacktest.Message{Blocks: `[{"type":"section","text":{"type":"mrkdwn","text":"Deploy?"}},` +
		`{"type":"actions","elements":[{"type":"button","action_id":"yes","value":"c1:yes"},{"type":"button","action_id":"no","value":"c1:no"}]}]`}
	for _, tt := range []struct {
		id, want string
		ok       bool
	}{{"yes", "c1:yes", true}, {"no", "c1:no", true}, {"maybe", "", false}} {
		if v, ok := m.Button(tt.id); v != tt.want || ok != tt.ok {
			t.Errorf("Button(%q) = %q, %v; want %q, %v", tt.id, v, ok, tt.want, tt.ok)
		}
	}
	if _, ok := (slacktest.Message{Text: "no blocks"}).Button("yes"); ok {
		t.Error("a message without blocks has a button")
	}
}

func TestButtonClickFindsNewestPrompt(t *testing.T) {
	srv := slacktest.New(t)
	if _, ok := srv.ButtonClick("U1", "yes"); ok {
		t.Fatal("a click found before anything was posted")
	}
	api := slack.New(slacktest.BotToken, slack.OptionAPIURL(srv.APIURL()))
	buttons := func(value string) slack.MsgOption {
		return slack.MsgOptionBlocks(slack.NewActionBlock("a", slack.NewButtonBlockElement("yes", value, slack.NewTextBlockObject("plain_text", "Yes", false, false))))
	}
	for _, v := range []string{"c1:yes", "c2:yes"} {
		if _, _, err := api.PostMessage("C1", slack.MsgOptionText("Sure?", false), buttons(v)); err != nil {
			t.Fatal(err)
		}
	}
	a, ok := srv.ButtonClick("U9", "yes")
	if !ok || a.Value != "c2:yes" || a.User != "U9" || a.Channel != "C1" || a.MessageTS == "" {
		t.Errorf("ButtonClick = %+v, %v; want U9's click on the newest prompt (c2)", a, ok)
	}
}
