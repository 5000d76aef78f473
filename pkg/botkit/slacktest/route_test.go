package slacktest_test

import (
	"slices"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
)

// connectN connects n clients that ack everything, one after the other, and
// waits until all are open.
func connectN(t *testing.T, srv *slacktest.Server, n int) []*socketClient {
	t.Helper()
	var cs []*socketClient
	for i := range n {
		c := connect(t, srv)
		c.next(t, socketmode.EventTypeHello)
		srv.WaitFor(t, 0, func() bool { return srv.OpenSockets() == i+1 })
		cs = append(cs, c)
	}
	return cs
}

// socketsOf returns the socket each envelope was written to.
func socketsOf(envs []slacktest.Envelope) []int {
	var out []int
	for _, e := range envs {
		out = append(out, e.Socket)
	}
	return out
}

func TestSocketHelloCountsOpenConnections(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	var hellos []int
	for i := range 3 {
		c := connect(t, srv)
		hellos = append(hellos, c.next(t, socketmode.EventTypeHello).Request.NumConnections)
		srv.WaitFor(t, 0, func() bool { return srv.OpenSockets() == i+1 })
	}
	if !slices.Equal(hellos, []int{1, 2, 3}) {
		t.Errorf("hello num_connections = %v, want 1, 2, 3: every connection stays open", hellos)
	}
}

func TestSocketRoutes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		route slacktest.Route
		want  []int
	}{
		{"newest", slacktest.RouteNewest(), []int{3, 3, 3, 3, 3, 3}},
		{"oldest", slacktest.RouteOldest(), []int{1, 1, 1, 1, 1, 1}},
		{"round robin", slacktest.RouteRoundRobin(), []int{1, 2, 3, 1, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := routed(t, tt.route, 6); !slices.Equal(got, tt.want) {
				t.Errorf("sockets = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("random", func(t *testing.T) {
		t.Parallel()
		a, b := routed(t, slacktest.RouteRandom(7), 30), routed(t, slacktest.RouteRandom(7), 30)
		if !slices.Equal(a, b) {
			t.Errorf("one seed, two sequences: %v and %v", a, b)
		}
		for id := 1; id <= 3; id++ {
			if !slices.Contains(a, id) {
				t.Errorf("socket %d got none of 30 envelopes: %v", id, a)
			}
		}
	})
}

// routed sends n mentions to three open connections chosen by route and
// returns the socket each went to.
func routed(t *testing.T, route slacktest.Route, n int) []int {
	srv := slacktest.New(t, slacktest.WithRoute(route))
	connectN(t, srv, 3)
	for range n {
		srv.WaitAck(t, func() string { _, env := srv.Mention("U1", "C1", "ping"); return env }())
	}
	return socketsOf(srv.Envelopes())
}

// TestSocketRouteAwayFromOrigin: a click on the message the bot posted in
// reply to a mention goes to a connection other than the one that got the
// mention; everything else follows the fallback.
func TestSocketRouteAwayFromOrigin(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t, slacktest.WithRoute(slacktest.RouteAwayFromOrigin(slacktest.RouteOldest())))
	connectN(t, srv, 1)
	_, env := srv.Mention("U1", "C1", "launch")
	srv.WaitAck(t, env)
	mention := srv.Events()[0]
	button := slack.NewButtonBlockElement("confirm", "yes", slack.NewTextBlockObject(slack.PlainTextType, "Launch", false, false))
	_, ts, err := api(srv).PostMessageContext(t.Context(), "C1", slack.MsgOptionText("launch?", false),
		slack.MsgOptionTS(mention.TS), slack.MsgOptionBlocks(slack.NewActionBlock("ask", button)))
	if err != nil {
		t.Fatal(err)
	}
	connect(t, srv).next(t, socketmode.EventTypeHello)
	srv.WaitFor(t, 0, func() bool { return srv.OpenSockets() == 2 })

	click := srv.Click(slacktest.Action{User: "U1", Channel: "C1", MessageTS: ts, ActionID: "confirm"})
	srv.WaitAck(t, click)
	_, other := srv.Mention("U1", "C1", "ping")
	srv.WaitAck(t, other)
	envs := srv.Envelopes()
	if got := socketsOf(envs); !slices.Equal(got, []int{1, 2, 1}) {
		t.Errorf("mention, click, mention went to sockets %v; want the click away from socket 1, the rest to the oldest", got)
	}
}

// TestSocketRetryReachesAnotherConnection: a connection that never acks
// (a process that died after reading) does not keep the event: its retry
// goes where the route says.
func TestSocketRetryReachesAnotherConnection(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t, slacktest.WithAutoRetry(100*time.Millisecond), slacktest.WithRoute(slacktest.RouteRoundRobin()))
	deaf := connectAcking(t, srv, func(socketmode.Event) bool { return false })
	deaf.next(t, socketmode.EventTypeHello)
	srv.WaitFor(t, 0, func() bool { return srv.OpenSockets() == 1 })
	connect(t, srv).next(t, socketmode.EventTypeHello)
	srv.WaitFor(t, 0, func() bool { return srv.OpenSockets() == 2 })

	eventID, _ := srv.Mention("U1", "C1", "deploy")
	srv.WaitFor(t, 0, func() bool { envs := srv.Envelopes(); return len(envs) == 2 && envs[1].Acked })
	envs := srv.Envelopes()
	if envs[0].Socket != 1 || envs[0].Acked || envs[1].Socket != 2 || envs[1].EventID != eventID ||
		envs[1].RetryAttempt != 1 || envs[1].RetryReason != "timeout" {
		t.Errorf("envelopes = %+v, want the first unacked on socket 1 and its retry acked on socket 2", envs)
	}
}

