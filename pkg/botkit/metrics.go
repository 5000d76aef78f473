package botkit

import (
	vm "github.com/VictoriaMetrics/metrics"

	"github.com/botfleet/botfleet/pkg/botkit/internal/metric"
)

// Outcomes of a command, the values of the outcome label.
const (
	OutcomeOK        = "ok"
	OutcomeUserError = "user_error" // the handler returned a UserError
	OutcomeError     = "error"
	OutcomeTimeout   = "timeout"
	OutcomePanic     = "panic"
	OutcomeRefused   = "refused"               // denied, rate limited or not confirmed: the handler never ran
	OutcomePending   = "awaiting_confirmation" // parked until the question is answered
	// OutcomeAwaitingApproval: parked until enough approvers approve.
	OutcomeAwaitingApproval = "awaiting_approval"
)

// Results of an event, the values of botkit_events_total's result label.
const (
	eventHandled   = "handled"
	eventDuplicate = "duplicate"
	eventIgnored   = "ignored" // from a bot, an edit
	eventBusy      = "busy"    // queue full, user told to retry
	eventUnknown   = "unknown" // no command matched
	eventDropped   = "dropped" // arrived during shutdown
	// eventTakenOver: recorded in the inbox by a process that died before
	// handling it, and taken over by this one.
	eventTakenOver = "taken_over"
	// eventLeft: queued but not started by the end of the grace period,
	// left in the inbox for the process that takes over.
	eventLeft = "left_in_inbox"
)

type metrics struct {
	commands metric.Vec // command, outcome
	duration metric.Vec // command
	events   metric.Vec // result
	errors   metric.Vec // kind
	access   metric.Vec // command, decision
	hooks    metric.Vec // hook, result
	inFlight *vm.Gauge
	queued   *vm.Gauge
	pending  *vm.Gauge

	jobRuns        metric.Vec // schedule (the job's name), outcome
	jobLastSuccess metric.Vec // schedule
	jobNext        metric.Vec // schedule
	jobInterval    metric.Vec // schedule
}

// Outcomes of a scheduled job's tick that did not run, besides the
// outcomes of a run (ok, error, timeout, panic...).
const (
	OutcomeSkipped = "skipped" // the previous run was still going
	OutcomeMissed  = "missed"  // the bot was down, past the job's CatchUp window
)

// durationBuckets are botkit_command_duration_seconds' buckets: from a ping
// to the longest deploy.
var durationBuckets = []float64{.01, .05, .1, .5, 1, 5, 15, 60, 300, 900, 1800}

// The series botkit exposes, all with a bot label:
//   - botkit_commands_total{command,outcome}: commands run
//   - botkit_command_duration_seconds{command}: how long they ran (histogram)
//   - botkit_events_total{result}: events received, by what became of them
//   - botkit_errors_total{kind}: errors outside handlers (post, update, start)
//   - botkit_access_decisions_total{command,decision}: allow, deny, error
//   - botkit_commands_in_flight, botkit_commands_queued: gauges
//   - botkit_confirmations_pending: commands waiting for a confirmation or
//     an approval (with a state directory: of every process sharing it,
//     as last counted here)
//   - botkit_schedule_runs_total{schedule,outcome}: scheduled jobs' ticks,
//     by outcome (ok, error, user_error, timeout, panic; skipped, missed).
//     The label is schedule, the job's name: Prometheus renames a scraped
//     job label, which is the scrape job's
//   - botkit_schedule_last_success_timestamp_seconds{schedule}: when the job
//     last succeeded (kept in the state directory), or was first scheduled
//   - botkit_schedule_interval_seconds{schedule}: the longest gap between
//     two ticks; the alert compares the two above with it
//   - botkit_schedule_next_run_timestamp_seconds{schedule}: the next tick
//   - botkit_webhook_requests_total{hook,result}: webhook requests, by
//     what became of them (accepted, duplicate, unauthorized, too_large...)
func newMetrics(set *vm.Set, bot string) *metrics {
	consts := []string{"bot", bot}
	return &metrics{
		commands: metric.NewVec(set, "botkit_commands_total", consts, "command", "outcome"),
		duration: metric.NewVec(set, "botkit_command_duration_seconds", consts, "command"),
		events:   metric.NewVec(set, "botkit_events_total", consts, "result"),
		errors:   metric.NewVec(set, "botkit_errors_total", consts, "kind"),
		access:   metric.NewVec(set, "botkit_access_decisions_total", consts, "command", "decision"),
		hooks:    metric.NewVec(set, "botkit_webhook_requests_total", consts, "hook", "result"),
		inFlight: metric.NewVec(set, "botkit_commands_in_flight", consts).Gauge(),
		queued:   metric.NewVec(set, "botkit_commands_queued", consts).Gauge(),
		pending:  metric.NewVec(set, "botkit_confirmations_pending", consts).Gauge(),

		jobRuns:        metric.NewVec(set, "botkit_schedule_runs_total", consts, "schedule", "outcome"),
		jobLastSuccess: metric.NewVec(set, "botkit_schedule_last_success_timestamp_seconds", consts, "schedule"),
		jobNext:        metric.NewVec(set, "botkit_schedule_next_run_timestamp_seconds", consts, "schedule"),
		jobInterval:    metric.NewVec(set, "botkit_schedule_interval_seconds", consts, "schedule"),
	}
}

// NewRegistry returns the set of metrics a bot exposes on /metrics; the
// runner adds the Go runtime and process metrics when it writes them.
func NewRegistry() *vm.Set { return vm.NewSet() }
