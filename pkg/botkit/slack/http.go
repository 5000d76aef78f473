package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/botfleet/botfleet/pkg/botkit"
)

// Paths the transport serves.
const (
	EventsPath      = "/slack/events"
	InteractivePath = "/slack/interactive" // clicks, modals, shortcuts
	CommandsPath    = "/slack/commands"    // slash commands
	OptionsPath     = "/slack/options"     // external selects' options
)

// maxBody bounds a request body; Slack's payloads are far smaller.
const maxBody = 1 << 20

// HTTPConfig configures the HTTP Events API transport.
type HTTPConfig struct {
	Config
	SigningSecret botkit.Secret
}

// HTTP is the HTTP Events API transport: Slack POSTs events and
// interactions to the bot's HTTP server. It is safe for concurrent use.
type HTTP struct {
	*Client
	secret botkit.Secret
	logger *slog.Logger

	mu      sync.RWMutex
	deliver func(context.Context, botkit.Event) // nil when not listening
	ctx     context.Context
}

// NewHTTP returns an HTTP Events API transport; mount Routes on the bot's
// HTTP server and call Listen.
func NewHTTP(cfg HTTPConfig) *HTTP {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &HTTP{Client: NewClient(cfg.Config), secret: cfg.SigningSecret, logger: cfg.Logger}
}

// Routes adds the Slack endpoints to mux.
func (t *HTTP) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST "+EventsPath, t.serveEvents)
	mux.HandleFunc("POST "+InteractivePath, t.serveInteractive)
	mux.HandleFunc("POST "+OptionsPath, t.serveInteractive) // block_suggestion payloads
	mux.HandleFunc("POST "+CommandsPath, t.serveCommands)
}

// Ready implements botkit.Readier: ready while Listen runs.
func (t *HTTP) Ready() error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.deliver == nil {
		return errors.New("not listening")
	}
	return nil
}

// listening returns where events go while the transport listens; when it
// does not (shutting down), it answers 503 so Slack sends the request again
// (events) or the user sees the failure (interactions).
func (t *HTTP) listening(w http.ResponseWriter) (func(context.Context, botkit.Event), context.Context, bool) {
	t.mu.RLock()
	deliver, ctx := t.deliver, t.ctx
	t.mu.RUnlock()
	if deliver == nil {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return nil, nil, false
	}
	return deliver, ctx, true
}

// Listen implements botkit.Transport: it checks the bot token, takes events
// until ctx ends, and then refuses new ones (503, so Slack retries them
// elsewhere or later).
func (t *HTTP) Listen(ctx context.Context, deliver func(context.Context, botkit.Event)) error {
	if _, err := t.Authenticate(ctx); err != nil {
		return err
	}
	t.mu.Lock()
	t.deliver, t.ctx = deliver, ctx
	t.mu.Unlock()
	<-ctx.Done()
	t.mu.Lock()
	t.deliver = nil
	t.mu.Unlock()
	return ctx.Err()
}

// verified reads the body and checks its signature; it answers the request
// itself when it returns ok false.
func (t *HTTP) verified(w http.ResponseWriter, r *http.Request) (body []byte, ok bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "reading body", http.StatusBadRequest)
		return nil, false
	}
	sv, err := slack.NewSecretsVerifier(r.Header, t.secret.Reveal())
	if err == nil {
		_, _ = sv.Write(body)
		err = sv.Ensure()
	}
	if err != nil {
		t.logger.Warn("slack request refused: bad signature", "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return nil, false
	}
	return body, true
}

// dispatch hands ev to the bot if it is listening.
func (t *HTTP) dispatch(w http.ResponseWriter, ev botkit.Event) {
	deliver, ctx, ok := t.listening(w)
	if !ok {
		return
	}
	deliver(ctx, ev) // queues; never waits for the handler
	w.WriteHeader(http.StatusOK)
}

