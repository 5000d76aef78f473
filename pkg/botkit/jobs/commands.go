package jobs

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/botfleet/botfleet/pkg/botkit"
)

// status lists the running jobs of every process, then the oldest
// commands awaiting approval, read from the interaction records that every
// process shares (only those it shows are read; the others are counted
// from the directory's names). It first recovers the jobs of processes that died since this one
// started: another pod's.
func (m *Manager) status(ctx context.Context, req *botkit.Request) error {
	if stale, err := m.st.Recover(ctx); err != nil {
		req.Log().Warn("recovering the jobs of stopped processes", "err", err)
	} else if err := m.notify(ctx, stale); err != nil {
		req.Log().Warn("editing the messages of interrupted jobs", "err", err)
	}
	running, err := m.st.Running()
	if err != nil {
		return err
	}
	waiting, nwaiting, err := req.PendingApprovals(maxWaitingShown)
	if err != nil {
		return err
	}
	if len(running) == 0 && nwaiting == 0 {
		_, err := req.Replyf(ctx, "No %s is running. `history` shows the last ones.", m.opts.Noun)
		return err
	}
	now := time.Now()
	var b strings.Builder
	if len(running) == 0 {
		fmt.Fprintf(&b, "No %s is running.", m.opts.Noun)
	} else {
		fmt.Fprintf(&b, "*Running %s*", m.many())
	}
	for _, r := range running {
		fmt.Fprintf(&b, "\n• #%d <@%s> is %s, since %s UTC (%s)", r.ID, r.User, r.Title,
			r.Started.UTC().Format("15:04:05"), r.Duration(now).Round(time.Second))
		if r.Channel != "" && !strings.HasPrefix(r.Channel, "D") {
			fmt.Fprintf(&b, " in <#%s>", r.Channel)
		}
		if r.Progress != "" {
			b.WriteString(": " + firstLine(r.Progress))
		}
	}
	if len(running) > 0 {
		b.WriteString("\nStop one with `cancel <number>`.")
	}
	if nwaiting > 0 {
		b.WriteString("\n*Awaiting approval*")
		for _, p := range waiting {
			b.WriteString("\n• " + waitingLine(p, now))
		}
		if nwaiting > len(waiting) {
			fmt.Fprintf(&b, "\n…and %d more.", nwaiting-len(waiting))
		}
	}
	_, err = req.Reply(ctx, b.String())
	return err
}

// maxWaitingShown bounds the approvals status lists: each line is up to
// a few hundred characters, and a message holds 40,000.
const maxWaitingShown = 20

