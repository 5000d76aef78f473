package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/botfleet/botfleet/pkg/awsx"
	"github.com/botfleet/botfleet/pkg/botkit"
)

// update points the service at taskDef and returns the id of the new
// deployment. Its error is the SDK's, for the caller to judge and wrap.
func (t *target) update(ctx context.Context, taskDef string) (string, error) {
	out, err := t.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: &t.env.Cluster, Service: &t.svc.Name, TaskDefinition: &taskDef})
	if err != nil {
		return "", err
	}
	if p := primary(out.Service); p != nil {
		return aws.ToString(p.Id), nil
	}
	return "", nil
}

// updateRegistered points the service at taskDef, a revision deploy has
// just registered. When that fails the revision would stay registered and
// unused, so it is deregistered; unless ECS may have made the change (no
// answer, or a server error) and the service does deploy it, in which case
// its deployment is returned to follow.
func (t *target) updateRegistered(ctx context.Context, req *botkit.Request, taskDef string) (string, error) {
	id, err := t.update(ctx, taskDef)
	if err == nil {
		return id, nil
	}
	failed := awsError(err, "updating service "+t.svc.Name)
	// Past the command's deadline or a shutdown, AWS still answers.
	actx := context.WithoutCancel(ctx)
	if !rejected(err) {
		s, derr := t.describe(actx, t.svc.Name)
		if derr != nil {
			req.Log().Warn("checking whether a failed update took effect", "task_definition", taskDef, "err", derr)
			return "", withNote(failed, fmt.Sprintf(" I could not tell whether it took effect, so the new revision `%s` stays registered; see `status %s`.", revision(taskDef), t.svc.Name))
		}
		for _, d := range s.Deployments {
			if aws.ToString(d.TaskDefinition) == taskDef {
				req.Log().Warn("updating the service failed, but it deploys the new revision", "err", err, "deployment", aws.ToString(d.Id))
				return aws.ToString(d.Id), nil
			}
		}
	}
	_, derr := t.ecs.DeregisterTaskDefinition(actx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: &taskDef})
	if derr != nil {
		req.Log().Warn("deregistering the unused task definition", "task_definition", taskDef, "err", derr)
		why, _ := awsx.Explain(derr)
		return "", withNote(failed, fmt.Sprintf(" The new revision `%s` stays registered, unused: I could not deregister it (%s).",
			revision(taskDef), botkit.Escape(cmp.Or(why, "see the log"))))
	}
	req.Log().Info("deregistered the unused task definition", "task_definition", taskDef)
	return "", withNote(failed, fmt.Sprintf(" Nothing changed: I deregistered the new revision `%s`.", revision(taskDef)))
}

// rejected reports whether AWS refused a call (a 4xx answer: denied,
// invalid, throttled past the retries), so that it certainly made no
// change. A 5xx answer or none at all leaves it unknown.
func rejected(err error) bool {
	var re *smithyhttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() >= 400 && re.HTTPStatusCode() < 500
}

// withNote appends note to the user's line of err, when it has one.
func withNote(err error, note string) error {
	if ue, ok := botkit.AsUserError(err); ok {
		return &botkit.UserError{Msg: ue.Msg + note, Err: ue.Err}
	}
	return err
}

