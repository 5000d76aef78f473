package metric

import (
	"bytes"
	"strings"
	"testing"

	"github.com/VictoriaMetrics/metrics"
)

func TestSeries(t *testing.T) {
	tests := []struct {
		kv   []string
		want string
	}{
		{nil, `m`},
		{[]string{"bot", "hello"}, `m{bot="hello"}`},
		{[]string{"bot", "hello", "command", `deploy {app} [to {env}]`}, `m{bot="hello",command="deploy {app} [to {env}]"}`},
		{[]string{"v", "a\"b\\c\nd"}, `m{v="a\"b\\c\nd"}`},
	}
	for _, tt := range tests {
		if got := Series("m", tt.kv...); got != tt.want {
			t.Errorf("Series(%q) = %s, want %s", tt.kv, got, tt.want)
		}
	}
}

func TestVecExposition(t *testing.T) {
	set := metrics.NewSet()
	v := NewVec(set, "botkit_commands_total", []string{"bot", "hello"}, "command", "outcome")
	v.Counter("deploy {app}", "ok").Inc()
	v.Counter("deploy {app}", "ok").Inc()
	v.Counter("ping", `we"ird`).Inc()
	NewVec(set, "d_seconds", nil, "command").Histogram([]float64{.1, 1}, "ping").Update(0.5)
	g := NewVec(set, "in_flight", []string{"bot", "hello"}).Gauge()
	g.Inc()
	g.Inc()
	g.Dec()

	var buf bytes.Buffer
	set.WritePrometheus(&buf)
	out := buf.String()
	for _, want := range []string{
		`botkit_commands_total{bot="hello",command="deploy {app}",outcome="ok"} 2`,
		`botkit_commands_total{bot="hello",command="ping",outcome="we\"ird"} 1`,
		`d_seconds_bucket{command="ping",le="0.1"} 0`,
		`d_seconds_bucket{command="ping",le="1"} 1`,
		`d_seconds_count{command="ping"} 1`,
		`in_flight{bot="hello"} 1`,
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("exposition lacks %s:\n%s", want, out)
		}
	}
	if n, ok := Value(set, `botkit_commands_total{bot="hello",command="deploy {app}",outcome="ok"}`); !ok || n != 2 {
		t.Errorf("Value = %v, %v; want 2", n, ok)
	}
	if _, ok := Value(set, `botkit_commands_total{bot="other"}`); ok {
		t.Error("Value found a series that does not exist")
	}
}
