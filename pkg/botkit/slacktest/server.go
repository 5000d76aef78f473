package slacktest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"
)

// Identities and credentials the fake uses and accepts. The tokens have the
// prefixes of real ones (slack-go and bots check them) but cannot be mistaken
// for real ones.
const (
	BotToken          = "xoxb-0-botfleet-fake"         // the bot token, for Web API methods
	AppToken          = "xapp-0-botfleet-fake"         // the app-level token, for apps.connections.open
	SigningSecret     = "botfleet-fake-signing-secret" // signs HTTP Events API pushes
	VerificationToken = "botfleet-fake-verification"   // the deprecated token field of payloads
	BotUser           = "UBOT"                         // the bot's user id
	BotID             = "BBOT"                         // the bot's bot id
	BotName           = "botfleet"                     // the bot user's name
	Team              = "T0FAKE"                       // the workspace id
	TeamDomain        = "botfleet-fake"                // the workspace domain
	AppID             = "A0FAKE"                       // the app id
)

// Defaults of the options.
const (
	// DefaultPingInterval is how often the fake pings each socket. slack-go
	// reconnects when no ping came for its OptionPingInterval (30 s by
	// default, checked on a ticker of that period, so a socket is declared
	// dead between one and two intervals after the last ping); keep the
	// fake's interval at a third of the client's or less.
	DefaultPingInterval = time.Second
	// DefaultWaitTimeout is how long the Wait* methods wait before failing
	// the test.
	DefaultWaitTimeout = 10 * time.Second
)

// Option configures a Server.
type Option func(*config)

type config struct {
	pingInterval      time.Duration
	waitTimeout       time.Duration
	ackTimeout        time.Duration
	retryBackoff      []time.Duration
	route             Route
	triggerExpiry     time.Duration
	responseURLExpiry time.Duration
	ackDeadline       time.Duration
	limits            map[string]Limit // nil: no rate limits
}

// WithPingInterval sets how often the fake pings each socket (see
// DefaultPingInterval). It panics if d is not positive.
func WithPingInterval(d time.Duration) Option {
	if d <= 0 {
		panic("slacktest: WithPingInterval needs a positive interval")
	}
	return func(c *config) { c.pingInterval = d }
}

// WithWaitTimeout sets how long the Wait* methods wait before they fail the
// test (see DefaultWaitTimeout). It panics if d is not positive.
func WithWaitTimeout(d time.Duration) Option {
	if d <= 0 {
		panic("slacktest: WithWaitTimeout needs a positive timeout")
	}
	return func(c *config) { c.waitTimeout = d }
}

// MaxRetries is how often Slack retries an event that was not acked (or
// not answered with 2xx over HTTP): three times, the last after about five
// minutes.
const MaxRetries = 3

// SlackRetryBackoff returns when Slack sends its retries of an event,
// after the ack timeout of the delivery before: nearly at once, after a
// minute, after five minutes (Slack's Events API documentation). Tests
// scale it down.
func SlackRetryBackoff() []time.Duration { return []time.Duration{0, time.Minute, 5 * time.Minute} }

// WithAutoRetry makes the fake deliver as Slack does: an events_api
// envelope not acked within ackTimeout of being written (Slack's is 3 s) is
// retried, a new envelope with the same event, retry_attempt one more and
// retry_reason "timeout", at most MaxRetries times per event, and, like any
// envelope, to whichever connection the Route picks. backoff[i] is how long
// after the ack timeout retry i+1 is sent (missing ones: at once); Slack's
// is SlackRetryBackoff(). Interactive envelopes (clicks, submissions, slash
// commands) are never retried.
//
// It also bounds the queue: what Slack does with envelopes while an app
// has no connection open is not documented, and the fake takes the
// delivery to have failed. An envelope queued for ackTimeout without a
// connection is dropped (Envelope.Dropped): an event is then retried as if
// it had timed out, and is lost once its retries are spent with no
// connection; a click or a slash command is lost at once, as Slack shows
// the user an error. Without WithAutoRetry, events are retried only by
// Retry, and envelopes wait in the queue for the next connection however
// long it takes. It panics if ackTimeout or a backoff is not positive (a
// backoff may be 0).
func WithAutoRetry(ackTimeout time.Duration, backoff ...time.Duration) Option {
	if ackTimeout <= 0 {
		panic("slacktest: WithAutoRetry needs a positive timeout")
	}
	for _, d := range backoff {
		if d < 0 {
			panic("slacktest: WithAutoRetry needs backoffs of 0 or more")
		}
	}
	return func(c *config) { c.ackTimeout, c.retryBackoff = ackTimeout, slices.Clone(backoff) }
}

// WithRoute sets how the fake picks, among an app's open connections, the
// one each envelope goes to (RouteNewest by default). SetRoute changes it
// later.
func WithRoute(r Route) Option {
	if r == nil {
		panic("slacktest: WithRoute needs a Route")
	}
	return func(c *config) { c.route = r }
}