// waitingLine says of a command awaiting approval what runs (the frozen
// values), who asked since when, the approvals so far, when it times out
// and how to withdraw it.
func waitingLine(p botkit.PendingApproval, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<@%s> asks to run `%s`", p.User, botkit.Escape(clip(p.Text, 300)))
	var vals []string
	for _, a := range p.Args {
		if a.Value != "" {
			vals = append(vals, a.Key+"="+a.Value)
		}
	}
	for _, d := range p.Details {
		vals = append(vals, d.Key+"="+d.Value)
	}
	if len(vals) > 0 {
		fmt.Fprintf(&b, " (`%s`)", botkit.Escape(clip(strings.Join(vals, " "), 600)))
	}
	fmt.Fprintf(&b, ", since %s UTC (%s ago)", p.Created.UTC().Format("15:04:05"), now.Sub(p.Created).Round(time.Second))
	if p.Channel != "" && !strings.HasPrefix(p.Channel, "D") {
		fmt.Fprintf(&b, " in <#%s>", p.Channel)
	}
	groups := make([]string, len(p.Groups))
	for i, g := range p.Groups {
		groups[i] = "<!subteam^" + g + ">"
	}
	fmt.Fprintf(&b, ": %d of %d approvals from %s", len(p.Approvals), p.Count, strings.Join(groups, " or "))
	if len(p.Approvals) > 0 {
		who := make([]string, len(p.Approvals))
		for i, a := range p.Approvals {
			who[i] = "<@" + a.User + ">"
		}
		fmt.Fprintf(&b, " (%s)", strings.Join(who, ", "))
	}
	fmt.Fprintf(&b, "; times out at %s UTC (in %s); <@%s> can withdraw it with Reject on the request.",
		p.Expires.UTC().Format("15:04:05"), p.Expires.Sub(now).Round(time.Second), p.User)
	return b.String()
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// history lists the jobs that changed last, newest first.
func (m *Manager) history(ctx context.Context, req *botkit.Request) error {
	rs, err := m.st.History(req.Int("n", historyShown))
	if err != nil {
		return err
	}
	if len(rs) == 0 {
		_, err := req.Replyf(ctx, "No %s has run yet.", m.opts.Noun)
		return err
	}
	now := time.Now()
	var b strings.Builder
	fmt.Fprintf(&b, "*Last %s*", m.many())
	for _, r := range rs {
		fmt.Fprintf(&b, "\n• #%d %s: <@%s> %s, %s UTC, %s", r.ID, statusWord(r), r.User, r.Title,
			r.Created.UTC().Format("2006-01-02 15:04"), r.Duration(now).Round(time.Second))
		if r.Status == Cancelled && r.CancelledBy != "" {
			fmt.Fprintf(&b, ", by %s", who(r.CancelledBy))
		}
		if r.Error != "" && r.Status != Cancelled {
			b.WriteString(" — " + firstLine(clip(r.Error, 200)))
		}
	}
	_, err = req.Reply(ctx, b.String())
	return err
}

func statusWord(r Record) string {
	switch r.Status {
	case Succeeded:
		return "✅ succeeded"
	case Failed:
		return "❌ failed"
	case Cancelled:
		return "⏹ cancelled"
	case TimedOut:
		return "⌛ timed out"
	case Interrupted:
		return "⚠️ interrupted"
	case Running:
		return "⏳ running"
	default:
		return string(r.Status)
	}
}

func (m *Manager) cancelCmd(ctx context.Context, req *botkit.Request) error {
	id, _ := strconv.ParseInt(req.Arg(cancelParam(m.opts.Noun)), 10, 64)
	return m.cancel(ctx, req, id)
}

// cancelClick is a click on a job's Cancel button: the same as `cancel`.
func (m *Manager) cancelClick(ctx context.Context, req *botkit.Request) error {
	a := req.Action()
	id, err := strconv.ParseInt(a.Value, 10, 64)
	if err != nil || id <= 0 {
		return botkit.Userf("That button names no %s.", m.opts.Noun)
	}
	return m.cancel(ctx, req, id)
}

// cancel stops job id for req.User: at once when this process runs it,
// else through a request in the state directory that its process polls.
func (m *Manager) cancel(ctx context.Context, req *botkit.Request, id int64) error {
	running, err := m.st.Running()
	if err != nil {
		return err
	}
	var rec *Record
	for i := range running {
		if running[i].ID == id {
			rec = &running[i]
		}
	}
	if rec == nil {
		r, ok, err := m.st.Record(id)
		switch {
		case err != nil:
			return err
		case !ok:
			return botkit.Userf("There is no %s. `status` shows the running ones.", m.one(id))
		default:
			return botkit.Userf("%s is not running: it ended (%s).", m.oneFirst(id), statusWord(r))
		}
	}
	if rec.User != req.User && !m.mayCancel(ctx, req.User) {
		return botkit.Userf("Only <@%s>, who started %s, or those allowed to stop any %s may cancel it.", rec.User, m.one(id), m.opts.Noun)
	}
	m.mu.Lock()
	j := m.active[id]
	m.mu.Unlock()
	if j != nil {
		j.cancel(&cancelled{by: req.User})
		_, err := req.Replyf(ctx, "Cancelling %s.", m.one(id))
		return err
	}
	if err := m.st.RequestCancel(id, req.User); err != nil {
		return err
	}
	_, err = req.Replyf(ctx, "Asked the process running %s (%s) to cancel it.", m.one(id), rec.Instance)
	return err
}
