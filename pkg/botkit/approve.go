package botkit

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Approval is an access rule's demand that others approve a run before it
// happens: members of Groups, Count of them, within Timeout. The requester
// never counts, even as a member.
type Approval struct {
	// Groups are the Slack user groups (S…) whose members may approve or
	// reject.
	Groups []string `yaml:"groups"`
	// Count is how many different approvers it takes, at least 1.
	Count int `yaml:"count"`
	// Timeout is how long the request waits (default 30m, from 1m to
	// 24h); no decision within it rejects it.
	Timeout time.Duration `yaml:"timeout"`
}

// Bounds of an approval's timeout and count.
const (
	DefaultApprovalTimeout = 30 * time.Minute
	MinApprovalTimeout     = time.Minute
	MaxApprovalTimeout     = 24 * time.Hour
	MaxApprovalCount       = 10
)

func (a *Approval) timeout() time.Duration {
	if a.Timeout == 0 {
		return DefaultApprovalTimeout
	}
	return a.Timeout
}

// check reports what is wrong with a, one error per problem, each naming
// its key under key.
func (a *Approval) check(key string) []error {
	var errs []error
	if len(a.Groups) == 0 {
		errs = append(errs, fmt.Errorf("key %s.groups: name at least one Slack user group (S…) whose members approve", key))
	}
	for _, g := range a.Groups {
		if !slackID(g, "S") {
			errs = append(errs, fmt.Errorf("key %s.groups: %q is not a Slack user group ID (S…, as in <!subteam^S0123>)", key, g))
		}
	}
	if a.Count < 1 || a.Count > MaxApprovalCount {
		errs = append(errs, fmt.Errorf("key %s.count: %d is out of range: how many different approvers it takes, from 1 to %d", key, a.Count, MaxApprovalCount))
	}
	if a.Timeout != 0 && (a.Timeout < MinApprovalTimeout || a.Timeout > MaxApprovalTimeout) {
		errs = append(errs, fmt.Errorf("key %s.timeout: %s is out of range: from %s to %s (default %s)", key, a.Timeout, MinApprovalTimeout, "24h", "30m"))
	}
	return errs
}

// Detail is a value a command fixes before it is confirmed or approved,
// such as the commit a branch resolves to or the image a tag names:
// approvers see it, the record keeps it, and the command runs with it.
type Detail struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Prepare runs f before a command asks for a confirmation or an approval
// (and before it runs, when it asks for neither), on a worker with the
// command's arguments bound. f resolves what the command will act on and
// fixes it with Request.Freeze; the command, run after any approval, reads
// it back with Request.Frozen, so it runs exactly what was approved. An
// error is handled as the command's own.
func Prepare(f HandlerFunc) CommandOption {
	if f == nil {
		panic("botkit: nil Prepare func")
	}
	return func(c *Command) { c.prepare = f }
}

// Freeze fixes key's value for this run: shown to approvers and in the
// confirmation, recorded with the request and in its audit line, and
// returned by Frozen when the command runs, even in another process or
// after a restart. Call it from a Prepare func; a later call for the same
// key replaces the value.
func (r *Request) Freeze(key, value string) {
	r.respMu.Lock()
	defer r.respMu.Unlock()
	for i := range r.details {
		if r.details[i].Key == key {
			r.details[i].Value = value
			return
		}
	}
	r.details = append(r.details, Detail{Key: key, Value: value})
}

// Frozen returns the value frozen for key, or "".
func (r *Request) Frozen(key string) string {
	r.respMu.Lock()
	defer r.respMu.Unlock()
	for _, d := range r.details {
		if d.Key == key {
			return d.Value
		}
	}
	return ""
}

// Details returns every value frozen for this run, in the order frozen.
func (r *Request) Details() []Detail {
	r.respMu.Lock()
	defer r.respMu.Unlock()
	return slices.Clone(r.details)
}

