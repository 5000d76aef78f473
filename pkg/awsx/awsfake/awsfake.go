// Package awsfake is the skeleton of a wire-level fake of AWS APIs for
// tests: an HTTP server on loopback that speaks the JSON 1.1 protocol (POST
// /, X-Amz-Target: Service_Version.Operation, application/x-amz-json-1.1)
// that ECS, ECR, DynamoDB, Logs and others use, and STS's AssumeRole and GetCallerIdentity in the
// query protocol, so the real aws-sdk-go-v2 clients run against it through
// AWS_ENDPOINT_URL.
//
// A bot's test registers handlers for the operations it calls, each a
// function from the decoded request to a response or an *Error. The server
// checks every request is SigV4-signed with a key it issued (AccessKey, or
// one AssumeRole returned), answers errors the way AWS does, and can inject
// faults (throttling, denial, a change made but its answer lost) into the
// next calls of an operation, or hold them until a test releases them.
//
// Tests start it with New; a command that serves it by hand (make run) with
// Start, on loopback only. Its key is awsx.FakeAccessKey, which bots refuse
// outside BOT_ENV=local (awsx.CheckFake).
package awsfake

import (
	"crypto/rand"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/botfleet/botfleet/pkg/awsx"
)

// The credentials the fake accepts; tests export them as AWS_ACCESS_KEY_ID
// and AWS_SECRET_ACCESS_KEY. Their shape cannot be mistaken for real keys.
const (
	AccessKey = awsx.FakeAccessKey
	SecretKey = "fake-secret-for-tests-only"
	Region    = "eu-west-1"
	Account   = "123456789012"
)

// Error is an AWS error: its HTTP status, its code (the __type of JSON 1.1,
// the Code of the query protocol) and message.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errf returns a 400 error with code and a formatted message.
func Errf(code, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Common errors.
func AccessDenied(op string) *Error {
	return Errf("AccessDeniedException", "User: arn:aws:sts::%s:assumed-role/test/bot is not authorized to perform: %s", Account, op)
}

// Throttling is AWS's throttling answer, which the SDK retries.
func Throttling() *Error { return Errf("ThrottlingException", "Rate exceeded") }

// HandlerFunc answers one JSON 1.1 operation: body is the request's JSON;
// the result is encoded as the response, or an *Error is returned.
type HandlerFunc func(body []byte) (any, error)

// Call is one request the fake received.
type Call struct {
	Target    string // X-Amz-Target, or "STS.AssumeRole"
	AccessKey string // from the Authorization header
	Body      string
}

// Session is one AssumeRole the fake granted.
type Session struct {
	RoleARN, Name, AccessKey string
}

// Server is the fake. It is safe for concurrent use.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	handlers map[string]HandlerFunc
	faults   map[string][]*Error
	after    map[string][]*Error // answered after the handler ran
	always   map[string]*Error
	holds    map[string]chan struct{}
	calls    []Call
	sessions []Session
	denyRole map[string]bool
}

// New starts a fake on 127.0.0.1, closed when the test ends.
func New(t testing.TB) *Server {
	s, err := Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a fake listening on addr, a loopback address ("127.0.0.1:0"
// picks a port), for a command that serves it by hand; Close stops it. Any
// other address is refused: the fake accepts anyone who knows its published
// key.
func Start(addr string) (*Server, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("fake AWS address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("fake AWS address %q: not a loopback address", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("starting the fake AWS: %w", err)
	}
	s := &Server{handlers: map[string]HandlerFunc{}, faults: map[string][]*Error{}, after: map[string][]*Error{},
		always: map[string]*Error{}, holds: map[string]chan struct{}{}, denyRole: map[string]bool{}}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.Listener.Close()
	s.Listener = ln
	s.Start()
	return s, nil
}

// Close releases the calls held by Hold and stops the server, waiting for
// the calls under way.
func (s *Server) Close() {
	s.mu.Lock()
	holds := s.holds
	s.holds = map[string]chan struct{}{}
	s.mu.Unlock()
	for _, c := range holds {
		close(c)
	}
	s.Server.Close()
}

// Environ returns the variables that point the SDK at the fake with its
// credentials and nothing else: no shared config files (their paths are in
// dir, which holds none), no instance metadata, no profile, role or web
// identity. A variable set to "" counts as unset for the SDK.
func (s *Server) Environ(dir string) map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL":            s.URL,
		"AWS_ACCESS_KEY_ID":           AccessKey,
		"AWS_SECRET_ACCESS_KEY":       SecretKey,
		"AWS_SESSION_TOKEN":           "",
		"AWS_REGION":                  Region,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CONFIG_FILE":             dir + "/config",
		"AWS_SHARED_CREDENTIALS_FILE": dir + "/credentials",
		"AWS_PROFILE":                 "",
		"AWS_ROLE_ARN":                "",
		"AWS_WEB_IDENTITY_TOKEN_FILE": "",
	}
}

