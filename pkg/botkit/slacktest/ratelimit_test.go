package slacktest_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
)

// post posts text to channel and returns the Retry-After of a 429, 0 if
// the post went through.
func post(t *testing.T, c *slack.Client, channel, text string) time.Duration {
	t.Helper()
	_, _, err := c.PostMessageContext(t.Context(), channel, slack.MsgOptionText(text, false))
	var rl *slack.RateLimitedError
	switch {
	case errors.As(err, &rl):
		return rl.RetryAfter
	case err != nil:
		t.Fatal(err)
	}
	return 0
}

func TestRateLimitsOffByDefault(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	c := api(srv)
	for range 20 {
		if wait := post(t, c, "C1", "hi"); wait != 0 {
			t.Fatalf("rate limited (Retry-After %v) without WithRateLimits", wait)
		}
	}
	if n := srv.RateLimited(""); n != 0 {
		t.Errorf("RateLimited = %d, want 0", n)
	}
}

func TestRateLimitsPostMessagePerChannel(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t, slacktest.WithRateLimits())
	c := api(srv)
	for i := range 3 { // the burst chat.postMessage allows in one channel
		if wait := post(t, c, "C1", "burst"); wait != 0 {
			t.Fatalf("post %d limited", i+1)
		}
	}
	if wait := post(t, c, "C1", "one too many"); wait != time.Second {
		t.Errorf("4th post in C1: Retry-After %v, want 1s", wait)
	}
	if wait := post(t, c, "C2", "other channel"); wait != 0 {
		t.Errorf("post in C2 limited by C1's bucket (Retry-After %v)", wait)
	}
	if n := srv.RateLimited("chat.postMessage"); n != 1 {
		t.Errorf("RateLimited(chat.postMessage) = %d, want 1", n)
	}
	calls := srv.Calls("chat.postMessage")
	if last := calls[3]; last.Status != http.StatusTooManyRequests || last.Error != "ratelimited" {
		t.Errorf("limited call recorded as %+v", last)
	}
	if n := len(srv.Messages()); n != 4 {
		t.Errorf("%d messages posted, want 4 (the limited one is not)", n)
	}

	// A client that honours Retry-After gets through once the bucket has
	// refilled: one post a second.
	start := time.Now()
	if _, _, err := api(srv, slack.OptionRetry(1)).PostMessageContext(t.Context(), "C1", slack.MsgOptionText("patient", false)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Errorf("post got through after %v, before the bucket refilled", d)
	}
}

func TestRateLimitsTiers(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t, slacktest.WithRateLimits(
		slacktest.Limit{Method: "chat.update", PerMinute: 6, Burst: 2},
		slacktest.Limit{Method: "chat.postMessage"}, // lifted
	))
	c := api(srv)
	ctx := t.Context()
	// users.info is Tier 4: a burst of 100, then one every 0.6 s.
	for i := range 100 {
		if _, err := c.GetUserInfoContext(ctx, "U1"); err != nil {
			t.Fatalf("users.info %d: %v", i+1, err)
		}
	}
	var rl *slack.RateLimitedError
	if _, err := c.GetUserInfoContext(ctx, "U1"); !errors.As(err, &rl) || rl.RetryAfter != time.Second {
		t.Errorf("101st users.info: err = %v, want Retry-After 1s", err)
	}
	// The override: 2 at once, then one every 10 s.
	_, ts, err := c.PostMessageContext(ctx, "C1", slack.MsgOptionText("v1", false))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, _, _, err := c.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("v", false)); err != nil {
			t.Fatalf("update %d: %v", i+1, err)
		}
	}
	if _, _, _, err := c.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("v", false)); !errors.As(err, &rl) || rl.RetryAfter != 10*time.Second {
		t.Errorf("3rd chat.update: err = %v, want Retry-After 10s", err)
	}
	for range 10 {
		if wait := post(t, c, "C1", "unlimited"); wait != 0 {
			t.Fatalf("chat.postMessage limited after its limit was lifted")
		}
	}
	if got := []int{srv.RateLimited("users.info"), srv.RateLimited("chat.update"), srv.RateLimited("")}; got[0] != 1 || got[1] != 1 || got[2] != 2 {
		t.Errorf("RateLimited users.info, chat.update, all = %v, want 1 1 2", got)
	}
}

func TestDefaultLimits(t *testing.T) {
	t.Parallel()
	want := map[string]slacktest.Limit{
		"views.open":            {Method: "views.open", PerMinute: 100, Burst: 100},
		"chat.update":           {Method: "chat.update", PerMinute: 50, Burst: 50},
		"chat.postMessage":      {Method: "chat.postMessage", PerMinute: 60, Burst: 3, PerChannel: true},
		"apps.connections.open": {Method: "apps.connections.open", PerMinute: 1, Burst: 3},
	}
	for _, l := range slacktest.DefaultLimits() {
		if w, ok := want[l.Method]; ok && w != l {
			t.Errorf("limit of %s = %+v, want %+v", l.Method, l, w)
		}
		delete(want, l.Method)
	}
	if len(want) != 0 {
		t.Errorf("no default limit for %v", want)
	}
	defer func() {
		if recover() == nil {
			t.Error("WithRateLimits accepted a limit with no burst")
		}
	}()
	slacktest.WithRateLimits(slacktest.Limit{Method: "views.open", PerMinute: 10})
}
