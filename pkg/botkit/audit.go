package botkit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// audit is the outermost middleware: every run leaves one line, whatever
// became of it (allowed, denied, rate limited, parked for a confirmation,
// run), with its metrics, and the line goes to the audit channel if the
// settings name one. The arguments it logs are the canonical values the
// access check and the handler saw.
func (rt *Runtime) audit() Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, req *Request) error {
			start := time.Now()
			err := next.ServeCommand(ctx, req)
			rt.record(ctx, req, err, time.Since(start))
			return err
		})
	}
}

// record writes req's audit line and metrics for a run that ended with err
// after d.
func (rt *Runtime) record(ctx context.Context, req *Request, err error, d time.Duration) {
	outcome := Outcome(err)
	rt.metrics.commands.Counter(req.cmd.pat.src, outcome).Inc()
	if outcome != OutcomeRefused && outcome != OutcomePending && outcome != OutcomeAwaitingApproval {
		rt.metrics.duration.Histogram(durationBuckets, req.cmd.pat.src).Update(d.Seconds())
	}
	attrs := []any{
		slog.Any("args", argAttrs(req)), slog.String("decision", req.decision),
		slog.String("outcome", outcome), slog.Duration("duration", d),
	}
	if req.answeredBy != "" {
		attrs = append(attrs, slog.String("confirmed_by", req.answeredBy))
	}
	if len(req.approvals) > 0 {
		approvers := make([]any, len(req.approvals))
		for i, v := range req.approvals {
			approvers[i] = slog.Time(v.User, v.At)
		}
		attrs = append(attrs, slog.Group("approved_by", approvers...))
	}
	if v := req.verdict; v != nil && v.By != "" {
		attrs = append(attrs, slog.String("decided_by", v.By), slog.Time("decided_at", v.At))
	}
	if len(req.details) > 0 {
		details := make([]any, len(req.details))
		for i, d := range req.details {
			details[i] = slog.String(d.Key, d.Value)
		}
		attrs = append(attrs, slog.Group("details", details...))
	}
	if err != nil && outcome != OutcomePending && outcome != OutcomeAwaitingApproval && outcome != OutcomeRefused {
		attrs = append(attrs, slog.Any("err", err))
		// A UserError's text is what the user saw; its cause is what the
		// operator needs.
		if ue, ok := AsUserError(err); ok && ue.Err != nil {
			attrs = append(attrs, slog.Any("cause", ue.Err))
		}
	}
	level := slog.LevelInfo
	if outcome == OutcomeError || outcome == OutcomePanic || outcome == OutcomeTimeout {
		level = slog.LevelError
	}
	req.logger.Log(ctx, level, "audit", attrs...)
	if ch := rt.policy.load().Audit.Channel; ch != "" {
		rt.postAudit(ctx, req, ch, req.decision, outcome, d)
	}
}

func (rt *Runtime) postAudit(ctx context.Context, req *Request, channel, decision, outcome string, d time.Duration) {
	line := fmt.Sprintf("<@%s> ran `%s` in <#%s>: %s (%s, %s, ref `%s`)",
		req.User, Escape(clip(req.Text, 200)), req.Channel, outcome, decision, d.Round(time.Millisecond), req.CorrelationID)
	if len(req.approvals) > 0 {
		line += "; approved by " + voters(req.approvals)
	}
	if v := req.verdict; v != nil && v.By != "" {
		line += "; " + v.Outcome + " by <@" + v.By + "> at " + v.At.UTC().Format(time.RFC3339)
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), noteTimeout)
	defer cancel()
	if _, err := req.tr.Post(pctx, Message{Channel: channel, Text: line}); err != nil {
		rt.metrics.errors.Counter("audit").Inc()
		req.logger.Error("posting to the audit channel", "audit_channel", channel, "err", err)
	}
}

// argAttrs is the command's arguments as a log group.
func argAttrs(req *Request) slog.Value {
	attrs := make([]slog.Attr, len(req.args))
	for i, v := range req.args {
		attrs[i] = slog.String(req.cmd.pat.params[i], v)
	}
	return slog.GroupValue(attrs...)
}

// Outcome classifies a handler's error as the outcome label of metrics and
// logs: ok, user_error, timeout, panic, refused (botkit's policy stopped
// it), awaiting_confirmation, awaiting_approval or error.
func Outcome(err error) string {
	var pe *PanicError
	var rf *refusal
	switch {
	case err == nil:
		return OutcomeOK
	case errors.Is(err, errAwaitingApproval):
		return OutcomeAwaitingApproval
	case errors.Is(err, errParked):
		return OutcomePending
	case errors.As(err, &rf):
		return OutcomeRefused
	case errors.As(err, &pe):
		return OutcomePanic
	case isFieldErrors(err):
		return OutcomeUserError
	case errors.Is(err, context.DeadlineExceeded):
		return OutcomeTimeout
	}
	if _, ok := AsUserError(err); ok {
		return OutcomeUserError
	}
	return OutcomeError
}
