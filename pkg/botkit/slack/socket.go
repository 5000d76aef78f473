package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/internal/metric"
)

// ackTimeout bounds the wait to queue an ack with slack-go. A connected
// client takes an ack at once; a wait means it is between sockets, where
// the ack is late anyway (Slack sends the event again after 3 seconds, and
// the bot deduplicates it), so the read loop moves on rather than stall
// the acks of the envelopes behind it.
const ackTimeout = time.Second

// fatalAuthErrors are apps.connections.open's answers that no retry can
// fix: the app token is wrong, of the wrong type, revoked or lacks the
// connections:write scope. slack-go gives up by itself on some of them and
// retries the others forever with backoff.
var fatalAuthErrors = []string{"invalid_auth", "not_authed", "not_allowed_token_type", "missing_scope", "token_revoked", "account_inactive"}

// SocketConfig configures the Socket Mode transport.
type SocketConfig struct {
	Config
	// Registry receives the transport's metrics; nil means none.
	Registry *vm.Set
	// PingInterval is how long without a ping from Slack before the
	// connection is taken for dead and reopened; 0 means slack-go's 30 s.
	PingInterval time.Duration
}

// Socket is the Socket Mode transport: events arrive over a websocket the
// bot opens to Slack, so no public endpoint is needed. It is safe for
// concurrent use.
type Socket struct {
	*Client
	cfg    SocketConfig
	logger *slog.Logger

	notReady   atomic.Pointer[string] // nil when connected
	reconnects *vm.Counter            // botkit_socket_reconnects_total: connections opened after the first
	envelopes  metric.Vec             // botkit_socket_envelopes_total{type}: envelopes received and acked
	// botkit_socket_connections: the app's open Socket Mode connections
	// (this one included) as the latest hello said, and
	// botkit_socket_connections_seen_timestamp_seconds: when that hello
	// came. Slack says it only when a connection opens (they are refreshed
	// every few hours), so the alert on a stray connection reads both.
	connections     *vm.Gauge
	connectionsSeen *vm.Gauge
}

// NewSocket returns a Socket Mode transport; Listen connects it.
func NewSocket(cfg SocketConfig) *Socket {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	t := &Socket{Client: NewClient(cfg.Config), cfg: cfg, logger: cfg.Logger}
	t.setNotReady("not connected yet")
	set := cfg.Registry
	if set == nil {
		set = vm.NewSet() // counted, never exposed
	}
	t.reconnects = metric.NewVec(set, "botkit_socket_reconnects_total", nil).Counter()
	t.envelopes = metric.NewVec(set, "botkit_socket_envelopes_total", nil, "type")
	t.connections = metric.NewVec(set, "botkit_socket_connections", nil).Gauge()
	t.connectionsSeen = metric.NewVec(set, "botkit_socket_connections_seen_timestamp_seconds", nil).Gauge()
	return t
}

// Ready implements botkit.Readier: an error while not connected.
func (t *Socket) Ready() error {
	if p := t.notReady.Load(); p != nil {
		return errors.New(*p)
	}
	return nil
}

func (t *Socket) setNotReady(reason string) { t.notReady.Store(&reason) }

// Listen implements botkit.Transport. It returns an error when Slack refuses
// the tokens, and ctx's error after closing the websocket when ctx ends.
func (t *Socket) Listen(ctx context.Context, deliver func(context.Context, botkit.Event)) error {
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
			if fatal := appTokenError(err); fatal != nil {
				return fatal
			}
			return fmt.Errorf("socket mode: %w", err)
		case evt := <-sm.Events:
			if err := t.handle(runCtx, sm, evt, deliver); err != nil {
				t.setNotReady("Slack refused SLACK_APP_TOKEN")
				return err
			}
		}
	}
}

// appTokenError returns the error Listen ends with when err is Slack
// refusing the app token for good, and nil otherwise.
func appTokenError(err error) error {
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) || !slices.Contains(fatalAuthErrors, se.Err) {
		return nil
	}
	return fmt.Errorf("slack refused SLACK_APP_TOKEN at apps.connections.open (%s): Socket Mode needs the app-level token (xapp-…) of this Slack app with the connections:write scope (the app's Basic Information page, App-Level Tokens): %w", se.Err, err)
}

