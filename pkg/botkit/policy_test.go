package botkit

import (
	"context"
	"errors"
	"log/slog"
	"testing"
)

// The policy's middleware, each alone around a handler: access decides
// from the settings the runtime holds, the rate limit counts per user.
func TestPolicyMiddlewareAlone(t *testing.T) {
	b := New("t")
	c := b.Command("deploy {app:name} {env:dev|prd}", nop)
	rt := NewRuntime(b)
	if err := rt.Apply(Settings{
		Access:    AccessConfig{Rules: []Rule{{Name: "prd", Command: "deploy", Args: map[string]string{"env": "PRD"}, Users: []string{"U0BOSS"}}}},
		RateLimit: RateLimitConfig{PerMinute: 1},
	}); err != nil {
		t.Fatal(err)
	}
	ran := 0
	h := HandlerFunc(func(context.Context, *Request) error { ran++; return nil })
	req := func(user, env string) *Request {
		return &Request{User: user, cmd: c, args: []string{"api", env}, logger: slog.New(slog.DiscardHandler), ev: &Event{}}
	}
	access := rt.access()(h)
	var rf *refusal
	if err := access.ServeCommand(t.Context(), req("U0ANY", "prd")); !errors.As(err, &rf) || ran != 0 {
		t.Errorf("access: U0ANY deploying to prd = %v (ran %d), want a refusal", err, ran)
	}
	if err := access.ServeCommand(t.Context(), req("U0BOSS", "prd")); err != nil || ran != 1 {
		t.Errorf("access: U0BOSS deploying to prd = %v (ran %d)", err, ran)
	}
	limit := rt.rateLimit()(h)
	if err := limit.ServeCommand(t.Context(), req("U1", "dev")); err != nil {
		t.Fatal(err)
	}
	if err := limit.ServeCommand(t.Context(), req("U1", "dev")); !errors.As(err, &rf) {
		t.Errorf("rate limit: a second run in the minute = %v, want a refusal", err)
	}
	resumed := req("U1", "dev")
	resumed.answeredBy = "U1" // a confirmed run was counted when asked
	if err := limit.ServeCommand(t.Context(), resumed); err != nil {
		t.Errorf("rate limit: a confirmed run = %v", err)
	}
}
