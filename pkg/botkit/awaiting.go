package botkit

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"
)

// PendingApproval is a command waiting for approval, as its record in the
// state directory holds it: every process sharing the directory sees the
// same, and so does the next one after a restart.
type PendingApproval struct {
	// ID is the record's (a…), the value its buttons carry.
	ID string
	// Text is the command as the requester asked it, with the defaults
	// filled in after it (" (env=prd)").
	Text string
	// Args are the command's arguments, canonical, in its pattern's order;
	// Details the values its Prepare froze: what will run.
	Args    []Detail
	Details []Detail
	// User asked, in Channel (and thread Thread), at Created.
	User    string
	Channel string
	Thread  string
	Created time.Time
	// Expires is when no decision rejects it.
	Expires time.Time
	// Rule asks for Count approvals from members of Groups.
	Rule   string
	Groups []string
	Count  int
	// Approvals are those given so far, the requester's never counted.
	Approvals []Approver
	// Requests are the messages that carry its Approve and Reject buttons.
	Requests []MessageRef
}

// Approver is one approval given.
type Approver struct {
	User string
	At   time.Time
}

// PendingApprovals returns the n oldest commands waiting for approval,
// oldest first, and how many wait in all, read from the interaction
// records (in the state directory when the bot has one, so those that
// another process asked for too; else in this process's memory). Only the
// n it returns are read: the others are counted from the directory's
// names, so the count may hold a request that expired in the last
// sweep period (30 s), until a sweep decides it.
func (r *Request) PendingApprovals(n int) (oldest []PendingApproval, total int, err error) {
	if r.rt == nil {
		return nil, 0, nil
	}
	return r.rt.pendingApprovals(n)
}

func (rt *Runtime) pendingApprovals(n int) ([]PendingApproval, int, error) {
	refs, err := rt.pending.waiting(interactionApprove)
	if err != nil {
		return nil, 0, err
	}
	slices.SortFunc(refs, func(a, b waitingRef) int { return cmp.Or(a.Since.Compare(b.Since), cmp.Compare(a.ID, b.ID)) })
	now := rt.now()
	total := len(refs)
	var out []PendingApproval
	for _, ref := range refs {
		if len(out) == n {
			break
		}
		it, err := rt.pending.get(ref.ID)
		if errors.Is(err, errNoInteraction) {
			total-- // pruned meanwhile
			continue
		}
		if err != nil {
			return nil, 0, err
		}
		if !now.Before(it.Expires) {
			total-- // decided at the next sweep
			continue
		}
		votes, err := rt.pending.votes(it.ID)
		if err != nil {
			return nil, 0, fmt.Errorf("reading the approvals of %s: %w", it.ID, err)
		}
		out = append(out, rt.pendingApproval(it, votes))
	}
	// The store's order is by the time each record was stored; Created
	// is the record's own.
	slices.SortStableFunc(out, func(a, b PendingApproval) int { return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID)) })
	return out, total, nil
}

// pendingApproval is what a handler may read of approval it with votes.
func (rt *Runtime) pendingApproval(it *interaction, votes []vote) PendingApproval {
	p := PendingApproval{
		ID: it.ID, Text: it.Run.Text + it.Run.Defaulted, Details: slices.Clone(it.Run.Details),
		User: it.Run.User, Channel: it.Run.Channel, Thread: it.Run.thread(), Created: it.Created, Expires: it.Expires,
		Rule: it.Rule, Groups: slices.Clone(it.Groups), Count: it.Count,
	}
	var params []string
	if c := rt.commandFor(it.Run.Kind, it.Run.Command); c != nil {
		params = c.pat.params
	}
	for i, v := range it.Run.Args {
		name := fmt.Sprintf("arg%d", i+1) // a command this version no longer has
		if i < len(params) {
			name = params[i]
		}
		p.Args = append(p.Args, Detail{Key: name, Value: v})
	}
	for _, v := range votes {
		if v.User != it.Run.User {
			p.Approvals = append(p.Approvals, Approver{User: v.User, At: v.At})
		}
	}
	slices.SortFunc(p.Approvals, func(a, b Approver) int { return a.At.Compare(b.At) })
	for _, m := range it.Posted {
		p.Requests = append(p.Requests, MessageRef{Channel: m.Channel, TS: m.TS})
	}
	return p
}
