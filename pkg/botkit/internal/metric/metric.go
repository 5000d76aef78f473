// Package metric names labelled Prometheus series on a
// github.com/VictoriaMetrics/metrics Set. botkit uses that library rather
// than prometheus/client_golang because a bot is a small process measured
// against a bare slack-go bot: client_golang (with protobuf) adds about 3 MB
// to every bot binary, nearly all of it resident, where this adds 0.5 MB,
// and both expose the same text format to the same scrapers.
package metric

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"

	"github.com/VictoriaMetrics/metrics"
)

// Series returns name{k1="v1",...} for the label pairs kv, values escaped
// as the exposition format requires.
func Series(name string, kv ...string) string {
	if len(kv) == 0 {
		return name
	}
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(kv[i])
		b.WriteString(`="`)
		escape(&b, kv[i+1])
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

func escape(b *strings.Builder, v string) {
	for _, r := range v {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
}

// Vec is a family of series of one name: constant labels first, then the
// labels given per use, in order (like client_golang's *Vec).
type Vec struct {
	set    *metrics.Set
	name   string
	consts []string
	keys   []string
}

// NewVec returns the family name in set, with the constant label pairs
// consts and the per-use label keys.
func NewVec(set *metrics.Set, name string, consts []string, keys ...string) Vec {
	return Vec{set: set, name: name, consts: consts, keys: keys}
}

func (v Vec) series(vals []string) string {
	kv := make([]string, 0, len(v.consts)+2*len(v.keys))
	kv = append(kv, v.consts...)
	for i, k := range v.keys {
		val := ""
		if i < len(vals) {
			val = vals[i]
		}
		kv = append(kv, k, val)
	}
	return Series(v.name, kv...)
}

// Counter returns the counter of the label values vals.
func (v Vec) Counter(vals ...string) *metrics.Counter {
	return v.set.GetOrCreateCounter(v.series(vals))
}

// Histogram returns the histogram (Prometheus le buckets) of vals.
func (v Vec) Histogram(buckets []float64, vals ...string) *metrics.PrometheusHistogram {
	return v.set.GetOrCreatePrometheusHistogramExt(v.series(vals), buckets)
}

// Gauge returns the gauge of vals, to Set, Inc and Dec.
func (v Vec) Gauge(vals ...string) *metrics.Gauge {
	return v.set.GetOrCreateGauge(v.series(vals), nil)
}

// Value reads series from what set exposes, for tests and readiness
// details; false when set has no such series.
func Value(set *metrics.Set, series string) (float64, bool) {
	var buf bytes.Buffer
	set.WritePrometheus(&buf)
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return f, err == nil
		}
	}
	return 0, false
}
