package botkit

import (
	"context"
	"fmt"
	"time"
)

// refusal is the error of a run that botkit's policy stopped before the
// handler: the user sees msg, the audit line says refused.
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }

func refuse(msg string) error { return &refusal{msg: msg} }

// access is the middleware that applies the access rules. It runs again
// when a confirmed or approved command resumes, so a rule changed (or a
// user removed from a group) while the question was open still decides.
func (rt *Runtime) access() Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, req *Request) error {
			d := rt.policy.decide(ctx, req.tr, req.cmd, req.args, req.User, req.Channel)
			rt.metrics.access.Counter(req.cmd.Name(), d.label()).Inc()
			req.decision = d.label()
			if !d.allowed {
				return refuse(d.reason)
			}
			req.ruleConfirm = d.confirm
			if d.rule != nil && d.rule.Approve != nil {
				req.ruleApprove = d.rule
			}
			return next.ServeCommand(ctx, req)
		})
	}
}

// rateLimit is the middleware that holds each user to the settings' rate.
// A resumed command was counted when it was asked.
func (rt *Runtime) rateLimit() Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, req *Request) error {
			if !req.resumed() {
				if ok, wait := rt.policy.limiter.allow(req.User); !ok {
					req.decision = decisionRateLimited
					return refuse(fmt.Sprintf("You're sending commands faster than %d a minute; try again in %s.",
						rt.policy.load().RateLimit.PerMinute, wait.Round(time.Second)))
				}
			}
			return next.ServeCommand(ctx, req)
		})
	}
}
