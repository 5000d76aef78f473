package slacktest_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
)

// api returns a slack-go Web API client of the fake's bot.
func api(srv *slacktest.Server, opts ...slack.Option) *slack.Client {
	return slack.New(slacktest.BotToken, append([]slack.Option{slack.OptionAPIURL(srv.APIURL())}, opts...)...)
}

// socketClient is a real slack-go Socket Mode client running against the
// fake. It acks every envelope slack-go parsed, as a bot would, and passes
// every event on.
type socketClient struct {
	sm     *socketmode.Client
	events chan socketmode.Event
	stop   func() // stops the client and waits for it
}

func connect(t *testing.T, srv *slacktest.Server, opts ...socketmode.Option) *socketClient {
	t.Helper()
	return connectAcking(t, srv, func(socketmode.Event) bool { return true }, opts...)
}

// connectAcking is connect acking only the envelopes ack approves.
func connectAcking(t *testing.T, srv *slacktest.Server, ack func(socketmode.Event) bool, opts ...socketmode.Option) *socketClient {
	t.Helper()
	sm := socketmode.New(slack.New(slacktest.BotToken, slack.OptionAPIURL(srv.APIURL()),
		slack.OptionAppLevelToken(slacktest.AppToken)), opts...)
	c := &socketClient{sm: sm, events: make(chan socketmode.Event, 256)}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = sm.RunContext(ctx) })
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-sm.Events:
				if ev.Request != nil && ev.Request.EnvelopeID != "" && ack(ev) {
					_ = sm.AckCtx(ctx, ev.Request.EnvelopeID, nil)
				}
				select {
				case c.events <- ev:
				default:
					t.Errorf("test client: event buffer full, dropped %s", ev.Type)
				}
			}
		}
	})
	c.stop = func() { cancel(); wg.Wait() }
	t.Cleanup(c.stop)
	return c
}

// next returns the next event of type typ, skipping others.
func (c *socketClient) next(t *testing.T, typ socketmode.EventType) socketmode.Event {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev := <-c.events:
			if ev.Type == typ {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event within 5s", typ)
			return socketmode.Event{}
		}
	}
}
