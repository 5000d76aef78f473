// Package socket is botkit's Socket Mode transport: events arrive over a
// websocket the bot opens to Slack, so no public endpoint is needed.
//
// It acks every envelope the moment it arrives, before any work, so a slow
// handler never delays an ack past Slack's 3 seconds; unparseable frames are
// acked from their raw envelope_id too, or Slack would resend them forever.
// slack-go reconnects by itself (refresh_requested, dropped sockets,
// missing pings); while it does, Ready reports an error and a metric counts
// the reconnects.
package socket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/slackweb"
)

// Config configures the transport.
type Config struct {
	slackweb.Config
	// Registry receives the transport's metrics; nil means none.
	Registry prometheus.Registerer
	// PingInterval is how long without a ping from Slack before the
	// connection is taken for dead and reopened; 0 means slack-go's 30 s.
	PingInterval time.Duration
}

// Transport is the Socket Mode transport. It is safe for concurrent use.
type Transport struct {
	*slackweb.Client
	cfg    Config
	logger *slog.Logger

	notReady   atomic.Pointer[string] // nil when connected
	reconnects prometheus.Counter
	envelopes  *prometheus.CounterVec
}

// New returns a transport; Listen connects it.
func New(cfg Config) *Transport {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	t := &Transport{Client: slackweb.New(cfg.Config), cfg: cfg, logger: cfg.Logger}
	t.setNotReady("not connected yet")
	t.reconnects = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "botkit_socket_reconnects_total", Help: "Socket Mode connections opened after the first.",
	})
	t.envelopes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "botkit_socket_envelopes_total", Help: "Socket Mode envelopes received and acked, by type.",
	}, []string{"type"})
	if cfg.Registry != nil {
		cfg.Registry.MustRegister(t.reconnects, t.envelopes)
	}
	return t
}

// Ready implements botkit.Readier: an error while not connected.
func (t *Transport) Ready() error {
	if p := t.notReady.Load(); p != nil {
		return errors.New(*p)
	}
	return nil
}

func (t *Transport) setNotReady(reason string) { t.notReady.Store(&reason) }

// Listen implements botkit.Transport. It returns an error when Slack refuses
// the tokens, and ctx's error after closing the websocket when ctx ends.
func (t *Transport) Listen(ctx context.Context, deliver func(context.Context, botkit.Event)) error {
	self, err := t.Authenticate(ctx)
	if err != nil {
		return fmt.Errorf("checking SLACK_BOT_TOKEN: %w", err)
	}
	t.logger.Info("slack identity", "user", self.User, "user_id", self.UserID, "team_id", self.TeamID)

	var opts []socketmode.Option
	if t.cfg.PingInterval > 0 {
		opts = append(opts, socketmode.OptionPingInterval(t.cfg.PingInterval))
	}
	sm := socketmode.New(t.API, opts...)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- sm.RunContext(runCtx) }()

	for {
		select {
		case err := <-errc:
			t.setNotReady("disconnected")
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("socket mode: %w", err)
		case evt := <-sm.Events:
			t.handle(runCtx, sm, evt, deliver)
		}
	}
}

// handle acks first, then delivers; it never blocks on the bot.
func (t *Transport) handle(ctx context.Context, sm *socketmode.Client, evt socketmode.Event, deliver func(context.Context, botkit.Event)) {
	if evt.Request != nil && evt.Request.EnvelopeID != "" {
		if err := sm.AckCtx(ctx, evt.Request.EnvelopeID, nil); err != nil {
			t.logger.Warn("acking envelope", "envelope_id", evt.Request.EnvelopeID, "err", err)
		}
		t.envelopes.WithLabelValues(string(evt.Type)).Inc()
	}
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		t.setNotReady("connecting to Slack")
	case socketmode.EventTypeConnected:
		t.notReady.Store(nil)
		if c, ok := evt.Data.(*socketmode.ConnectedEvent); ok && c.ConnectionCount > 0 {
			t.reconnects.Inc()
			t.logger.Info("reconnected to slack", "connections", c.ConnectionCount+1)
		} else {
			t.logger.Info("connected to slack")
		}
	case socketmode.EventTypeConnectionError:
		t.setNotReady("cannot connect to Slack")
		if e, ok := evt.Data.(*slack.ConnectionErrorEvent); ok {
			t.logger.Warn("connecting to slack", "attempt", e.Attempt, "backoff", e.Backoff, "err", e.ErrorObj)
		}
	case socketmode.EventTypeInvalidAuth:
		t.setNotReady("Slack refused SLACK_APP_TOKEN")
		t.logger.Error("slack refused the app token (SLACK_APP_TOKEN)")
	case socketmode.EventTypeIncomingError:
		if e, ok := evt.Data.(*slack.IncomingEventError); ok {
			t.logger.Warn("reading from slack", "err", e.ErrorObj)
		}
	case socketmode.EventTypeErrorBadMessage:
		t.ackRaw(ctx, sm, evt)
	case socketmode.EventTypeEventsAPI:
		outer, ok := evt.Data.(slackevents.EventsAPIEvent)
		if !ok {
			return
		}
		ev, ok := t.Event(outer)
		if !ok {
			t.logger.Debug("event ignored", "type", outer.InnerEvent.Type)
			return
		}
		if evt.Request.RetryAttempt > 0 {
			t.logger.Info("slack retried an event", "event_id", ev.ID, "retry_attempt", evt.Request.RetryAttempt, "retry_reason", evt.Request.RetryReason)
		}
		deliver(ctx, ev)
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok {
			return
		}
		if ev, ok := slackweb.Action(cb); ok {
			deliver(ctx, ev)
		}
	case socketmode.EventTypeSlashCommand:
		t.logger.Info("slash command acked but not supported; mention the bot instead")
	}
}

// ackRaw acks a frame slack-go could not parse, from its raw envelope_id.
func (t *Transport) ackRaw(ctx context.Context, sm *socketmode.Client, evt socketmode.Event) {
	bad, ok := evt.Data.(*socketmode.ErrorBadMessage)
	if !ok {
		return
	}
	var env struct {
		EnvelopeID string `json:"envelope_id"`
		Type       string `json:"type"`
	}
	if err := json.Unmarshal(bad.Message, &env); err != nil || env.EnvelopeID == "" {
		t.logger.Warn("unreadable frame from slack without an envelope id", "err", bad.Cause)
		return
	}
	if err := sm.AckCtx(ctx, env.EnvelopeID, nil); err != nil {
		t.logger.Warn("acking unreadable envelope", "envelope_id", env.EnvelopeID, "err", err)
	}
	t.envelopes.WithLabelValues("unparseable").Inc()
	t.logger.Warn("acked an envelope slack-go could not parse", "envelope_id", env.EnvelopeID, "type", env.Type, "err", bad.Cause)
}
