package botkit

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
)

// HookPrefix is where webhooks are served: Webhook takes paths under it, so
// a hook can never shadow /healthz, /metrics or Slack's own routes.
const HookPrefix = "/hooks/"

// DefaultMaxHookBody bounds a webhook's body (1 MiB): GitHub caps its
// payloads at 25 MB, but an Alertmanager notification of a hundred alerts is
// under 200 KB, and a queued body stays in memory until a worker takes it.
const DefaultMaxHookBody = 1 << 20

// hookRetryAfter is the Retry-After, in seconds, of a webhook refused as busy
// or not running: long enough for a queue to drain or a pod to start.
const hookRetryAfter = "5"

// Delivery is one verified webhook request, as its handler gets it
// (Request.Delivery): the body and headers, read and checked before the
// sender was answered.
type Delivery struct {
	Path   string
	ID     string // the sender's delivery id (HookDeliveryHeader), if any
	Header http.Header
	Body   []byte
}

// Verifier checks that a webhook request comes from its sender. It returns
// an error when it does not; the request is then refused with 401 and its
// body never reaches the handler. Verify gets the whole body, read within
// the hook's size limit.
type Verifier interface {
	Verify(h http.Header, body []byte) error
}

// errUnverified is what every verifier returns: the sender learns nothing
// about which part was wrong.
var errUnverified = errors.New("missing or wrong credentials")

// HMACSHA256 verifies a hex HMAC-SHA256 of the body with secret, in header
// as "sha256=<hex>": GitHub's X-Hub-Signature-256.
func HMACSHA256(header string, secret Secret) Verifier {
	return hmacVerifier{header: header, secret: secret}
}

type hmacVerifier struct {
	header string
	secret Secret
}

func (v hmacVerifier) credentialHeader() string { return v.header }

func (v hmacVerifier) Verify(h http.Header, body []byte) error {
	got, ok := strings.CutPrefix(h.Get(v.header), "sha256=")
	sig, err := hex.DecodeString(got)
	if !ok || err != nil || v.secret == "" {
		return errUnverified
	}
	mac := hmac.New(sha256.New, []byte(v.secret.Reveal()))
	mac.Write(body)
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return errUnverified
	}
	return nil
}

// Bearer verifies an Authorization: Bearer <token> header, as Alertmanager
// sends with http_config.authorization.
func Bearer(token Secret) Verifier { return bearerVerifier{token: token} }

type bearerVerifier struct{ token Secret }

func (bearerVerifier) credentialHeader() string { return "Authorization" }

func (v bearerVerifier) Verify(h http.Header, _ []byte) error {
	scheme, got, _ := strings.Cut(h.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return errUnverified
	}
	return equalSecret(strings.TrimSpace(got), v.token)
}

// SharedSecret verifies a header that carries secret as is, as senders
// that can only add a fixed header do (GitLab's X-Gitlab-Token).
func SharedSecret(header string, secret Secret) Verifier {
	return sharedVerifier{header: header, secret: secret}
}

type sharedVerifier struct {
	header string
	secret Secret
}

func (v sharedVerifier) credentialHeader() string { return v.header }

func (v sharedVerifier) Verify(h http.Header, _ []byte) error {
	return equalSecret(h.Get(v.header), v.secret)
}

// equalSecret compares in constant time; an empty secret matches nothing,
// so a Secret left unset refuses every request rather than every empty one.
func equalSecret(got string, want Secret) error {
	if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want.Reveal())) != 1 {
		return errUnverified
	}
	return nil
}

// HookOption configures a webhook.
type HookOption func(*hookSpec)

type hookSpec struct {
	verifier    Verifier
	maxBody     int64
	contentType string // "" takes any
	deliveryHdr string
}

// MaxBody sets the largest body a hook takes (DefaultMaxHookBody); a larger
// one is refused with 413.
func MaxBody(n int64) HookOption { return func(s *hookSpec) { s.maxBody = n } }

// ContentType sets the media type a hook takes (application/json, which
// the body must then be); a request of another is refused with 415. ""
// takes any.
func ContentType(mediaType string) HookOption { return func(s *hookSpec) { s.contentType = mediaType } }

// DeliveryHeader names the header that carries the sender's delivery id,
// such as X-GitHub-Delivery: a delivery with an id already taken is
// answered 200 and not run again.
func DeliveryHeader(name string) HookOption { return func(s *hookSpec) { s.deliveryHdr = name } }

// Webhook registers h for POST requests to path (under HookPrefix) on the
// bot's HTTP server (BOT_HTTP_ADDR). A request is read within the size
// limit, checked (method, content type, v, a JSON body when JSON is
// expected), queued, and answered 202 at once; h then runs on the bot's
// workers like a command (audit, timeout, the bot's middleware; no access
// rules or rate limit: v is its access check) and reads the request with
// req.Delivery. A request that fails a check gets its 4xx and changes
// nothing. It panics on a bad or duplicate path, a nil verifier, or once the
// bot runs.
func (b *Bot) Webhook(path string, v Verifier, h HandlerFunc, opts ...HookOption) *Command {
	name, ok := strings.CutPrefix(path, HookPrefix)
	if !ok || name == "" || strings.ContainsAny(name, "{}") || strings.Contains(name, "//") {
		panic(fmt.Sprintf("botkit: webhook path %q: want %s<name>", path, HookPrefix))
	}
	if v == nil {
		panic(fmt.Sprintf("botkit: webhook %q: nil verifier", path))
	}
	spec := &hookSpec{verifier: v, maxBody: DefaultMaxHookBody, contentType: "application/json"}
	for _, o := range opts {
		o(spec)
	}
	if spec.maxBody < 1 {
		panic(fmt.Sprintf("botkit: webhook %q: MaxBody %d", path, spec.maxBody))
	}
	c := b.listen(KindWebhook, path, h, nil)
	c.hook = spec
	return c
}