// Server is the fake Slack. Create it with New. It is safe for concurrent
// use.
type Server struct {
	cfg    config
	http   *httptest.Server
	client *http.Client // for pushes

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change of state
	closed  bool
	seq     int // ts, event, envelope, file and ticket numbers

	// Web API
	limiter   *limiter // nil without WithRateLimits
	calls     []Call
	faults    map[string][]*fault
	handlers  map[string]HandlerFunc
	messages  []Message
	history   map[string]*histMsg // channel+" "+ts -> message in the channel
	reactions []Reaction
	files     map[string]*File
	fileOrder []string
	users     map[string]User
	channels  map[string]Channel
	groups    map[string][]string
	responses map[string]*responseURL // response_url path -> where it answers
	triggers  map[string]*trigger     // trigger_id -> who and when
	views     map[string]*view        // open modals and published home tabs by id
	stacks    map[string][]string     // user -> open modals, root first
	homes     map[string]string       // user -> home tab view id
	externals map[string]string       // external_id -> view id
	apps      map[string]*App         // by app id, made by apps.manifest.create
	appOrder  []string

	// Socket Mode
	tickets    map[string]bool
	conns      []*wsConn // open sockets that get new envelopes, oldest first
	route      Route
	alive      map[*wsConn]bool
	queue      []outFrame // envelopes waiting for a socket
	epoch      int        // bumped by socket faults; see WaitConnected
	sockets    int        // sockets ever accepted
	envelopes  map[string]*envelope
	envOrder   []string
	events     map[string]*storedEvent
	eventOrder []string
	acks       []Ack
}

// New starts a fake on 127.0.0.1. If t is not nil, the fake is closed when
// the test ends; otherwise call Close.
func New(t testing.TB, opts ...Option) *Server {
	cfg := config{pingInterval: DefaultPingInterval, waitTimeout: DefaultWaitTimeout, triggerExpiry: TriggerExpiry,
		responseURLExpiry: ResponseURLExpiry, ackDeadline: AckDeadline, route: RouteNewest()}
	for _, o := range opts {
		o(&cfg)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // pushes go to loopback
	s := &Server{
		cfg:       cfg,
		route:     cfg.route,
		limiter:   newLimiter(cfg.limits),
		client:    &http.Client{Transport: tr},
		changed:   make(chan struct{}),
		faults:    map[string][]*fault{},
		handlers:  map[string]HandlerFunc{},
		history:   map[string]*histMsg{},
		files:     map[string]*File{},
		users:     map[string]User{BotUser: {ID: BotUser, Name: BotName, RealName: "Botfleet", IsBot: true}},
		channels:  map[string]Channel{},
		groups:    map[string][]string{},
		responses: map[string]*responseURL{},
		triggers:  map[string]*trigger{},
		views:     map[string]*view{},
		stacks:    map[string][]string{},
		homes:     map[string]string{},
		externals: map[string]string{},
		apps:      map[string]*App{},
		tickets:   map[string]bool{},
		alive:     map[*wsConn]bool{},
		envelopes: map[string]*envelope{},
		events:    map[string]*storedEvent{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.serveAPI)
	mux.HandleFunc("/link/", s.serveSocket)
	mux.HandleFunc("/upload/", s.serveUpload)
	mux.HandleFunc("/response/", s.serveResponseURL)
	s.http = httptest.NewUnstartedServer(mux) // assigned before a handler can read it
	s.http.Start()
	if t != nil {
		t.Cleanup(s.Close)
	}
	return s
}

// URL is the fake's base URL, like http://127.0.0.1:PORT.
func (s *Server) URL() string { return s.http.URL }

// APIURL is the Web API base URL, with the trailing slash slack-go needs:
// pass it to slack.OptionAPIURL or set SLACK_API_URL to it.
func (s *Server) APIURL() string { return s.http.URL + "/api/" }

// Close closes every socket and stops the fake. Calls after the first do
// nothing.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	var conns []*wsConn
	for c := range s.alive {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		s.detach(c)
	}
	s.http.Close()
	s.client.CloseIdleConnections()
}

// notifyLocked wakes everything waiting for a change. s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// nextLocked returns the next number of the fake's one counter.
func (s *Server) nextLocked() int {
	s.seq++
	return s.seq
}

// tsLocked returns a fresh message timestamp: 1700000000.000100,
// 1700000000.000200, …
func (s *Server) tsLocked() string {
	us := s.nextLocked() * 100
	return fmt.Sprintf("%d.%06d", 1700000000+us/1e6, us%1e6)
}

// WaitFor waits until cond returns true, re-checking it on every change of
// the fake's state and every 10 ms, and fails the test after timeout (0
// means the server's wait timeout). cond must not call the Server's Wait
// methods.
func (s *Server) WaitFor(t testing.TB, timeout time.Duration, cond func() bool) {
	t.Helper()
	if !s.wait(timeout, cond) {
		t.Fatalf("slacktest: condition not met within %v\n%s", s.timeout(timeout), s.dump())
	}
}

func (s *Server) timeout(d time.Duration) time.Duration {
	if d <= 0 {
		return s.cfg.waitTimeout
	}
	return d
}

// wait reports whether cond became true within timeout.
func (s *Server) wait(timeout time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(s.timeout(timeout))
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		changed := s.changed
		s.mu.Unlock()
		if cond() {
			return true
		}
		select {
		case <-changed:
		case <-tick.C:
		case <-deadline.C:
			return cond()
		}
	}
}

