// Package slacktest is a fake Slack for end-to-end tests: it serves the Web
// API methods bots use and the Socket Mode websocket on loopback, so the
// unmodified slack-go client (and a bot binary pointed at it with
// SLACK_API_URL) talks to it as to Slack. It checks tokens on every call and
// records calls, posted messages and acks. A Server is safe for concurrent
// use.
package slacktest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Identities and tokens the fake accepts.
const (
	BotToken = "xoxb-0-botfleet-fake"
	AppToken = "xapp-0-botfleet-fake"
	BotUser  = "UBOT"
	BotID    = "BBOT"
	Team     = "T0FAKE"
)

// Message is a message the bot posted, or an update of one.
type Message struct {
	Method    string // chat.postMessage, chat.update, chat.postEphemeral
	Channel   string
	TS        string
	ThreadTS  string
	Text      string
	Blocks    string // the blocks JSON, if any
	Ephemeral string // the user of an ephemeral message
}

// Server is the fake. Create it with New.
type Server struct {
	srv          *httptest.Server
	pingInterval time.Duration

	mu       sync.Mutex
	conn     *websocket.Conn
	connCh   chan struct{} // a new socket is up
	messages []Message
	calls    map[string]int
	sent     map[string]time.Time // envelope id -> sent
	acks     map[string]time.Time // envelope id -> acked
	queue    [][]byte             // envelopes waiting for a socket
	seq      int
	events   map[string][]byte // event id -> payload, for retries
	limited  map[string]int    // method -> how many more calls get 429
	wmu      sync.Mutex        // serializes websocket writes
}