// TestSocketRetryBackoff: retries wait the ack timeout, then their
// backoff, as Slack's come minutes apart.
func TestSocketRetryBackoff(t *testing.T) {
	t.Parallel()
	const timeout, second = 50 * time.Millisecond, 300 * time.Millisecond
	srv := slacktest.New(t, slacktest.WithAutoRetry(timeout, 0, second, second))
	connectAcking(t, srv, func(socketmode.Event) bool { return false })
	srv.WaitConnected(t)
	srv.Mention("U1", "C1", "deploy")
	srv.WaitFor(t, 0, func() bool {
		envs := srv.Envelopes()
		return len(envs) == 1+slacktest.MaxRetries && !envs[slacktest.MaxRetries].SentAt.IsZero()
	})
	envs := srv.Envelopes()
	gaps := []time.Duration{envs[1].SentAt.Sub(envs[0].SentAt), envs[2].SentAt.Sub(envs[1].SentAt), envs[3].SentAt.Sub(envs[2].SentAt)}
	if gaps[0] < timeout || gaps[0] >= timeout+second || gaps[1] < timeout+second || gaps[2] < timeout+second {
		t.Errorf("gaps between deliveries = %v, want about %v, then %v twice", gaps, timeout, timeout+second)
	}
}

// TestSocketInteractiveNeverRetried: Slack does not retry clicks or slash
// commands; an unacked one is lost.
func TestSocketInteractiveNeverRetried(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t, slacktest.WithAutoRetry(30*time.Millisecond))
	c := connectAcking(t, srv, func(socketmode.Event) bool { return false })
	srv.WaitConnected(t)
	srv.Click(slacktest.Action{User: "U1", Channel: "C1", MessageTS: "1700000000.000001", ActionID: "confirm"})
	srv.Slash("U1", "C1", "/deploy", "api")
	c.next(t, socketmode.EventTypeSlashCommand)
	time.Sleep(200 * time.Millisecond)
	if envs := srv.Envelopes(); len(envs) != 2 || envs[0].Acked || envs[1].Acked {
		t.Errorf("envelopes = %+v, want the click and the command once each, unacked", envs)
	}
}

// TestSocketNoConnection: with WithAutoRetry, an envelope that finds no
// connection fails like a timeout. An event is retried, and delivered if a
// connection opens before its retries are spent, else dropped; a click is
// dropped at once.
func TestSocketNoConnection(t *testing.T) {
	t.Parallel()
	t.Run("all retries find none", func(t *testing.T) {
		t.Parallel()
		srv := slacktest.New(t, slacktest.WithAutoRetry(20*time.Millisecond, 0, 20*time.Millisecond, 20*time.Millisecond))
		srv.Mention("U1", "C1", "deploy")
		srv.Click(slacktest.Action{User: "U1", Channel: "C1", MessageTS: "1700000000.000001", ActionID: "confirm"})
		srv.WaitFor(t, 0, func() bool {
			envs := srv.Envelopes()
			return len(envs) == 2+slacktest.MaxRetries && !slices.ContainsFunc(envs, func(e slacktest.Envelope) bool { return !e.Dropped })
		})
		time.Sleep(100 * time.Millisecond)
		var attempts []int
		for _, e := range srv.Envelopes() {
			if e.EventID != "" {
				attempts = append(attempts, e.RetryAttempt)
			}
			if !e.SentAt.IsZero() {
				t.Errorf("envelope %+v written with no connection", e)
			}
		}
		if !slices.Equal(attempts, []int{0, 1, 2, 3}) {
			t.Errorf("event deliveries %v, want the first and 3 retries, all dropped", attempts)
		}
	})
	t.Run("a retry finds one", func(t *testing.T) {
		t.Parallel()
		srv := slacktest.New(t, slacktest.WithAutoRetry(50*time.Millisecond, 0, 300*time.Millisecond))
		eventID, _ := srv.Mention("U1", "C1", "deploy")
		srv.WaitFor(t, 0, func() bool { envs := srv.Envelopes(); return len(envs) == 2 && envs[1].Dropped })
		c := connect(t, srv) // within the second retry's backoff
		m, id := mention(t, c.next(t, socketmode.EventTypeEventsAPI))
		envs := srv.Envelopes()
		if id != eventID || m.Text != "<@UBOT> deploy" || len(envs) != 3 || envs[2].RetryAttempt != 2 {
			t.Errorf("delivered event %s, envelopes %+v; want the second retry of %s", id, envs, eventID)
		}
		srv.WaitAck(t, envs[2].ID)
	})
}