// follow reports deployment id of taskDef in one message, edited when it
// changes (at most once per poll interval), until it completes, fails (and
// the circuit breaker's rollback completes), or rollout_timeout passes. The
// result is a new reply, so Slack notifies the user; a failure is a user
// error.
func (t *target) follow(ctx context.Context, req *botkit.Request, id, taskDef, headline string) error {
	start := time.Now()
	req.Log().Info("rollout started", "service", t.svc.Name, "env", t.env.Name, "deployment", id, "task_definition", taskDef)
	update := t.job.Progress
	update(ctx, headline+"…")
	took := func() string { return time.Since(start).Round(time.Second).String() }

	deadline := time.NewTimer(t.cfg.RolloutTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(t.cfg.PollInterval)
	defer tick.Stop()
	failReason := "" // the circuit breaker's, once seen
	for {
		select {
		case <-ctx.Done():
			// Shutting down or out of time: say so while Slack still listens.
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			update(uctx, headline+": I stopped watching after "+took()+"; the rollout goes on in ECS. See `status "+t.svc.Name+"`.")
			return ctx.Err()
		case <-deadline.C:
			update(ctx, headline+": still rolling out after "+took()+".")
			return botkit.Userf("`%s` in %s is still rolling out after %s; I stopped watching. See `status %s`.", t.svc.Name, t.env.Name, took(), t.svc.Name)
		case <-tick.C:
		}
		s, err := t.describe(ctx, t.svc.Name)
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				continue // the select above reports it
			}
			return err
		}
		var mine, now *types.Deployment
		for i := range s.Deployments {
			d := &s.Deployments[i]
			if aws.ToString(d.Id) == id {
				mine = d
			}
			if aws.ToString(d.Status) == "PRIMARY" {
				now = d
			}
		}
		switch {
		case mine == nil && now != nil && aws.ToString(now.TaskDefinition) == taskDef && now.RolloutState == types.DeploymentRolloutStateCompleted:
			fallthrough // ours finished and was cleaned up between two polls
		case mine != nil && mine.RolloutState == types.DeploymentRolloutStateCompleted:
			update(ctx, headline+": done in "+took()+".")
			_, err := req.Replyf(ctx, "✅ `%s` in %s runs `%s` (took %s).", t.svc.Name, t.env.Name, revision(taskDef), took())
			return err
		case mine == nil && now != nil && failedIn(s, id):
			// ECS rolled back and dropped the failed deployment between two
			// polls; its service event remains.
			update(ctx, fmt.Sprintf("%s: failed after %s; rolled back to `%s`.", headline, took(), revision(aws.ToString(now.TaskDefinition))))
			return botkit.Userf("❌ The deploy of `%s` in %s failed (%s) and ECS rolled back to `%s` (took %s).%s",
				t.svc.Name, t.env.Name, botkit.Escape(cmp.Or(failReason, "see `status "+t.svc.Name+"`")), revision(aws.ToString(now.TaskDefinition)), took(), t.failureDetail(ctx))
		case mine == nil:
			update(ctx, headline+": replaced by another deployment.")
			return botkit.Userf("Another deployment replaced this one of `%s` in %s; see `status %s`.", t.svc.Name, t.env.Name, t.svc.Name)
		case mine.RolloutState == types.DeploymentRolloutStateFailed:
			reason := aws.ToString(mine.RolloutStateReason)
			failReason = reason
			if now != nil && now != mine && now.RolloutState != types.DeploymentRolloutStateCompleted {
				update(ctx, fmt.Sprintf("%s: failed (%s). Rolling back to `%s`: %d/%d running…", headline, botkit.Escape(reason),
					revision(aws.ToString(now.TaskDefinition)), now.RunningCount, now.DesiredCount))
				continue
			}
			why := t.failureDetail(ctx)
			if now != nil && now != mine {
				update(ctx, fmt.Sprintf("%s: failed after %s; rolled back to `%s`.", headline, took(), revision(aws.ToString(now.TaskDefinition))))
				return botkit.Userf("❌ The deploy of `%s` in %s failed (%s) and ECS rolled back to `%s` (took %s).%s",
					t.svc.Name, t.env.Name, botkit.Escape(reason), revision(aws.ToString(now.TaskDefinition)), took(), why)
			}
			update(ctx, fmt.Sprintf("%s: failed after %s.", headline, took()))
			return botkit.Userf("❌ The deploy of `%s` in %s failed (%s) and was not rolled back (took %s).%s", t.svc.Name, t.env.Name, botkit.Escape(reason), took(), why)
		default:
			update(ctx, fmt.Sprintf("%s: %d/%d running, %d pending, %d failed (%s)…", headline, mine.RunningCount, mine.DesiredCount, mine.PendingCount, mine.FailedTasks, took()))
		}
	}
}

// failureDetail returns the newest stopped task's reason, as a sentence
// to append, or "".
func (t *target) failureDetail(ctx context.Context) string {
	lines, err := t.stoppedTasks(ctx, t.svc.Name, 1)
	if err != nil || len(lines) == 0 {
		return ""
	}
	return " Last stopped task: " + strings.TrimSpace(lines[0]) + "."
}

// failedIn reports whether the service's events say deployment id failed.
func failedIn(s *types.Service, id string) bool {
	for _, e := range s.Events {
		if m := aws.ToString(e.Message); strings.Contains(m, "(deployment "+id+")") && strings.Contains(m, "failed") {
			return true
		}
	}
	return false
}
