package botkit

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Outcomes of a command, the values of the outcome label.
const (
	OutcomeOK        = "ok"
	OutcomeUserError = "user_error" // the handler returned a UserError
	OutcomeError     = "error"
	OutcomeTimeout   = "timeout"
	OutcomePanic     = "panic"
	OutcomeRefused   = "refused" // denied, rate limited or not confirmed: the handler never ran
)

// Results of an event, the values of botkit_events_total's result label.
const (
	eventHandled   = "handled"
	eventDuplicate = "duplicate"
	eventIgnored   = "ignored" // from a bot, an edit
	eventBusy      = "busy"    // queue full, user told to retry
	eventUnknown   = "unknown" // no command matched
	eventDropped   = "dropped" // arrived during shutdown
)

type metrics struct {
	commands *prometheus.CounterVec
	duration *prometheus.HistogramVec
	events   *prometheus.CounterVec
	errors   *prometheus.CounterVec
	access   *prometheus.CounterVec
	inFlight prometheus.Gauge
	queued   prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, bot string) *metrics {
	labels := prometheus.Labels{"bot": bot}
	m := &metrics{
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "botkit_commands_total", Help: "Commands run, by command pattern and outcome.", ConstLabels: labels,
		}, []string{"command", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "botkit_command_duration_seconds", Help: "How long commands ran, by command pattern.", ConstLabels: labels,
			Buckets: []float64{.01, .05, .1, .5, 1, 5, 15, 60, 300, 900, 1800},
		}, []string{"command"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "botkit_events_total", Help: "Events received, by what became of them.", ConstLabels: labels,
		}, []string{"result"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "botkit_errors_total", Help: "Errors outside handlers, by kind (post, update).", ConstLabels: labels,
		}, []string{"kind"}),
		access: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "botkit_access_decisions_total", Help: "Access checks, by command and decision (allow, deny, error).", ConstLabels: labels,
		}, []string{"command", "decision"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "botkit_commands_in_flight", Help: "Commands running now.", ConstLabels: labels,
		}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "botkit_commands_queued", Help: "Commands waiting for a free slot.", ConstLabels: labels,
		}),
	}
	reg.MustRegister(m.commands, m.duration, m.events, m.errors, m.access, m.inFlight, m.queued)
	return m
}

// NewRegistry returns a Prometheus registry with the Go runtime and process
// collectors, as the runner serves on /metrics.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