// approval is the middleware that parks a command whose access rule asks
// for an approval until enough approvers approve it, and lets an approved
// one through if the rule, read again now, is still satisfied.
func (rt *Runtime) approval() Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, req *Request) error {
			r := req.ruleApprove
			if r == nil {
				return next.ServeCommand(ctx, req)
			}
			a := r.Approve
			if req.approvals != nil {
				// Approved: the rule may have changed meanwhile, and an
				// approver may have left its groups.
				valid, err := rt.countable(ctx, req.tr, a.Groups, req.User, req.approvals)
				if err != nil {
					req.logger.Warn("approval: group lookup failed at the decision; not run", "err", err)
					return refuse("Not run: I couldn't check that the approvers are still members of " + groupList(a.Groups) +
						" (Slack didn't answer); run the command again to ask again.")
				}
				if len(valid) < a.Count {
					return refuse(fmt.Sprintf("Not run: access rule `%s` now needs %d approvals and this request had %d (from members of %s); run the command again to ask again.",
						Escape(r.Name), a.Count, len(valid), groupList(a.Groups)))
				}
				return next.ServeCommand(ctx, req)
			}
			now := rt.now()
			it := &interaction{
				ID: newInteractionID(interactionApprove), Kind: interactionApprove, Created: now, Expires: now.Add(a.timeout()), Timeout: a.timeout(),
				Rule: r.Name, Groups: slices.Clone(a.Groups), Count: a.Count, Run: runSpecOf(req),
			}
			it.Question = approvalQuestion(it, req)
			return rt.s.park(ctx, req, it, Prompt{ID: it.ID, Yes: "Approve", No: "Reject"}, rt.policy.load().Access.ApprovalChannel)
		})
	}
}

// approvalQuestion shows approvers exactly what will run.
func approvalQuestion(it *interaction, req *Request) string {
	var b strings.Builder
	// Slack shows at most 3,000 characters of a section: long values are
	// cut, visibly, so the buttons still come.
	fmt.Fprintf(&b, "Approval needed: <@%s> asks to run `%s`%s", it.Run.User, Escape(clip(it.Run.Text, 1000)), it.Run.Defaulted)
	if it.Run.Channel != "" {
		fmt.Fprintf(&b, " in <#%s>", it.Run.Channel)
	}
	b.WriteString(".\n")
	if len(req.args) > 0 {
		parts := make([]string, len(req.args))
		for i, v := range req.args {
			parts[i] = req.cmd.pat.params[i] + "=" + v
		}
		fmt.Fprintf(&b, "• arguments: `%s`\n", Escape(clip(strings.Join(parts, " "), 800)))
	}
	for _, d := range it.Run.Details {
		fmt.Fprintf(&b, "• %s: `%s`\n", Escape(clip(d.Key, 40)), Escape(clip(d.Value, 200)))
	}
	groups := make([]string, len(it.Groups))
	for i, g := range it.Groups {
		groups[i] = "<!subteam^" + g + ">"
	}
	approvals := "1 approval"
	if it.Count > 1 {
		approvals = fmt.Sprintf("%d approvals from different people", it.Count)
	}
	fmt.Fprintf(&b, "Needs %s from %s (access rule `%s`) within %s; the requester cannot approve, and can withdraw with Reject.",
		approvals, strings.Join(groups, " or "), Escape(it.Rule), it.Timeout)
	return b.String()
}