// Env sets Environ for the test. It uses t.Setenv, so the test cannot be
// parallel.
func (s *Server) Env(t testing.TB) {
	for k, v := range s.Environ(t.TempDir()) {
		t.Setenv(k, v)
	}
}

// Handle registers h for the JSON 1.1 target, e.g.
// "AmazonEC2ContainerServiceV20141113.ListServices".
func (s *Server) Handle(target string, h HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[target] = h
}

// Fail makes the next n calls of target (an X-Amz-Target, or
// "STS.AssumeRole") answer err instead of running the handler.
func (s *Server) Fail(target string, n int, err *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[target] = append(s.faults[target], err)
	}
}

// FailAfter makes the next n calls of target run the handler, so the
// change they ask for is made, and then answer err, as when AWS made a
// change but its answer was lost or came too late.
func (s *Server) FailAfter(target string, n int, err *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.after[target] = append(s.after[target], err)
	}
}

// Hold makes the calls of target that arrive from now on wait, recorded in
// Calls but not yet handled, until release is called; then they are handled
// even if their client gave up meanwhile, as AWS would. release may be
// called more than once.
func (s *Server) Hold(target string) (release func()) {
	s.mu.Lock()
	c, held := s.holds[target]
	if !held { // a second Hold shares the first's
		c = make(chan struct{})
		s.holds[target] = c
	}
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.holds[target] == c { // else Close released it
				delete(s.holds, target)
				close(c)
			}
		})
	}
}

// FailAlways makes every call of target answer err; nil restores.
func (s *Server) FailAlways(target string, err *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		delete(s.always, target)
		return
	}
	s.always[target] = err
}

// Calls returns the requests received for target ("" for all), in order.
func (s *Server) Calls(target string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if target == "" || c.Target == target {
			out = append(out, c)
		}
	}
	return out
}

// Sessions returns the AssumeRole sessions granted, in order.
func (s *Server) Sessions() []Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sessions)
}