// Delivery returns the webhook request a KindWebhook request runs for, or
// nil.
func (r *Request) Delivery() *Delivery { return r.ev.Webhook }

// Results of a webhook request, the values of botkit_webhook_requests_total's
// result label.
const (
	hookAccepted     = "accepted"
	hookDuplicate    = "duplicate"
	hookBadMethod    = "bad_method"
	hookBadType      = "bad_content_type"
	hookTooLarge     = "too_large"
	hookMalformed    = "malformed"
	hookUnauthorized = "unauthorized"
	hookBusy         = "busy"        // queue full: the sender retries
	hookNotRunning   = "not_running" // before Run, or shutting down
)

// Routes adds the bot's webhooks to mux, each at its path. The runner calls
// it for the server on BOT_HTTP_ADDR.
func (rt *Runtime) Routes(mux *http.ServeMux) {
	for _, c := range rt.bot.order {
		if c.kind == KindWebhook {
			mux.Handle(c.ID(), &hookHandler{rt: rt, cmd: c})
		}
	}
}

// hookHandler serves one webhook.
type hookHandler struct {
	rt  *Runtime
	cmd *Command
	mu  sync.Mutex // makes "not seen, queue, remember" one step
}

func (h *hookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt, spec, path := h.rt, h.cmd.hook, h.cmd.ID()
	refuse := func(code int, result, msg string) {
		rt.metrics.hooks.Counter(path, result).Inc()
		rt.logger.Warn("webhook refused", "hook", path, "result", result, "status", code, "remote", r.RemoteAddr)
		http.Error(w, msg, code)
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		refuse(http.StatusMethodNotAllowed, hookBadMethod, "use POST")
		return
	}
	if spec.contentType != "" {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != spec.contentType {
			refuse(http.StatusUnsupportedMediaType, hookBadType, "want Content-Type "+spec.contentType)
			return
		}
	}
	if r.ContentLength > spec.maxBody {
		refuse(http.StatusRequestEntityTooLarge, hookTooLarge, fmt.Sprintf("body over %d bytes", spec.maxBody))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, spec.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			refuse(http.StatusRequestEntityTooLarge, hookTooLarge, fmt.Sprintf("body over %d bytes", spec.maxBody))
			return
		}
		refuse(http.StatusBadRequest, hookMalformed, "cannot read the body")
		return
	}
	if err := spec.verifier.Verify(r.Header, body); err != nil {
		if _, ok := spec.verifier.(bearerVerifier); ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+rt.bot.name+`"`)
		}
		refuse(http.StatusUnauthorized, hookUnauthorized, err.Error())
		return
	}
	// Checked after the signature: an unverified sender learns nothing
	// about what the bot would take.
	if spec.contentType == "application/json" && !json.Valid(body) {
		refuse(http.StatusBadRequest, hookMalformed, "the body is not JSON")
		return
	}
	d := &Delivery{Path: path, Header: r.Header.Clone(), Body: body}
	if c, ok := spec.verifier.(interface{ credentialHeader() string }); ok {
		d.Header.Del(c.credentialHeader()) // a handler that logs headers leaks no secret
	}
	if spec.deliveryHdr != "" {
		d.ID = r.Header.Get(spec.deliveryHdr)
	}
	ev := Event{Kind: KindWebhook, Webhook: d}
	if d.ID != "" {
		ev.ID = "hook:" + path + ":" + d.ID
	}

	s := rt.hookSession.Load()
	if s == nil {
		w.Header().Set("Retry-After", hookRetryAfter)
		refuse(http.StatusServiceUnavailable, hookNotRunning, "not running yet")
		return
	}
	h.mu.Lock()
	result := s.enqueueHook(ev)
	h.mu.Unlock()
	rt.metrics.hooks.Counter(path, result).Inc()
	switch result {
	case hookAccepted:
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "queued\n")
	case hookDuplicate:
		rt.logger.Info("webhook delivery already taken", "hook", path, "delivery", d.ID)
		io.WriteString(w, "duplicate delivery; already taken\n")
	default:
		rt.logger.Warn("webhook refused", "hook", path, "result", result, "status", http.StatusServiceUnavailable)
		w.Header().Set("Retry-After", hookRetryAfter)
		http.Error(w, "busy; retry later", http.StatusServiceUnavailable)
	}
}

// enqueueHook queues a verified delivery and says what became of it. A
// delivery id is remembered only once its delivery is queued, so one refused
// as busy runs when the sender retries it.
func (s *session) enqueueHook(ev Event) string {
	rt := s.rt
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return hookNotRunning
	}
	if ev.ID != "" && rt.seen.known(ev.ID) {
		return hookDuplicate
	}
	if s.inbox != nil {
		// Recorded before the sender is answered: a crash after the
		// answer loses nothing. The record is also the claim shared with
		// other processes.
		e, err := s.inbox.record(&ev)
		switch {
		case errors.Is(err, errInboxTaken):
			rt.seen.first(ev.ID)
			return hookDuplicate
		case err != nil:
			rt.metrics.errors.Counter("inbox").Inc()
			rt.logger.Error("recording a webhook delivery in the inbox; running it without a record", "hook", ev.Webhook.Path, "delivery", ev.Webhook.ID, "err", err)
		}
		ev.inbox = e
	}
	if !s.queue.push(work{ev: ev, received: rt.now()}) {
		if ev.inbox != nil {
			ev.inbox.discard() // refused: the sender's retry must be taken
		}
		return hookBusy
	}
	rt.metrics.queued.Inc()
	rt.seen.first(ev.ID)
	return hookAccepted
}