// handle acks, then delivers, except an Events API event, which it
// delivers with an Ack that the bot calls once the event is recorded (so a
// crash after the ack loses nothing); it never blocks on the bot. It
// returns an error only when the connection can never succeed.
func (t *Socket) handle(ctx context.Context, sm *socketmode.Client, evt socketmode.Event, deliver func(context.Context, botkit.Event)) error {
	if evt.Request != nil && evt.Request.EnvelopeID != "" {
		t.envelopes.Counter(string(evt.Type)).Inc()
		// A modal submitted or an options request: Slack reads the
		// bot's answer from the ack, so the ack waits for it (the bot
		// answers within botkit.AnswerBudget).
		if cb, ok := evt.Data.(slack.InteractionCallback); ok && evt.Type == socketmode.EventTypeInteractive {
			if ev, ok := Interaction(cb); ok && (ev.Kind == botkit.KindView || ev.Kind == botkit.KindOptions) {
				ev.Answer = t.answerer(ctx, sm, evt.Request.EnvelopeID)
				deliver(ctx, ev)
				return nil
			}
		}
		if evt.Type != socketmode.EventTypeEventsAPI {
			t.ack(ctx, sm, evt.Request.EnvelopeID, nil)
		}
	}
	switch evt.Type {
	case socketmode.EventTypeHello:
		if evt.Request != nil {
			t.connections.Set(float64(evt.Request.NumConnections))
			t.connectionsSeen.Set(float64(time.Now().UnixNano()) / 1e9)
			t.logger.Info("slack said hello", "num_connections", evt.Request.NumConnections)
		}
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
			if fatal := appTokenError(e.ErrorObj); fatal != nil {
				return fatal
			}
			level := slog.LevelWarn
			if ctx.Err() != nil || errors.Is(e.ErrorObj, context.Canceled) { // shutting down: cancelled on purpose
				level = slog.LevelDebug
			}
			t.logger.Log(ctx, level, "connecting to slack", "attempt", e.Attempt, "backoff", e.Backoff, "err", e.ErrorObj)
		}
	case socketmode.EventTypeInvalidAuth:
		t.setNotReady("Slack refused SLACK_APP_TOKEN")
		t.logger.Error("slack refused the app token (SLACK_APP_TOKEN)")
	case socketmode.EventTypeIncomingError:
		if e, ok := evt.Data.(*slack.IncomingEventError); ok {
			level := slog.LevelWarn
			if ctx.Err() != nil || routineClose(e.ErrorObj) {
				level = slog.LevelDebug
			}
			t.logger.Log(ctx, level, "reading from slack", "err", e.ErrorObj)
		}
	case socketmode.EventTypeErrorBadMessage:
		t.ackRaw(ctx, sm, evt)
	case socketmode.EventTypeEventsAPI:
		id := evt.Request.EnvelopeID
		outer, ok := evt.Data.(slackevents.EventsAPIEvent)
		if !ok {
			t.ack(ctx, sm, id, nil)
			return nil
		}
		ev, ok := t.Event(outer)
		if !ok {
			t.ack(ctx, sm, id, nil)
			t.logger.Debug("event ignored", "type", outer.InnerEvent.Type)
			return nil
		}
		if evt.Request.RetryAttempt > 0 {
			t.logger.Info("slack retried an event", "event_id", ev.ID, "retry_attempt", evt.Request.RetryAttempt, "retry_reason", evt.Request.RetryReason)
		}
		// Called by the bot, maybe on another goroutine, maybe after ctx
		// ended (the socket is closed then, and Slack sends the event
		// again, to another connection).
		actx := context.WithoutCancel(ctx)
		ev.Ack = func() { t.ack(actx, sm, id, nil) }
		deliver(ctx, ev)
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok {
			return nil
		}
		if ev, ok := Interaction(cb); ok {
			deliver(ctx, ev)
		} else {
			t.logger.Debug("interaction ignored", "type", cb.Type)
		}
	case socketmode.EventTypeSlashCommand:
		if sc, ok := evt.Data.(slack.SlashCommand); ok {
			deliver(ctx, Slash(sc))
		}
	}
	return nil
}

// answerLate is how long past botkit.AnswerBudget an interaction's ack
// waits for the bot's answer before it goes empty: the bot answers at the
// budget itself; this only covers a bot that stopped meanwhile.
const answerLate = 300 * time.Millisecond

// answerer returns the Answer func of an interaction whose ack carries the
// bot's answer: the first answer is sent, once.
func (t *Socket) answerer(ctx context.Context, sm *socketmode.Client, envelopeID string) func(botkit.Answer) {
	var once sync.Once
	send := func(payload any) {
		once.Do(func() { t.ack(context.WithoutCancel(ctx), sm, envelopeID, payload) })
	}
	time.AfterFunc(botkit.AnswerBudget+answerLate, func() { send(nil) })
	return func(a botkit.Answer) { send(answerPayload(a)) }
}

// routineClose reports whether err is what slack-go's reader sees when a
// socket closes on purpose: a refresh_requested disconnect, a reconnect, or
// shutdown (slack-go closes the socket under its own reader), or a close
// frame saying goodbye. slack-go reports these as incoming errors, but
// nothing is wrong.
func routineClose(err error) bool {
	return errors.Is(err, net.ErrClosed) || websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway)
}

// ack queues the ack of envelope id with slack-go, waiting at most
// ackTimeout: while slack-go reconnects, nothing drains its queue of
// answers, and the read loop must not stall behind it.
func (t *Socket) ack(ctx context.Context, sm *socketmode.Client, id string, payload any) {
	actx, cancel := context.WithTimeout(ctx, ackTimeout)
	defer cancel()
	if err := sm.AckCtx(actx, id, payload); err != nil {
		t.logger.Warn("acking envelope", "envelope_id", id, "err", err)
	}
}

// ackRaw acks a frame slack-go could not parse, from its raw envelope_id.
func (t *Socket) ackRaw(ctx context.Context, sm *socketmode.Client, evt socketmode.Event) {
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
	t.ack(ctx, sm, env.EnvelopeID, nil)
	t.envelopes.Counter("unparseable").Inc()
	t.logger.Warn("acked an envelope slack-go could not parse", "envelope_id", env.EnvelopeID, "type", env.Type, "err", bad.Cause)
}
