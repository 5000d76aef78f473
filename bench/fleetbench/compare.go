package fleetbench

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// NoiseMargin is how much timings vary between runs on a shared 2-core
// machine (±25 %): a timing that misses its target by less is reported,
// not failed.
const NoiseMargin = 0.25

// Median returns, figure by figure, the median of rs (the mean of the two
// middle values for an even count). It panics if rs is empty.
func Median(rs []Result) Result {
	if len(rs) == 0 {
		panic("fleetbench: Median of no results")
	}
	f := func(get func(Result) float64) float64 {
		vs := make([]float64, len(rs))
		for i, r := range rs {
			vs[i] = get(r)
		}
		slices.Sort(vs)
		m := len(vs) / 2
		if len(vs)%2 == 0 {
			return (vs[m-1] + vs[m]) / 2
		}
		return vs[m]
	}
	d := func(get func(Result) time.Duration) time.Duration {
		return time.Duration(f(func(r Result) float64 { return float64(get(r)) }))
	}
	i := func(get func(Result) int64) int64 {
		return int64(f(func(r Result) float64 { return float64(get(r)) }))
	}
	return Result{
		Mentions:      rs[0].Mentions,
		AcksPerSec:    f(func(r Result) float64 { return r.AcksPerSec }),
		AckP50:        d(func(r Result) time.Duration { return r.AckP50 }),
		AckP99:        d(func(r Result) time.Duration { return r.AckP99 }),
		RepliesPerSec: f(func(r Result) float64 { return r.RepliesPerSec }),
		PeakRSS:       i(func(r Result) int64 { return r.PeakRSS }),
		IdleRSS:       i(func(r Result) int64 { return r.IdleRSS }),
		StartRSS:      i(func(r Result) int64 { return r.StartRSS }),
		BotCPU:        d(func(r Result) time.Duration { return r.BotCPU }),
		FakeCPU:       d(func(r Result) time.Duration { return r.FakeCPU }),
		Wall:          d(func(r Result) time.Duration { return r.Wall }),
		Create:        d(func(r Result) time.Duration { return r.Create }),
		WriteSpan:     d(func(r Result) time.Duration { return r.WriteSpan }),
	}
}

// target is how a figure of botkit must compare with the minimal bot's.
type target int

const (
	none       target = iota
	atLeast           // botkit/minimal ≥ limit; a timing, failed only beyond NoiseMargin
	atMost            // botkit/minimal ≤ limit; a timing, failed only beyond NoiseMargin
	atMostHard        // botkit/minimal ≤ limit; memory, failed as soon as missed
)

// Row is one figure of botkit and the minimal bot, and its target.
type Row struct {
	Figure  string  // for people: "ack p99"
	Metric  string  // for b.ReportMetric, after "<bot>-": "ack-p99-ms"
	Botkit  float64 // in the unit Metric names
	Minimal float64
	target  target
	limit   float64
}

// Ratio returns Botkit/Minimal, or 0 if Minimal is 0.
func (r Row) Ratio() float64 {
	if r.Minimal == 0 {
		return 0
	}
	return r.Botkit / r.Minimal
}

// Target describes the target, or returns "" if the figure has none.
func (r Row) Target() string {
	switch r.target {
	case atLeast:
		return fmt.Sprintf("≥ %.2f", r.limit)
	case atMost, atMostHard:
		return fmt.Sprintf("≤ %.2f", r.limit)
	}
	return ""
}

// Met reports whether the figure meets its target (true if it has none).
func (r Row) Met() bool {
	switch r.target {
	case atLeast:
		return r.Ratio() >= r.limit
	case atMost, atMostHard:
		return r.Ratio() <= r.limit
	}
	return true
}

// Failed reports whether the figure misses its target by more than noise
// explains: any miss for memory, a miss beyond NoiseMargin for timings.
func (r Row) Failed() bool {
	switch r.target {
	case atLeast:
		return r.Ratio() < r.limit*(1-NoiseMargin)
	case atMost:
		return r.Ratio() > r.limit*(1+NoiseMargin)
	case atMostHard:
		return !r.Met()
	}
	return false
}

// margin says how far a miss may go before it fails, for messages.
func (r Row) margin() string {
	if r.target == atLeast || r.target == atMost {
		return fmt.Sprintf(" by more than the %.0f%% noise margin", NoiseMargin*100)
	}
	return ""
}

// Verdict is "met", "missed, within noise", "FAIL", or "" without a target.
func (r Row) Verdict() string {
	switch {
	case r.target == none:
		return ""
	case r.Met():
		return "met"
	case !r.Failed():
		return "missed, within noise"
	}
	return "FAIL"
}

// Compare returns the figures of botkit and the minimal bot side by side,
// with issue 3's targets: acks/s at least the minimal bot's, p99 ack latency
// at most its, peak RSS at most 1.2 times and idle RSS at most 1.1 times.
func Compare(botkit, minimal Result) []Row {
	return []Row{
		{"acks/s", "acks/s", botkit.AcksPerSec, minimal.AcksPerSec, atLeast, 1},
		{"ack p50", "ack-p50-ms", ms(botkit.AckP50), ms(minimal.AckP50), none, 0},
		{"ack p99", "ack-p99-ms", ms(botkit.AckP99), ms(minimal.AckP99), atMost, 1},
		{"replies/s", "replies/s", botkit.RepliesPerSec, minimal.RepliesPerSec, none, 0},
		{"peak RSS", "peak-RSS-MiB", mib(botkit.PeakRSS), mib(minimal.PeakRSS), atMostHard, 1.2},
		{"idle RSS", "idle-RSS-MiB", mib(botkit.IdleRSS), mib(minimal.IdleRSS), atMostHard, 1.1},
	}
}

// Table renders rows as an aligned text table, units in the figure column.
func Table(rows []Row) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "figure\tbotkit\tminimal\tbotkit/minimal\ttarget\tverdict")
	for _, r := range rows {
		unit := ""
		if i := strings.LastIndex(r.Metric, "-"); i >= 0 {
			unit = " (" + r.Metric[i+1:] + ")"
		}
		fmt.Fprintf(w, "%s%s\t%s\t%s\t%.2f\t%s\t%s\n", r.Figure, unit, num(r.Botkit), num(r.Minimal), r.Ratio(), r.Target(), r.Verdict())
	}
	w.Flush()
	return b.String()
}

// num prints a figure with three significant digits or as a whole number.
func num(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mib(b int64) float64 { return float64(b) / (1 << 20) }
