package slacktest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Socket Mode timings of the fake.
const (
	// writeTimeout bounds every websocket write, so a client that stopped
	// reading cannot wedge the fake.
	writeTimeout = 5 * time.Second
	// disconnectGrace is how long a socket that was sent a disconnect stays
	// open for the client to close it (slack-go closes at once); Slack also
	// keeps the old connection open for a while after refresh_requested.
	disconnectGrace = time.Second
	// approximateConnectionTime is what hello says a connection lives, in
	// seconds (Slack refreshes connections after about five hours).
	approximateConnectionTime = 18060
)

// wsConn is one Socket Mode websocket. Its fields other than ws, wake and
// done are guarded by Server.mu.
type wsConn struct {
	id       int
	epoch    int
	openedAt time.Time
	ws       *websocket.Conn
	wake     chan struct{} // cap 1: out has frames
	done     chan struct{} // closed by detach
	out      []outFrame    // frames to write, in order
	pinging  bool
	detached bool
}

func (c *wsConn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// outFrame is a frame to write, and what to do after it.
type outFrame struct {
	data       []byte
	env        *envelope // set for envelopes: timed, and requeued if never written
	disconnect bool      // close the socket disconnectGrace after writing
}

// envelope is an envelope the fake sent or will send.
type envelope struct {
	Envelope
	frame      []byte
	retryTimer bool         // an auto retry is scheduled
	it         *interaction // the interaction it carries, if any
}

// queuedLocked reports whether e waits in the queue for a socket.
func (s *Server) queuedLocked(e *envelope) bool {
	return slices.ContainsFunc(s.queue, func(f outFrame) bool { return f.env == e })
}

// storedEvent is an events_api payload kept for retries.
type storedEvent struct {
	event    Event
	payload  json.RawMessage
	attempts int
	socket   int // the socket that acked it first, 0 before
}

// Envelope describes a Socket Mode envelope the fake sent (or queued).
type Envelope struct {
	ID           string    // envelope_id
	Type         string    // events_api, interactive, slash_commands, or the type of a raw frame
	EventID      string    // event_id of an events_api envelope
	TriggerID    string    // the trigger_id its payload carries, if any
	RetryAttempt int       // retry_attempt
	RetryReason  string    // retry_reason
	Socket       int       // the socket it was written to (1 for the first accepted), 0 while queued
	SentAt       time.Time // when it was written, zero while queued
	Acked        bool      // whether an ack came back
	// Dropped is set when the envelope waited in the queue for the ack
	// timeout of WithAutoRetry with no socket open, and was never written.
	Dropped bool
}

// Ack is an ack the bot sent over a socket: {"envelope_id": …, "payload": …}.
type Ack struct {
	EnvelopeID string
	Payload    json.RawMessage // the response payload, if any
	// Answer is the payload read as the answer to the interaction the
	// envelope carried (sent with Interact), and whether Slack would take
	// it; zero for other envelopes. Only the first ack of an envelope is
	// applied, and only within AckDeadline.
	Answer  Answer
	Latency time.Duration // from writing the envelope to reading the ack; 0 for an unknown envelope
	Socket  int           // the socket it came on (1 for the first accepted)
	Known   bool          // whether the fake sent an envelope with this id
	Raw     []byte        // the frame as received
}

// serveSocket is the websocket apps.connections.open points to.
func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	ok := s.tickets[ticket] && !s.closed
	delete(s.tickets, ticket) // a ticket opens one socket
	s.mu.Unlock()
	if !ok {
		http.Error(w, "invalid or used ticket; call apps.connections.open", http.StatusUnauthorized)
		return
	}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }} // slack-go sends Origin: https://api.slack.com
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	ws.SetReadLimit(1 << 20)
	c := &wsConn{ws: ws, wake: make(chan struct{}, 1), done: make(chan struct{}), pinging: true}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ws.Close()
		return
	}
	s.sockets++
	c.id, c.epoch, c.openedAt = s.sockets, s.epoch, time.Now()
	hello := marshal(map[string]any{
		"type":            "hello",
		"num_connections": len(s.alive) + 1,
		"debug_info": map[string]any{"host": fmt.Sprintf("applink-fake-%d", c.id), "build_number": 1,
			"approximate_connection_time": approximateConnectionTime},
		"connection_info": map[string]any{"app_id": AppID},
	})
	c.out = []outFrame{{data: hello}}
	s.conns = append(s.conns, c)
	s.alive[c] = true
	s.flushQueueLocked()
	s.notifyLocked()
	s.mu.Unlock()
	c.signal()

	go s.writeLoop(c)
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			break
		}
		s.recordAck(c, data)
	}
	s.detach(c)
}