// answerApproval answers a click on an approval request.
func (s *session) answerApproval(ev Event, it *interaction, yes bool) bool {
	rt := s.rt
	now := rt.now()
	if ev.User == it.Run.User {
		if yes {
			s.refuseClick(ev, it, "self_approval", "You can't approve your own request: another member of "+groupList(it.Groups)+" must.")
			return false
		}
		return s.decide(&ev, it, verdict{Outcome: verdictWithdrawn, By: ev.User, Click: ev.ID, At: now}, nil)
	}
	member, err := s.memberOfAny(it.Groups, ev.User)
	if err != nil {
		rt.logger.Warn("approval: group lookup failed; refusing", "interaction", it.ID, "clicker", ev.User, "err", err)
		s.refuseClick(ev, it, "lookup_failed", "I couldn't check your membership of "+groupList(it.Groups)+" (Slack didn't answer); click again in a moment.")
		return false
	}
	if !member {
		s.refuseClick(ev, it, "not_member", "Only members of "+groupList(it.Groups)+" can approve or reject this.")
		return false
	}
	if !yes {
		return s.decide(&ev, it, verdict{Outcome: verdictRejected, By: ev.User, Click: ev.ID, At: now}, nil)
	}
	votes, fresh, err := rt.pending.vote(it.ID, vote{User: ev.User, Click: ev.ID, At: now})
	if err != nil {
		rt.logger.Error("recording an approval", "interaction", it.ID, "err", err)
		s.post(s.ctx, ev, "I couldn't record your approval just now; click again in a moment.")
		return false
	}
	if votes, err = s.countable(it, votes); err != nil {
		rt.logger.Warn("approval: group lookup failed; not decided", "interaction", it.ID, "err", err)
		s.post(s.ctx, ev, "Your approval is recorded, but I couldn't check the others' (Slack didn't answer); click again in a moment.")
		return false
	}
	rt.logger.Info("audit", "interaction", it.ID, "approval_by", ev.User, "approvals", len(votes), "needed", it.Count,
		"command", it.Run.Text, "requester", it.Run.User, "correlation_id", it.Run.CorrelationID)
	if len(votes) < it.Count {
		left := it.Count - len(votes)
		if !fresh {
			s.refuseClick(ev, it, "repeat_approval", fmt.Sprintf("You approved this already; it needs %d more, from someone else.", left))
			return false
		}
		s.closeQuestionPartly(it, votes)
		s.post(s.ctx, ev, fmt.Sprintf("Your approval is recorded; it needs %d more.", left))
		return false
	}
	return s.decide(&ev, it, verdict{Outcome: verdictApproved, By: ev.User, Click: ev.ID, At: now}, votes)
}

// closeQuestionPartly shows the approvals so far on the request's
// messages, keeping its buttons.
func (s *session) closeQuestionPartly(it *interaction, votes []vote) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), noteTimeout)
	defer cancel()
	if got, err := s.rt.pending.get(it.ID); err == nil {
		it = got
	}
	text := it.Question + fmt.Sprintf("\nApproved so far by %s; needs %d more.", voters(votes), it.Count-len(votes))
	for _, p := range it.Posted {
		m := Message{Channel: p.Channel, Text: text, Prompt: &Prompt{ID: it.ID, Yes: "Approve", No: "Reject"}}
		if p.Channel == it.Run.Channel {
			m.ThreadTS = it.Run.thread()
		}
		if err := s.tr.Update(ctx, MessageRef{Channel: p.Channel, TS: p.TS}, m); err != nil {
			s.rt.logger.Warn("updating an approval request", "interaction", it.ID, "err", err)
		}
	}
}

// countable returns the approvals of it that count now: neither the
// requester's nor those of approvers who have left its groups since.
func (s *session) countable(it *interaction, votes []vote) ([]vote, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), noteTimeout)
	defer cancel()
	return s.rt.countable(ctx, s.tr, it.Groups, it.Run.User, votes)
}

// countable returns the votes that count for an approval by members of
// groups, now: never requester's, nor those of approvers no longer in any
// of groups (the cache holds a minute).
func (rt *Runtime) countable(ctx context.Context, tr Transport, groups []string, requester string, votes []vote) ([]vote, error) {
	var out []vote
	for _, v := range votes {
		if v.User == requester {
			continue
		}
		member, err := rt.memberOfAny(ctx, tr, groups, v.User)
		if err != nil {
			return nil, err
		}
		if member {
			out = append(out, v)
		}
	}
	return out, nil
}

// memberOfAny reports whether user is in one of groups, asking Slack (the
// cache holds a minute).
func (s *session) memberOfAny(groups []string, user string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), noteTimeout)
	defer cancel()
	return s.rt.memberOfAny(ctx, s.tr, groups, user)
}

// memberOfAny reports whether user is in one of groups. A failed lookup of
// one group is an error only if no other group admits the user.
func (rt *Runtime) memberOfAny(ctx context.Context, tr Transport, groups []string, user string) (bool, error) {
	var firstErr error
	for _, g := range groups {
		members, err := rt.policy.groups.members(ctx, tr, g)
		if err != nil {
			firstErr = err
			continue
		}
		if slices.Contains(members, user) {
			return true, nil
		}
	}
	return false, firstErr
}

func groupList(groups []string) string {
	parts := make([]string, len(groups))
	for i, g := range groups {
		parts[i] = "<!subteam^" + g + ">"
	}
	return strings.Join(parts, " or ")
}
