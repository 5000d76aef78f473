package jobs

import (
	"cmp"
	"encoding/json"
	"slices"
	"time"
)

// Status is where a job is in its life.
type Status string

// Statuses of a job. Queued and AwaitingApproval hold no lock; Running
// holds its key's; the others are final.
const (
	Queued           Status = "queued"
	AwaitingApproval Status = "awaiting_approval"
	Running          Status = "running"
	Succeeded        Status = "succeeded"
	Failed           Status = "failed"
	Cancelled        Status = "cancelled"
	Interrupted      Status = "interrupted" // its process died during the run
	TimedOut         Status = "timed_out"
)

var statuses = []Status{Queued, AwaitingApproval, Running, Succeeded, Failed, Cancelled, Interrupted, TimedOut}

// Final reports whether s is an end: nothing runs any more.
func (s Status) Final() bool { return s != Queued && s != AwaitingApproval && s != Running }

// Record is one job, as the history keeps it: a job is written when it
// begins and again as it changes; the last line for an id wins.
type Record struct {
	ID     int64  `json:"id"`
	Status Status `json:"status"`
	// Kind is what the job does: deploy, rollback, scale.
	Kind string `json:"kind"`
	// Key is the lock the job holds while it runs: one running job per key
	// across every process sharing the state directory.
	Key  string            `json:"key"`
	User string            `json:"user"` // Slack user ID of the requester
	Args map[string]string `json:"args,omitempty"`
	// Title says, in mrkdwn, what the job does, as the continuation of
	// "<@user> is ": "deploying `v2` to `api` in dev".
	Title string `json:"title,omitempty"`
	// Event is the id of the event or interaction that asked for the job:
	// a redelivery of it never begins a second job.
	Event   string `json:"event,omitempty"`
	Channel string `json:"channel,omitempty"`
	Thread  string `json:"thread_ts,omitempty"`
	// Message is the progress message, edited as the job goes.
	Message string `json:"message_ts,omitempty"`
	// Instance is the process that runs the job; it holds the lock
	// procs/<Instance>.lock for as long as it lives.
	Instance    string    `json:"instance"`
	Created     time.Time `json:"created"`
	Started     time.Time `json:"started,omitzero"`
	Ended       time.Time `json:"ended,omitzero"`
	Error       string    `json:"error,omitempty"`
	CancelledBy string    `json:"cancelled_by,omitempty"`
	// Progress is the progress message's latest text; it is kept in the
	// holder file, for whoever is refused the lock, not in the history.
	Progress string `json:"progress,omitempty"`
	// Data is what the bot keeps of the job besides these fields (a
	// deploy's commit and recap, say), as JSON: see Job.SetData.
	Data json.RawMessage `json:"data,omitempty"`
	// Notified is set once the message of a job that ended outside its
	// process (interrupted) was edited to say so.
	Notified bool `json:"notified,omitempty"`
}

// valid reports whether r is a record this package writes: anything else in
// the history is a torn or foreign line, skipped and never acted on.
func (r *Record) valid() bool {
	return r.ID > 0 && slices.Contains(statuses, r.Status) && r.Kind != "" && r.Key != "" && !r.Created.IsZero()
}

// Duration is how long the job ran (so far, while it runs).
func (r Record) Duration(now time.Time) time.Duration {
	start := r.Started
	if start.IsZero() {
		start = r.Created
	}
	if r.Ended.IsZero() {
		return now.Sub(start)
	}
	return r.Ended.Sub(start)
}

func sortByID(rs []Record) {
	slices.SortFunc(rs, func(a, b Record) int { return cmp.Compare(a.ID, b.ID) })
}