// writeLoop owns every write to c: frames, in order, and pings.
func (s *Server) writeLoop(c *wsConn) {
	ping := time.NewTicker(s.cfg.pingInterval)
	defer ping.Stop()
	pings := 0
	for {
		select {
		case <-c.done:
			return
		case <-ping.C:
			s.mu.Lock()
			p := c.pinging
			s.mu.Unlock()
			if !p {
				continue
			}
			pings++
			if err := c.ws.WriteControl(websocket.PingMessage, fmt.Appendf(nil, "ping-%d", pings), time.Now().Add(writeTimeout)); err != nil {
				s.detach(c)
				return
			}
		case <-c.wake:
			for {
				s.mu.Lock()
				if len(c.out) == 0 || c.detached {
					s.mu.Unlock()
					break
				}
				f := c.out[0]
				c.out = c.out[1:]
				if f.env != nil {
					f.env.Socket, f.env.SentAt = c.id, time.Now()
					if e := f.env; s.cfg.ackTimeout > 0 && e.EventID != "" && !e.retryTimer {
						e.retryTimer = true
						time.AfterFunc(s.cfg.ackTimeout, func() { s.timedOut(e, false) })
					}
				}
				s.mu.Unlock()
				_ = c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
				if err := c.ws.WriteMessage(websocket.TextMessage, f.data); err != nil {
					s.mu.Lock()
					if f.env != nil {
						f.env.Socket, f.env.SentAt = 0, time.Time{}
					}
					c.out = append([]outFrame{f}, c.out...) // requeued by detach
					s.mu.Unlock()
					s.detach(c)
					return
				}
				if f.disconnect {
					time.AfterFunc(disconnectGrace, func() { s.detach(c) })
				}
			}
		}
	}
}

// detach closes c's TCP connection (without a close frame) and forgets it.
// Envelopes it never wrote go to the open sockets as the Route picks, or
// back to the queue. It is idempotent.
func (s *Server) detach(c *wsConn) {
	s.mu.Lock()
	if c.detached {
		s.mu.Unlock()
		return
	}
	c.detached = true
	delete(s.alive, c)
	s.conns = slices.DeleteFunc(s.conns, func(o *wsConn) bool { return o == c })
	var unsent []outFrame
	for _, f := range c.out {
		if f.env != nil {
			unsent = append(unsent, f)
		}
	}
	c.out = nil
	s.requeueLocked(unsent)
	s.notifyLocked()
	s.mu.Unlock()
	close(c.done)
	_ = c.ws.NetConn().Close()
}

// flushQueueLocked hands queued envelopes to the open sockets, if any.
func (s *Server) flushQueueLocked() {
	if len(s.conns) == 0 {
		return
	}
	q := s.queue
	s.queue = nil
	for _, f := range q {
		s.routeLocked(f)
	}
}

// routeLocked hands f to the socket the Route picks among s.conns, which
// must not be empty.
func (s *Server) routeLocked(f outFrame) {
	d := Delivery{Sockets: make([]Socket, len(s.conns))}
	for i, c := range s.conns {
		d.Sockets[i] = Socket{ID: c.id, OpenedAt: c.openedAt}
	}
	if f.env != nil {
		d.Envelope = f.env.Envelope
		d.Origin = s.originLocked(f.env.it)
	}
	c := s.conns[clamp(s.route(d), len(s.conns))]
	c.out = append(c.out, f)
	c.signal()
}

// originLocked returns the socket that acked the event whose thread holds
// the message it acts on, or 0.
func (s *Server) originLocked(it *interaction) int {
	if it == nil || it.messageTS == "" {
		return 0
	}
	root := it.messageTS
	if h := s.history[key(it.channel, it.messageTS)]; h != nil && h.ThreadTS != "" {
		root = h.ThreadTS
	}
	for _, id := range slices.Backward(s.eventOrder) {
		if ev := s.events[id]; ev.event.Channel == it.channel && ev.event.TS == root {
			return ev.socket
		}
	}
	return 0
}

