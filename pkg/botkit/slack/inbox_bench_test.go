package slack_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
)

// BenchmarkInboxBurst sends 2,000 mentions at once over Socket Mode to a
// botkit bot without a state directory (acked on arrival) and with one
// (acked once recorded in the inbox), and reports acks per second, the
// ack latency's p50 and p99 (envelope written to ack read), and how long
// until every mention was answered.
func BenchmarkInboxBurst(b *testing.B) {
	const n = 2000
	for _, tc := range []struct {
		name  string
		state bool
	}{{"memory", false}, {"inbox", true}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				srv := slacktest.New(b, slacktest.WithWaitTimeout(60*time.Second))
				bot := botkit.New("burst")
				bot.Command("ping", func(ctx context.Context, req *botkit.Request) error {
					_, err := req.Reply(ctx, "pong")
					return err
				})
				var opts []botkit.Option
				if tc.state {
					opts = append(opts, botkit.WithStateDir(b.TempDir()))
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() { defer close(done); _ = bot.Run(ctx, newTransport(srv, slacktest.AppToken, nil), opts...) }()
				srv.WaitConnected(b)
				start := time.Now()
				for range n {
					srv.Mention("U1", "C1", "ping")
				}
				for len(srv.Acks()) < n {
					if time.Since(start) > time.Minute {
						b.Fatalf("%d acks in a minute, want %d", len(srv.Acks()), n)
					}
					time.Sleep(time.Millisecond)
				}
				acked := time.Since(start)
				srv.WaitMessages(b, n)
				answered := time.Since(start)
				var lat []time.Duration
				for _, a := range srv.Acks() {
					lat = append(lat, a.Latency)
				}
				slices.Sort(lat)
				b.ReportMetric(n/acked.Seconds(), "acks/s")
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "ack_p50_ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "ack_p99_ms")
				b.ReportMetric(answered.Seconds(), "answered_s")
				cancel()
				<-done
			}
		})
	}
}