// New starts a fake on 127.0.0.1 and closes it when the test ends. It pings
// every connected socket every pingInterval (0 means 1 s), as Slack does.
func New(t testing.TB, pingInterval time.Duration) *Server {
	if pingInterval <= 0 {
		pingInterval = time.Second
	}
	s := &Server{
		pingInterval: pingInterval, connCh: make(chan struct{}, 16),
		calls: map[string]int{}, limited: map[string]int{}, sent: map[string]time.Time{}, acks: map[string]time.Time{}, events: map[string][]byte{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.serveAPI)
	mux.HandleFunc("/ws", s.serveSocket)
	s.srv = httptest.NewUnstartedServer(mux) // assigned before any handler can read it
	s.srv.Start()
	t.Cleanup(s.Close)
	return s
}

// APIURL is the Web API base URL, for SLACK_API_URL.
func (s *Server) APIURL() string { return s.srv.URL + "/api/" }

// Close stops the fake.
func (s *Server) Close() {
	s.mu.Lock()
	if s.conn != nil {
		s.conn.Close()
	}
	s.mu.Unlock()
	s.srv.Close()
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	var params map[string]any
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		_ = json.NewDecoder(r.Body).Decode(&params)
	} else {
		_ = r.ParseForm()
		params = map[string]any{}
		for k, v := range r.PostForm {
			params[k] = v[0]
		}
	}
	str := func(k string) string { v, _ := params[k].(string); return v }
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if tok == "" {
		tok = str("token")
	}
	w.Header().Set("Content-Type", "application/json")
	reply := func(v map[string]any) {
		v["ok"] = true
		_ = json.NewEncoder(w).Encode(v)
	}
	fail := func(code string) { _ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": code}) }

	s.mu.Lock()
	s.calls[method]++
	limited := s.limited[method] > 0
	if limited {
		s.limited[method]--
	}
	s.mu.Unlock()
	if limited {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"ok":false,"error":"ratelimited"}`))
		return
	}
	want := BotToken
	if method == "apps.connections.open" {
		want = AppToken
	}
	switch {
	case tok == "":
		fail("not_authed")
		return
	case tok != want:
		fail("invalid_auth")
		return
	}
	switch method {
	case "auth.test":
		reply(map[string]any{"user_id": BotUser, "bot_id": BotID, "team_id": Team, "user": "bot", "team": "fake"})
	case "apps.connections.open":
		reply(map[string]any{"url": "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/ws"})
	case "chat.postMessage", "chat.update", "chat.postEphemeral":
		m := Message{Method: method, Channel: str("channel"), ThreadTS: str("thread_ts"), Text: str("text"), Blocks: str("blocks"), Ephemeral: str("user")}
		s.mu.Lock()
		s.seq++
		m.TS = str("ts")
		if method != "chat.update" {
			m.TS = fmt.Sprintf("1800000000.%06d", s.seq)
		}
		s.messages = append(s.messages, m)
		s.mu.Unlock()
		reply(map[string]any{"channel": m.Channel, "ts": m.TS, "message_ts": m.TS})
	default:
		fail("unknown_method")
	}
}

func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }} // slack-go sends Origin: https://api.slack.com
	c, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	hello, _ := json.Marshal(map[string]any{"type": "hello", "num_connections": 1,
		"connection_info": map[string]any{"app_id": "A0FAKE"}, "debug_info": map[string]any{"approximate_connection_time": 3600}})
	s.write(c, hello)
	s.mu.Lock()
	s.conn = c
	queued := s.queue
	s.queue = nil
	s.mu.Unlock()
	for _, f := range queued {
		s.write(c, f)
	}
	s.connCh <- struct{}{}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(s.pingInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				s.wmu.Lock()
				err := c.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(time.Second))
				s.wmu.Unlock()
				if err != nil {
					return
				}
			}
		}
	}()
	defer close(done)
	for {
		var ack struct {
			EnvelopeID string `json:"envelope_id"`
		}
		if err := c.ReadJSON(&ack); err != nil {
			s.mu.Lock()
			if s.conn == c {
				s.conn = nil
			}
			s.mu.Unlock()
			return
		}
		s.mu.Lock()
		s.acks[ack.EnvelopeID] = time.Now()
		s.mu.Unlock()
	}
}

func (s *Server) write(c *websocket.Conn, frame []byte) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = c.WriteMessage(websocket.TextMessage, frame)
}

// RateLimit answers the next n calls of method with 429 and Retry-After: 1,
// as Slack does when a method's rate limit is hit.
func (s *Server) RateLimit(method string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limited[method] = n
}

// Disconnect sends the disconnect frame Slack sends before it refreshes a
// connection (reason refresh_requested), then closes the socket.
func (s *Server) Disconnect() {
	s.mu.Lock()
	c := s.conn
	s.conn = nil
	s.mu.Unlock()
	if c == nil {
		return
	}
	s.write(c, []byte(`{"type":"disconnect","reason":"refresh_requested","debug_info":{"host":"fake"}}`))
	c.Close()
}

// Drop closes the socket without a word, like a network failure.
func (s *Server) Drop() {
	s.mu.Lock()
	c := s.conn
	s.conn = nil
	s.mu.Unlock()
	if c != nil {
		c.UnderlyingConn().Close()
	}
}

// WaitConnected waits until a bot has a socket up (n sockets opened in all).
func (s *Server) WaitConnected(t testing.TB) {
	t.Helper()
	select {
	case <-s.connCh:
	case <-time.After(10 * time.Second):
		t.Fatal("slacktest: no socket connected within 10s")
	}
}

// sendEnvelope sends (or queues, while no socket is up) an envelope and
// returns its id.
func (s *Server) sendEnvelope(typ string, payload []byte, retry int) string {
	s.mu.Lock()
	s.seq++
	id := fmt.Sprintf("env-%d", s.seq)
	frame, _ := json.Marshal(map[string]any{"type": typ, "envelope_id": id, "payload": json.RawMessage(payload),
		"accepts_response_payload": false, "retry_attempt": retry, "retry_reason": map[bool]string{true: "timeout"}[retry > 0]})
	s.sent[id] = time.Now()
	c := s.conn
	if c == nil {
		s.queue = append(s.queue, frame)
	}
	s.mu.Unlock()
	if c != nil {
		s.write(c, frame)
	}
	return id
}

// Mention sends an app_mention of the bot by user in channel, as Slack
// would: the text starts with <@UBOT>. It returns the event id and the
// envelope id.
func (s *Server) Mention(user, channel, text string) (eventID, envelopeID string) {
	s.mu.Lock()
	s.seq++
	eventID = fmt.Sprintf("Ev%06d", s.seq)
	ts := fmt.Sprintf("1700000000.%06d", s.seq)
	s.mu.Unlock()
	inner, _ := json.Marshal(map[string]any{"type": "app_mention", "user": user, "text": "<@" + BotUser + "> " + text, "ts": ts, "channel": channel, "event_ts": ts})
	payload, _ := json.Marshal(map[string]any{"type": "event_callback", "event_id": eventID, "team_id": Team, "event_time": time.Now().Unix(), "event": json.RawMessage(inner)})
	s.mu.Lock()
	s.events[eventID] = payload
	s.mu.Unlock()
	return eventID, s.sendEnvelope("events_api", payload, 0)
}

// Retry resends the event eventID in a new envelope, as Slack retries.
func (s *Server) Retry(eventID string) string {
	s.mu.Lock()
	payload := s.events[eventID]
	s.mu.Unlock()
	return s.sendEnvelope("events_api", payload, 1)
}

// SendRaw sends a frame as is over the socket (a malformed envelope, say).
func (s *Server) SendRaw(envelopeID string, frame []byte) {
	s.mu.Lock()
	s.sent[envelopeID] = time.Now()
	c := s.conn
	s.mu.Unlock()
	if c != nil {
		s.write(c, frame)
	}
}

// WaitAck waits up to 10 s for the envelope's ack and returns how long after
// sending it came.
func (s *Server) WaitAck(t testing.TB, envelopeID string) time.Duration {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		s.mu.Lock()
		at, ok := s.acks[envelopeID]
		sent := s.sent[envelopeID]
		s.mu.Unlock()
		if ok {
			return at.Sub(sent)
		}
	}
	t.Fatalf("slacktest: envelope %s not acked within 10s", envelopeID)
	return 0
}

// Messages returns what the bot posted and updated, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// WaitMessages waits up to 10 s until at least n messages were posted or
// updated, and returns them.
func (s *Server) WaitMessages(t testing.TB, n int) []Message {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if m := s.Messages(); len(m) >= n {
			return m
		}
	}
	t.Fatalf("slacktest: %d messages within 10s, want %d: %+v", len(s.Messages()), n, s.Messages())
	return nil
}

// Calls returns how often method was called.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}