// The Authorization header of a SigV4 request:
// AWS4-HMAC-SHA256 Credential=AKID/20240101/eu-west-1/ecs/aws4_request, SignedHeaders=..., Signature=hex
var sigv4 = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	target := r.Header.Get("X-Amz-Target")
	query := target == ""
	if query {
		form, _ := url.ParseQuery(string(body))
		target = "STS." + form.Get("Action")
	}
	key, err := s.authenticate(r)
	s.mu.Lock()
	s.calls = append(s.calls, Call{Target: target, AccessKey: key, Body: string(body)})
	hold := s.holds[target]
	s.mu.Unlock()
	if hold != nil {
		<-hold
	}
	if err == nil {
		if f := s.fault(target); f != nil {
			err = f
		}
	}
	if err != nil {
		writeErr(w, query, err)
		return
	}
	if query {
		s.serveQuery(w, target, key, body)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/" || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
		writeErr(w, false, Errf("SerializationException", "want POST / with application/x-amz-json-1.1, got %s %s %s", r.Method, r.URL.Path, r.Header.Get("Content-Type")))
		return
	}
	s.mu.Lock()
	h, ok := s.handlers[target]
	s.mu.Unlock()
	if !ok {
		writeErr(w, false, &Error{Status: http.StatusBadRequest, Code: "UnknownOperationException", Message: "the fake has no handler for " + target})
		return
	}
	if len(body) == 0 || !json.Valid(body) {
		writeErr(w, false, Errf("SerializationException", "body is not JSON"))
		return
	}
	out, herr := h(body)
	if herr == nil {
		if f := s.faultAfter(target); f != nil {
			herr = f
		}
	}
	if herr != nil {
		writeErr(w, false, herr)
		return
	}
	b, merr := json.Marshal(out)
	if merr != nil {
		writeErr(w, false, &Error{Status: 500, Code: "InternalFailure", Message: merr.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", requestID())
	w.Write(b)
}

// authenticate checks the SigV4 header names a key the fake issued and
// returns the key.
func (s *Server) authenticate(r *http.Request) (string, error) {
	m := sigv4.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil || r.Header.Get("X-Amz-Date") == "" {
		return "", &Error{Status: http.StatusForbidden, Code: "MissingAuthenticationTokenException", Message: "Missing Authentication Token"}
	}
	key := m[1]
	if !strings.Contains(m[5], "x-amz-date") || !strings.Contains(m[5], "host") {
		return key, &Error{Status: http.StatusForbidden, Code: "SignatureDoesNotMatch", Message: "host and x-amz-date must be signed"}
	}
	if key == AccessKey {
		return key, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ss := range s.sessions {
		if ss.AccessKey == key {
			if r.Header.Get("X-Amz-Security-Token") == "" {
				return key, &Error{Status: http.StatusForbidden, Code: "InvalidClientTokenId", Message: "temporary credentials need their session token"}
			}
			return key, nil
		}
	}
	return key, &Error{Status: http.StatusForbidden, Code: "UnrecognizedClientException", Message: "The security token included in the request is invalid."}
}

func (s *Server) fault(target string) *Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.always[target]; e != nil {
		return e
	}
	if q := s.faults[target]; len(q) > 0 {
		s.faults[target] = q[1:]
		return q[0]
	}
	return nil
}

func (s *Server) faultAfter(target string) *Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.after[target]; len(q) > 0 {
		s.after[target] = q[1:]
		return q[0]
	}
	return nil
}

func writeErr(w http.ResponseWriter, query bool, err error) {
	e, ok := err.(*Error)
	if !ok {
		e = &Error{Status: http.StatusInternalServerError, Code: "InternalFailure", Message: err.Error()}
	}
	w.Header().Set("X-Amzn-RequestId", requestID())
	if query {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(e.Status)
		fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
			xmlEscape(e.Code), xmlEscape(e.Message), requestID())
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(e.Status)
	json.NewEncoder(w).Encode(map[string]string{"__type": e.Code, "message": e.Message})
}

// DenyRole makes AssumeRole of role fail with AccessDenied.
func (s *Server) DenyRole(role string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denyRole[role] = true
}

// callerIdentity answers GetCallerIdentity: the user of AccessKey, or the
// assumed role of a session's key.
func (s *Server) callerIdentity(w http.ResponseWriter, key string) {
	arn := "arn:aws:iam::" + Account + ":user/test"
	s.mu.Lock()
	for _, ss := range s.sessions {
		if ss.AccessKey == key {
			arn = "arn:aws:sts::" + Account + ":assumed-role/" + ss.RoleARN[strings.LastIndex(ss.RoleARN, "/")+1:] + "/" + ss.Name
		}
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult><Arn>%s</Arn><UserId>AIDAFAKE</UserId><Account>%s</Account></GetCallerIdentityResult>
  <ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>`, xmlEscape(arn), Account, requestID())
}

// serveQuery answers STS in the query protocol: AssumeRole and
// GetCallerIdentity.
func (s *Server) serveQuery(w http.ResponseWriter, target, key string, body []byte) {
	form, _ := url.ParseQuery(string(body))
	switch target {
	case "STS.AssumeRole":
	case "STS.GetCallerIdentity":
		s.callerIdentity(w, key)
		return
	default:
		writeErr(w, true, Errf("InvalidAction", "the fake does not implement %s", target))
		return
	}
	role, name := form.Get("RoleArn"), form.Get("RoleSessionName")
	if !regexp.MustCompile(`^[\w+=,.@-]{2,64}$`).MatchString(name) {
		writeErr(w, true, Errf("ValidationError", "1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint", name))
		return
	}
	s.mu.Lock()
	denied := s.denyRole[role]
	var sess Session
	if !denied {
		sess = Session{RoleARN: role, Name: name, AccessKey: fmt.Sprintf("ASIAFAKE%012d", len(s.sessions)+1)}
		s.sessions = append(s.sessions, sess)
	}
	s.mu.Unlock()
	if denied {
		writeErr(w, true, &Error{Status: http.StatusForbidden, Code: "AccessDenied", Message: "User is not authorized to perform: sts:AssumeRole on resource: " + role})
		return
	}
	roleName := role[strings.LastIndex(role, "/")+1:]
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <Credentials>
      <AccessKeyId>%s</AccessKeyId>
      <SecretAccessKey>fake-session-secret</SecretAccessKey>
      <SessionToken>fake-session-token</SessionToken>
      <Expiration>%s</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::%s:assumed-role/%s/%s</Arn>
      <AssumedRoleId>AROAFAKE:%s</AssumedRoleId>
    </AssumedRoleUser>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata>
</AssumeRoleResponse>`, sess.AccessKey, time.Now().Add(time.Hour).UTC().Format(time.RFC3339), Account, xmlEscape(roleName), xmlEscape(name), xmlEscape(name), requestID())
}

func xmlEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func requestID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return fmt.Sprintf("%x", b)
}