// dump describes the recent state, for failure messages.
func (s *Server) dump() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := fmt.Sprintf("  sockets open: %d (accepted %d), queued envelopes: %d\n", len(s.alive), s.sockets, len(s.queue))
	last := func(n, l int) int { return max(0, l-n) }
	for _, c := range s.calls[last(10, len(s.calls)):] {
		out += fmt.Sprintf("  call %s -> %d %s\n", c.Method, c.Status, c.Error)
	}
	for _, m := range s.messages[last(10, len(s.messages)):] {
		out += fmt.Sprintf("  message %s %s ts=%s thread=%s %q\n", m.Method, m.Channel, m.TS, m.ThreadTS, m.Text)
	}
	for _, a := range s.acks[last(5, len(s.acks)):] {
		out += fmt.Sprintf("  ack %s\n", a.EnvelopeID)
	}
	return out
}

// Call is one Web API call the fake received.
type Call struct {
	Method string     // e.g. chat.postMessage
	Params url.Values // form fields, query and JSON body fields (non-strings as JSON), without the token
	Token  string     // from the Authorization header or the token field
	Status int        // HTTP status of the answer; 0 if the client gave up first (see Fault.Delay)
	Error  string     // the Slack error of an ok:false answer, like invalid_auth or ratelimited
	At     time.Time  // when the answer was sent (or the client gave up)
}

// Calls returns the calls of method, or all calls if method is empty, in the
// order they were answered.
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			c.Params = cloneValues(c.Params)
			out = append(out, c)
		}
	}
	return out
}

// Message is something the bot did to a message: a post, an update, an
// ephemeral message, a delete, or a post to a response_url.
type Message struct {
	Method          string // chat.postMessage, chat.update, chat.postEphemeral, chat.delete, response_url, or ack (a slash command's answer)
	Channel         string
	TS              string // the message's ts (for an update or delete, the ts it names)
	ThreadTS        string
	Text            string
	Blocks          string // the blocks JSON array, if any
	EphemeralUser   string // who alone sees it: the user of chat.postEphemeral, or of an ephemeral response
	ResponseType    string // response_url and ack: in_channel or ephemeral, as the bot gave it ("" is ephemeral)
	ReplaceOriginal bool   // response_url
	DeleteOriginal  bool   // response_url
}

// Messages returns what the bot posted, updated and deleted, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.messages)
}

// WaitMessages waits until at least n messages are recorded (see Messages)
// and returns them all. It fails the test after the wait timeout.
func (s *Server) WaitMessages(t testing.TB, n int) []Message {
	t.Helper()
	var msgs []Message
	if !s.wait(0, func() bool { msgs = s.Messages(); return len(msgs) >= n }) {
		t.Fatalf("slacktest: %d messages within %v, want %d\n%s", len(msgs), s.cfg.waitTimeout, n, s.dump())
	}
	return msgs
}

// Reaction is an emoji reaction the bot added.
type Reaction struct {
	Name    string
	Channel string
	TS      string
}

// Reactions returns the reactions the bot added, in order.
func (s *Server) Reactions() []Reaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reactions)
}

// File is a file the bot uploaded with files.getUploadURLExternal, the
// upload URL and files.completeUploadExternal.
type File struct {
	ID             string
	Name           string // filename
	Title          string
	Length         int    // as declared to files.getUploadURLExternal
	Content        []byte // as uploaded
	AltText        string
	SnippetType    string
	Channel        string // channel_id of files.completeUploadExternal
	ThreadTS       string
	InitialComment string
	Completed      bool // files.completeUploadExternal shared it
}

// Files returns the files the bot uploaded (completed or not), in order.
func (s *Server) Files() []File {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []File
	for _, id := range s.fileOrder {
		f := *s.files[id]
		f.Content = slices.Clone(f.Content)
		out = append(out, f)
	}
	return out
}

// User is a workspace member users.info reports.
type User struct {
	ID, Name, RealName, Email, TZ string
	IsBot, IsAdmin, Deleted       bool
}

// SetUser adds or replaces a user. users.info answers any other id starting
// with U or W with a made-up member, and user_not_found otherwise.
func (s *Server) SetUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
}

// Channel is a conversation conversations.info reports.
type Channel struct {
	ID, Name  string
	IsPrivate bool
	IsIM      bool
	User      string // the other member of an IM
}

// SetChannel adds or replaces a conversation. conversations.info answers any
// other id starting with C, G or D with a made-up conversation (public,
// private, IM), and channel_not_found otherwise.
func (s *Server) SetChannel(c Channel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.channels[c.ID] = c
}

// SetUserGroup sets the members of a user group (an S… id) for
// usergroups.users.list, which answers no_such_subteam for unknown groups.
func (s *Server) SetUserGroup(id string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[id] = slices.Clone(members)
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// marshal is json.Marshal for values that always marshal.
func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("slacktest: marshalling %T: %v", v, err))
	}
	return b
}
