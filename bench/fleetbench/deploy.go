package fleetbench

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
)

// Deploy is how a deploy scenario runs: a steady stream of mentions, and
// Slack's and Kubernetes' timings, scaled down for a test.
type Deploy struct {
	Rate     int           // mentions a second
	Stream   time.Duration // how long the stream runs (Kill9: at least)
	PodStart time.Duration // how long a new pod takes before its process starts (Fargate: a minute or more)
	// PostLatency is how long the fake takes to answer chat.postMessage
	// (Slack: a few hundred ms), the window in which a killed process has
	// acked a mention and not yet answered it.
	PostLatency time.Duration
	// AckTimeout and Backoff are the fake Slack's (slacktest.WithAutoRetry):
	// Slack's are 3 s and 0, 1 min, 5 min.
	AckTimeout time.Duration
	Backoff    []time.Duration
	// Route makes the fake's choice of connection (a fresh one per run);
	// nil is slacktest.RouteRandom(Seed).
	Route func() slacktest.Route
	Seed  uint64 // for the route and the kills
	Kills int    // Kill9: how many SIGKILLs
}

func (d Deploy) fake(tb testing.TB) *slacktest.Server {
	route := slacktest.RouteRandom(d.Seed)
	if d.Route != nil {
		route = d.Route()
	}
	srv := slacktest.New(tb, slacktest.WithWaitTimeout(burstTimeout), slacktest.WithAutoRetry(d.AckTimeout, d.Backoff...),
		slacktest.WithRoute(route))
	if d.PostLatency > 0 {
		srv.Inject("chat.postMessage", -1, slacktest.Fault{Delay: d.PostLatency})
	}
	return srv
}

// drainLimits are how long a run waits for the last answers: past every
// retry Slack would still send.
func (d Deploy) drainLimits() (quiet, limit time.Duration) {
	var longest, total time.Duration
	for _, b := range d.Backoff {
		longest, total = max(longest, b), total+b
	}
	return 2*d.AckTimeout + longest + time.Second, time.Duration(slacktest.MaxRetries+1)*d.AckTimeout + total + 10*time.Second
}

// shared gives bot a state directory its processes share, as their EFS
// volume.
func shared(tb testing.TB, bot Bot) Bot {
	bot.Env = append(append([]string{}, bot.Env...), "BOT_STATE_DIR="+tb.TempDir())
	return bot
}

// Recreate is today's deploy, the baseline: one replica; a third into the
// stream the old process gets SIGTERM and exits, the new pod takes
// PodStart, and its process starts. Mentions sent meanwhile wait for
// Slack's retries.
func Recreate(tb testing.TB, bot Bot, d Deploy) (Tally, error) {
	srv := d.fake(tb)
	f := NewFleet(tb, shared(tb, bot), srv)
	old, err := f.Start()
	if err != nil {
		return Tally{}, err
	}
	s := StartStream(srv, d.Rate)
	start := time.Now()
	time.Sleep(d.Stream / 3)
	if err := old.Stop(); err != nil {
		s.Stop()
		return Tally{}, err
	}
	time.Sleep(d.PodStart)
	next, err := f.Start()
	if err != nil {
		s.Stop()
		return Tally{}, err
	}
	return f.finish(s, start, d, next)
}

// Rolling is a rolling update with surge: a third into the stream a new
// pod starts (PodStart), its process starts and is ready (connected),
// then the old one gets SIGTERM and exits. While both are connected the
// fake hands each envelope to either, as d.Route says.
func Rolling(tb testing.TB, bot Bot, d Deploy) (Tally, error) {
	srv := d.fake(tb)
	f := NewFleet(tb, shared(tb, bot), srv)
	old, err := f.Start()
	if err != nil {
		return Tally{}, err
	}
	s := StartStream(srv, d.Rate)
	start := time.Now()
	time.Sleep(d.Stream/3 + d.PodStart)
	next, err := f.Start()
	if err != nil {
		s.Stop()
		return Tally{}, err
	}
	if err := old.Stop(); err != nil {
		s.Stop()
		return Tally{}, err
	}
	return f.finish(s, start, d, next)
}

// Kill9 runs two replicas sharing a state directory; d.Kills times, at a
// random point, one of them, chosen at random, is killed with SIGKILL and
// started again (the next kill waits until it is ready: the other replica
// is never killed while it is alone).
func Kill9(tb testing.TB, bot Bot, d Deploy) (Tally, error) {
	srv := d.fake(tb)
	f := NewFleet(tb, shared(tb, bot), srv)
	var live [2]*Proc
	for i := range live {
		p, err := f.Start()
		if err != nil {
			return Tally{}, err
		}
		live[i] = p
	}
	rng := rand.New(rand.NewPCG(d.Seed, d.Seed+1))
	s := StartStream(srv, d.Rate)
	start := time.Now()
	every := d.Stream / time.Duration(max(d.Kills, 1))
	for range d.Kills {
		time.Sleep(every/2 + time.Duration(rng.Int64N(int64(every)))) // uniform in [every/2, 3*every/2)
		i := rng.IntN(2)
		live[i].Kill()
		p, err := f.Start()
		if err != nil {
			s.Stop()
			return Tally{}, err
		}
		live[i] = p
	}
	return f.finish(s, start, d, live[:]...)
}

// finish lets the stream run to d.Stream, stops it, waits for the last
// answers and stops the processes still running.
func (f *Fleet) finish(s *Stream, start time.Time, d Deploy, running ...*Proc) (Tally, error) {
	time.Sleep(time.Until(start.Add(d.Stream)))
	sent := s.Stop()
	quiet, limit := d.drainLimits()
	drain(f.Slack, sent, quiet, limit)
	for _, p := range running {
		if err := p.Stop(); err != nil {
			return Count(f.Slack, sent), err
		}
	}
	return Count(f.Slack, sent), nil
}

// check returns an error naming what t misses of the guarantee: exactly
// once (rolling), or at least once for what was acked (kills), and, for
// exactly once, p99 under p99.
func check(name string, t Tally, exactlyOnce bool, p99 time.Duration) error {
	switch {
	case t.Mentions == 0:
		return fmt.Errorf("%s: no mentions sent", name)
	case t.Lost > 0:
		return fmt.Errorf("%s: %d acked mentions never answered: %s", name, t.Lost, t)
	case exactlyOnce && (t.Once != t.Mentions || t.Other > 0):
		return fmt.Errorf("%s: not every mention answered exactly once: %s", name, t)
	case exactlyOnce && t.P99 >= p99:
		return fmt.Errorf("%s: p99 mention to reply %v, want under %v: %s", name, t.P99, p99, t)
	}
	return nil
}