func (t *HTTP) serveEvents(w http.ResponseWriter, r *http.Request) {
	body, ok := t.verified(w, r)
	if !ok {
		return
	}
	outer, err := slackevents.ParseEvent(body, slackevents.OptionNoVerifyToken())
	if err != nil {
		// Acknowledge what we cannot read: a 4xx or 5xx makes Slack retry it.
		t.logger.Warn("unreadable event from slack", "err", err)
		w.WriteHeader(http.StatusOK)
		return
	}
	if outer.Type == slackevents.URLVerification {
		var ch slackevents.ChallengeResponse
		if err := json.Unmarshal(body, &ch); err != nil {
			http.Error(w, "bad challenge", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, ch.Challenge)
		return
	}
	ev, ok := t.Event(outer)
	if !ok {
		w.WriteHeader(http.StatusOK)
		return
	}
	if n := r.Header.Get("X-Slack-Retry-Num"); n != "" {
		t.logger.Info("slack retried an event", "event_id", ev.ID, "retry_attempt", n, "retry_reason", r.Header.Get("X-Slack-Retry-Reason"))
	}
	t.dispatchEvent(w, ev)
}

// dispatchEvent hands the bot an Events API event and answers 200 once the
// bot acks it (at once, or once it has recorded the event in its inbox);
// past botkit.AnswerBudget, or when the bot leaves the event to a retry
// (shutting down), it answers 503, and Slack sends the event again.
func (t *HTTP) dispatchEvent(w http.ResponseWriter, ev botkit.Event) {
	deliver, ctx, ok := t.listening(w)
	if !ok {
		return
	}
	acked := make(chan struct{})
	var once sync.Once
	ev.Ack = func() { once.Do(func() { close(acked) }) }
	deliver(ctx, ev)
	timer := time.NewTimer(botkit.AnswerBudget)
	defer timer.Stop()
	select {
	case <-acked:
		w.WriteHeader(http.StatusOK)
	case <-timer.C:
		t.logger.Warn("event not recorded in time; Slack will send it again", "event_id", ev.ID)
		http.Error(w, "not recorded in time", http.StatusServiceUnavailable)
	}
}

func (t *HTTP) serveInteractive(w http.ResponseWriter, r *http.Request) {
	body, ok := t.verified(w, r)
	if !ok {
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		t.logger.Warn("unreadable interaction from slack", "err", err)
		w.WriteHeader(http.StatusOK)
		return
	}
	ev, ok := Interaction(cb)
	if !ok {
		w.WriteHeader(http.StatusOK)
		return
	}
	if ev.Kind == botkit.KindView || ev.Kind == botkit.KindOptions {
		t.dispatchAnswered(w, ev)
		return
	}
	t.dispatch(w, ev)
}

// dispatchAnswered hands the bot an interaction Slack reads the answer of
// from the response body, and writes that answer: the bot answers within
// botkit.AnswerBudget; past it (plus a margin) the body is empty.
func (t *HTTP) dispatchAnswered(w http.ResponseWriter, ev botkit.Event) {
	deliver, ctx, ok := t.listening(w)
	if !ok {
		return
	}
	answers := make(chan botkit.Answer, 1)
	ev.Answer = func(a botkit.Answer) {
		select {
		case answers <- a:
		default:
		}
	}
	deliver(ctx, ev)
	timer := time.NewTimer(botkit.AnswerBudget + answerLate)
	defer timer.Stop()
	var payload any
	select {
	case a := <-answers:
		payload = answerPayload(a)
	case <-timer.C:
		t.logger.Warn("no answer from the bot in time; acknowledged empty", "kind", ev.Kind.String())
	}
	if payload == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(payload); err != nil {
		t.logger.Warn("writing the answer", "err", err)
	}
}

// serveCommands takes a slash command: a signed form, answered 200 at
// once; the command replies through its response_url.
func (t *HTTP) serveCommands(w http.ResponseWriter, r *http.Request) {
	body, ok := t.verified(w, r)
	if !ok {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sc, err := slack.SlashCommandParse(r)
	if err != nil || sc.Command == "" {
		http.Error(w, "bad slash command", http.StatusBadRequest)
		return
	}
	t.dispatch(w, Slash(sc))
}