// SetRoute changes how envelopes are handed to the open sockets from now
// on (see WithRoute). Envelopes already handed to a socket stay there.
func (s *Server) SetRoute(r Route) {
	if r == nil {
		panic("slacktest: SetRoute needs a Route")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.route = r
}

// requeueLocked hands frames back to the open sockets, or, with none
// open, puts them at the head of the queue.
func (s *Server) requeueLocked(frames []outFrame) {
	if len(s.conns) > 0 {
		for _, f := range frames {
			s.routeLocked(f)
		}
		return
	}
	s.queue = append(slices.Clone(frames), s.queue...)
	for _, f := range frames {
		s.expireLocked(f)
	}
}

// expireLocked makes a queued envelope time out after the ack timeout of
// WithAutoRetry if it is still queued then.
func (s *Server) expireLocked(f outFrame) {
	if e := f.env; e != nil && e.ID != "" && s.cfg.ackTimeout > 0 {
		time.AfterFunc(s.cfg.ackTimeout, func() { s.timedOut(e, true) })
	}
}

// timedOut is called the ack timeout after e was written, or (queued true)
// after it was queued with no socket open: an event not acked by then is
// retried, and a queued envelope still waiting is dropped.
func (s *Server) timedOut(e *envelope, queued bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if queued {
		if !s.queuedLocked(e) {
			return // written meanwhile: its own ack timeout runs
		}
		s.queue = slices.DeleteFunc(s.queue, func(f outFrame) bool { return f.env == e })
		e.Dropped = true
		s.notifyLocked()
	}
	ev := s.events[e.EventID]
	if e.Acked || s.closed || ev == nil || e.RetryAttempt < ev.attempts || ev.attempts >= MaxRetries {
		return
	}
	// The attempt failed now; the retry goes out after its backoff
	// whatever happens meanwhile, as Slack decides at the timeout.
	ev.attempts++
	n := ev.attempts
	retry := func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.closed {
			s.sendLocked("events_api", ev.payload, e.EventID, n, "timeout", nil)
		}
	}
	if n <= len(s.cfg.retryBackoff) && s.cfg.retryBackoff[n-1] > 0 {
		time.AfterFunc(s.cfg.retryBackoff[n-1], retry)
		return
	}
	s.sendLocked("events_api", ev.payload, e.EventID, n, "timeout", nil)
}

// recordAck records a frame the client sent: slack-go sends only acks.
func (s *Server) recordAck(c *wsConn, data []byte) {
	var msg struct {
		EnvelopeID string          `json:"envelope_id"`
		Payload    json.RawMessage `json:"payload"`
	}
	_ = json.Unmarshal(data, &msg)
	a := Ack{EnvelopeID: msg.EnvelopeID, Payload: msg.Payload, Socket: c.id, Raw: data}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.envelopes[msg.EnvelopeID]; e != nil {
		a.Known = true
		if !e.SentAt.IsZero() {
			a.Latency = time.Since(e.SentAt)
		}
		switch {
		case e.it != nil && e.Acked:
			a.Answer.Problem = "a second ack of the envelope: Slack ignores it"
		case e.it != nil:
			a.Answer = s.answerLocked(e.it, msg.Payload, a.Latency)
		}
		e.Acked = true
		if ev := s.events[e.EventID]; ev != nil && ev.socket == 0 {
			ev.socket = c.id
		}
	}
	s.acks = append(s.acks, a)
	s.notifyLocked()
}

// sendLocked sends (or queues) a new envelope of typ carrying payload, and
// it, the interaction it carries, if any.
func (s *Server) sendLocked(typ string, payload json.RawMessage, eventID string, retry int, retryReason string, it *interaction) string {
	n := s.nextLocked()
	id := fmt.Sprintf("%08x-5eed-4fa1-8e00-%012x", n, n)
	accepts := typ == "slash_commands"
	if typ == "interactive" {
		var p struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(payload, &p)
		accepts = p.Type == "view_submission" || p.Type == "block_suggestion"
	}
	frame := map[string]any{"envelope_id": id, "type": typ, "payload": payload, "accepts_response_payload": accepts}
	if typ == "events_api" {
		frame["retry_attempt"], frame["retry_reason"] = retry, retryReason
	}
	e := &envelope{Envelope: Envelope{ID: id, Type: typ, EventID: eventID, RetryAttempt: retry, RetryReason: retryReason}, frame: marshal(frame), it: it}
	if it != nil {
		e.TriggerID = it.triggerID
	}
	s.enqueueLocked(e)
	return id
}

func (s *Server) enqueueLocked(e *envelope) {
	if e.ID != "" {
		s.envelopes[e.ID] = e
		s.envOrder = append(s.envOrder, e.ID)
	}
	f := outFrame{data: e.frame, env: e}
	if len(s.conns) > 0 {
		s.routeLocked(f)
	} else {
		s.queue = append(s.queue, f)
		s.expireLocked(f)
	}
	s.notifyLocked()
}

// Send sends an envelope of typ (events_api, interactive or slash_commands)
// carrying payload (a json.RawMessage, []byte of JSON, or a value to
// marshal), and returns its envelope id. SendEvent and Interact build
// real-shaped payloads; Send is for the ones they do not, like a malformed
// one. While no socket is open, envelopes are queued and delivered, in
// order, to the next one.
func (s *Server) Send(typ string, payload any) (envelopeID string) {
	raw := rawJSON(payload)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sendLocked(typ, raw, "", 0, "", nil)
}

