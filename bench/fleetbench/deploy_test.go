package fleetbench

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
)

// shortDeploy is the deploy scenarios at test size: seconds each. Slack's
// ack timeout stays 3 s; its retries, minutes apart, come seconds apart.
var shortDeploy = Deploy{Rate: 10, Stream: 6 * time.Second, PodStart: time.Second, PostLatency: 300 * time.Millisecond, AckTimeout: 3 * time.Second,
	Backoff: []time.Duration{0, time.Second, 2 * time.Second}, Seed: 1, Kills: 3}

// helloBot builds bin/hello as its image is and returns it as a Bot.
func helloBot(t testing.TB) Bot {
	t.Helper()
	root, err := RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	bins, err := Build(t.Context(), root, t.TempDir(), "hello")
	if err != nil {
		t.Fatal(err)
	}
	return Bot{Name: "hello", Path: bins["hello"], Dir: filepath.Join(root, "bots", "hello"), Env: helloEnv(root)}
}

// TestDeploys runs issue 18's scenarios briefly with bin/hello: a stream of
// 10 mentions a second through a Recreate deploy (the baseline: figures
// only), a rolling restart (every mention answered exactly once, p99 under
// 3 s), with the fake handing envelopes to either connection at random and
// to the old one while it is open, and two replicas of which one is killed
// with SIGKILL (every acked mention answered). make bench runs them at
// length (BenchmarkDeploys).
func TestDeploys(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs bin/hello for half a minute")
	}
	bot := helloBot(t)
	oldest := shortDeploy
	oldest.Route = slacktest.RouteOldest
	for _, tt := range []struct {
		name  string
		run   func(testing.TB, Bot, Deploy) (Tally, error)
		d     Deploy
		check func(Tally) error
	}{
		{"recreate", Recreate, shortDeploy, func(Tally) error { return nil }},
		{"rolling", Rolling, shortDeploy, func(r Tally) error { return check("rolling", r, true, 3*time.Second) }},
		{"rolling, old connection first", Rolling, oldest, func(r Tally) error { return check("rolling", r, true, 3*time.Second) }},
		{"kill -9", Kill9, shortDeploy, func(r Tally) error { return check("kill -9", r, false, 0) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tt.run(t, bot, tt.d)
			t.Logf("%s: %s", tt.name, r)
			if err != nil {
				t.Fatal(err)
			}
			if r.Mentions < tt.d.Rate*int(tt.d.Stream/time.Second)/2 {
				t.Errorf("%d mentions sent in %v, want about %d", r.Mentions, tt.d.Stream, tt.d.Rate*int(tt.d.Stream/time.Second))
			}
			if err := tt.check(r); err != nil {
				t.Error(err)
			}
		})
	}
}

// longDeploy is the deploy scenarios at bench size: a minute of stream,
// Fargate-like pod starts, Slack's retry backoff scaled by a tenth (at
// once, 6 s, 30 s) and 20 kills.
var longDeploy = Deploy{Rate: 10, Stream: 60 * time.Second, PodStart: 6 * time.Second, PostLatency: 300 * time.Millisecond, AckTimeout: 3 * time.Second,
	Backoff: []time.Duration{0, 6 * time.Second, 30 * time.Second}, Seed: 1, Kills: 20}

// BenchmarkDeploys runs TestDeploys' scenarios at length and reports, per
// scenario, the p99 from mention to reply and the mentions answered twice,
// lost after their ack and never acked. The Recreate baseline is measured
// in the same run. Each scenario takes one to three minutes.
func BenchmarkDeploys(b *testing.B) {
	bot := helloBot(b)
	for _, tt := range []struct {
		name        string
		run         func(testing.TB, Bot, Deploy) (Tally, error)
		exactlyOnce bool
	}{
		{"recreate", Recreate, false},
		{"rolling", Rolling, true},
		{"kill9", Kill9, false},
	} {
		b.Run(tt.name, func(b *testing.B) {
			var r Tally
			for b.Loop() {
				var err error
				if r, err = tt.run(b, bot, longDeploy); err != nil {
					b.Fatal(err)
				}
			}
			b.Logf("%s: %s", tt.name, r)
			if tt.name != "recreate" {
				if err := check(tt.name, r, tt.exactlyOnce, 3*time.Second); err != nil {
					b.Error(err)
				}
			}
			b.ReportMetric(float64(r.P99.Milliseconds()), "p99-ms")
			b.ReportMetric(float64(r.Duplicates), "duplicates")
			b.ReportMetric(float64(r.Lost), "lost")
			b.ReportMetric(float64(r.Unacked), "unacked")
			b.ReportMetric(float64(r.Mentions), "mentions")
		})
	}
}