func rawJSON(v any) json.RawMessage {
	switch v := v.(type) {
	case json.RawMessage:
		return v
	case []byte:
		return v
	}
	return marshal(v)
}

// SendRaw sends frame as is, as one websocket text message: a malformed
// envelope, say, or a disconnect with another reason. envelopeID, if not
// empty, is the id the frame carries, so WaitAck can time its ack. Like
// envelopes, raw frames are queued while no socket is open.
func (s *Server) SendRaw(envelopeID string, frame []byte) {
	var head struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(frame, &head)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.enqueueLocked(&envelope{Envelope: Envelope{ID: envelopeID, Type: head.Type}, frame: append([]byte{}, frame...)})
}

// Acks returns the acks received, in order.
func (s *Server) Acks() []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.acks)
	for i := range out {
		out[i].Answer = out[i].Answer.clone()
	}
	return out
}

// Envelopes returns the envelopes sent or queued, in the order they were
// created.
func (s *Server) Envelopes() []Envelope {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Envelope, 0, len(s.envOrder))
	for _, id := range s.envOrder {
		out = append(out, s.envelopes[id].Envelope)
	}
	return out
}

// WaitAck waits for the first ack of envelopeID and returns it. It fails the
// test after the wait timeout.
func (s *Server) WaitAck(t testing.TB, envelopeID string) Ack {
	t.Helper()
	var ack Ack
	found := s.wait(0, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, a := range s.acks {
			if a.EnvelopeID == envelopeID {
				ack = a
				ack.Answer = a.Answer.clone()
				return true
			}
		}
		return false
	})
	if !found {
		t.Fatalf("slacktest: envelope %s not acked within %v\n%s", envelopeID, s.cfg.waitTimeout, s.dump())
	}
	return ack
}

// OpenSockets returns how many Socket Mode websockets are open.
func (s *Server) OpenSockets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.alive)
}

// Sockets returns how many Socket Mode websockets were accepted so far.
func (s *Server) Sockets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sockets
}

// WaitConnected waits until a socket is open that was accepted after the
// last Disconnect, Drop or StopPings (any socket, if there was none), so
// after a fault it waits for the bot to come back. It fails the test after
// the wait timeout.
func (s *Server) WaitConnected(t testing.TB) {
	t.Helper()
	ok := s.wait(0, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range s.conns {
			if c.epoch == s.epoch {
				return true
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("slacktest: no socket connected within %v\n%s", s.cfg.waitTimeout, s.dump())
	}
}

// WaitDisconnected waits until no socket is open, as after a bot shut down.
// It fails the test after the wait timeout.
func (s *Server) WaitDisconnected(t testing.TB) {
	t.Helper()
	if !s.wait(0, func() bool { return s.OpenSockets() == 0 }) {
		t.Fatalf("slacktest: %d sockets still open after %v", s.OpenSockets(), s.cfg.waitTimeout)
	}
}

// Disconnect asks every open socket to reconnect, as Slack does before it
// refreshes a connection: it sends {"type":"disconnect","reason":
// "refresh_requested"} and closes the socket when the client does, or a
// second later. Envelopes sent from now on are queued until a new socket
// opens; envelopes not yet written to the old socket are moved to the queue.
func (s *Server) Disconnect() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.epoch++
	for _, c := range s.conns {
		frame := marshal(map[string]any{"type": "disconnect", "reason": "refresh_requested",
			"debug_info": map[string]any{"host": fmt.Sprintf("applink-fake-%d", c.id)}})
		for _, f := range c.out {
			if f.env != nil {
				s.queue = append(s.queue, f)
				s.expireLocked(f)
			}
		}
		c.out = []outFrame{{data: frame, disconnect: true}}
		c.pinging = false
		c.signal()
	}
	s.conns = nil
	s.notifyLocked()
}

// Drop closes every open socket's TCP connection without a close frame, as
// a network failure would. Envelopes not yet written are queued for the
// next socket.
func (s *Server) Drop() {
	s.mu.Lock()
	s.epoch++
	var conns []*wsConn
	for c := range s.alive {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		s.detach(c)
	}
}

// StopPings stops pinging the sockets open now, so the client takes them for
// dead after its ping interval and reconnects; sockets opened later are
// pinged as usual. The silent sockets stay open, and keep getting envelopes,
// until the client closes them.
func (s *Server) StopPings() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.epoch++
	for c := range s.alive {
		c.pinging = false
	}
	s.notifyLocked()
}
