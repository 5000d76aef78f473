package botkit_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	vm "github.com/VictoriaMetrics/metrics"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/botkittest"
)

// syncBuffer is a log sink safe for the runtime's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// hookBot serves three hooks, one per verifier, over real HTTP on
// loopback, and records the deliveries its handlers get.
type hookBot struct {
	url  string
	reg  *vm.Set
	logs *syncBuffer
	got  chan *botkit.Delivery
}

const (
	hookToken  = "t0ken-for-tests"
	hookSecret = "gh-secret"
)

func startHookBot(t *testing.T, opts ...botkit.Option) *hookBot {
	t.Helper()
	hb := &hookBot{reg: botkit.NewRegistry(), logs: &syncBuffer{}, got: make(chan *botkit.Delivery, 16)}
	b := botkit.New("hooks")
	record := func(_ context.Context, req *botkit.Request) error {
		hb.got <- req.Delivery()
		return nil
	}
	b.Webhook("/hooks/alertmanager", botkit.Bearer(hookToken), record, botkit.MaxBody(256))
	b.Webhook("/hooks/github", botkit.HMACSHA256("X-Hub-Signature-256", hookSecret), record,
		botkit.DeliveryHeader("X-GitHub-Delivery"))
	b.Webhook("/hooks/plain", botkit.SharedSecret("X-Token", hookToken), record, botkit.ContentType(""))
	rt := botkit.NewRuntime(b, append([]botkit.Option{botkit.WithRegistry(hb.reg),
		botkit.WithLogger(slog.New(slog.NewJSONHandler(hb.logs, nil)))}, opts...)...)
	mux := http.NewServeMux()
	rt.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	hb.url = srv.URL

	mem := botkittest.NewMemory()
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { defer close(stopped); _ = rt.Run(ctx, mem) }()
	t.Cleanup(func() { cancel(); <-stopped })
	// A hook answers 503 until the runtime runs, which it logs after
	// taking webhook deliveries.
	waitUntil(t, func() bool { return strings.Contains(hb.logs.String(), `"msg":"bot running"`) })
	return hb
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (hb *hookBot) post(t *testing.T, method, path string, header http.Header, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, hb.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func (hb *hookBot) metric(t *testing.T, hook, result string) string {
	t.Helper()
	var b bytes.Buffer
	hb.reg.WritePrometheus(&b)
	want := fmt.Sprintf(`botkit_webhook_requests_total{bot="hooks",hook="%s",result="%s"} `, hook, result)
	for line := range strings.SplitSeq(b.String(), "\n") {
		if v, ok := strings.CutPrefix(line, want); ok {
			return v
		}
	}
	return "0"
}

func sign(body string) string {
	mac := hmac.New(sha256.New, []byte(hookSecret))
	mac.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestWebhookRefusesBadRequests(t *testing.T) {
	hb := startHookBot(t)
	const body = `{"status":"firing"}`
	bearer := "Bearer " + hookToken
	for _, tc := range []struct {
		name, method, path string
		header             http.Header
		body               string
		status             int
		result             string
	}{
		{"wrong method", http.MethodGet, "/hooks/alertmanager", hdr("Authorization", bearer), "", 405, "bad_method"},
		{"wrong content type", "POST", "/hooks/alertmanager", hdr("Authorization", bearer, "Content-Type", "text/plain"), body, 415, "bad_content_type"},
		{"no content type", "POST", "/hooks/alertmanager", hdr("Authorization", bearer), body, 415, "bad_content_type"},
		{"oversized", "POST", "/hooks/alertmanager", hdr("Authorization", bearer, "Content-Type", "application/json"), `{"x":"` + strings.Repeat("a", 300) + `"}`, 413, "too_large"},
		{"missing token", "POST", "/hooks/alertmanager", hdr("Content-Type", "application/json"), body, 401, "unauthorized"},
		{"wrong token", "POST", "/hooks/alertmanager", hdr("Authorization", "Bearer nope", "Content-Type", "application/json"), body, 401, "unauthorized"},
		{"basic, not bearer", "POST", "/hooks/alertmanager", hdr("Authorization", "Basic "+hookToken, "Content-Type", "application/json"), body, 401, "unauthorized"},
		{"malformed JSON", "POST", "/hooks/alertmanager", hdr("Authorization", bearer, "Content-Type", "application/json"), `{"status":`, 400, "malformed"},
		{"bad signature", "POST", "/hooks/github", hdr("X-Hub-Signature-256", sign(body+" "), "Content-Type", "application/json"), body, 401, "unauthorized"},
		{"no signature", "POST", "/hooks/github", hdr("Content-Type", "application/json"), body, 401, "unauthorized"},
		{"sha1 signature", "POST", "/hooks/github", hdr("X-Hub-Signature-256", strings.Replace(sign(body), "sha256", "sha1", 1), "Content-Type", "application/json"), body, 401, "unauthorized"},
		{"wrong shared secret", "POST", "/hooks/plain", hdr("X-Token", hookToken+"x"), "anything", 401, "unauthorized"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := hb.metric(t, tc.path, tc.result)
			resp := hb.post(t, tc.method, tc.path, tc.header, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if after := hb.metric(t, tc.path, tc.result); after == before {
				t.Errorf("%s not counted: still %s", tc.result, after)
			}
			if tc.status == 405 && resp.Header.Get("Allow") != "POST" {
				t.Errorf("Allow = %q, want POST", resp.Header.Get("Allow"))
			}
			if tc.path == "/hooks/alertmanager" && tc.status == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
	select {
	case d := <-hb.got:
		t.Fatalf("a refused request reached the handler: %s %q", d.Path, d.Body)
	case <-time.After(100 * time.Millisecond):
	}
	if logs := hb.logs.String(); strings.Contains(logs, hookToken) || strings.Contains(logs, hookSecret) {
		t.Error("a secret is in the logs")
	}
}

// A body without Content-Length (chunked) is cut at the limit too.
func TestWebhookRefusesChunkedOversize(t *testing.T) {
	hb := startHookBot(t)
	body := io.MultiReader(strings.NewReader(`{"x":"`), strings.NewReader(strings.Repeat("a", 300)), strings.NewReader(`"}`))
	req, _ := http.NewRequest(http.MethodPost, hb.url+"/hooks/alertmanager", body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+hookToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if req.ContentLength != 0 || resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked body over the limit: status %d (content length %d), want 413", resp.StatusCode, req.ContentLength)
	}
	if got := hb.metric(t, "/hooks/alertmanager", "too_large"); got != "1" {
		t.Errorf("too_large counted %s, want 1", got)
	}
}

func TestWebhookAcceptsVerifiedRequests(t *testing.T) {
	hb := startHookBot(t)
	const body = `{"status":"firing","alerts":[]}`
	for _, tc := range []struct {
		name, path string
		header     http.Header
		body       string
	}{
		{"bearer", "/hooks/alertmanager", hdr("Authorization", "Bearer "+hookToken, "Content-Type", "application/json; charset=utf-8"), body},
		{"bearer, lowercase scheme", "/hooks/alertmanager", hdr("Authorization", "bearer "+hookToken, "Content-Type", "application/json"), body},
		{"hmac", "/hooks/github", hdr("X-Hub-Signature-256", sign(body), "Content-Type", "application/json", "X-GitHub-Delivery", "d-1"), body},
		{"shared secret, any content", "/hooks/plain", hdr("X-Token", hookToken), "not json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := hb.post(t, "POST", tc.path, tc.header, tc.body)
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("status %d, want 202", resp.StatusCode)
			}
			select {
			case d := <-hb.got:
				if d.Path != tc.path || string(d.Body) != tc.body {
					t.Errorf("handler got %s %q, want %s %q", d.Path, d.Body, tc.path, tc.body)
				}
				for _, h := range []string{"Authorization", "X-Token"} {
					if v := d.Header.Get(h); v != "" {
						t.Errorf("the handler sees the credential header %s: %q", h, v)
					}
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the handler never ran")
			}
		})
	}
	waitUntil(t, func() bool { return strings.Contains(hb.logs.String(), `"command":"webhook:/hooks/github"`) })
	if logs := hb.logs.String(); !strings.Contains(logs, `"msg":"audit"`) {
		t.Errorf("no audit line for the webhook runs:\n%s", logs)
	}
}

func TestWebhookDedupesByDeliveryID(t *testing.T) {
	hb := startHookBot(t)
	const body = `{"action":"opened"}`
	h := hdr("X-Hub-Signature-256", sign(body), "Content-Type", "application/json", "X-GitHub-Delivery", "abc-123")
	if resp := hb.post(t, "POST", "/hooks/github", h, body); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("first delivery: status %d", resp.StatusCode)
	}
	<-hb.got
	if resp := hb.post(t, "POST", "/hooks/github", h, body); resp.StatusCode != http.StatusOK {
		t.Fatalf("redelivery: status %d, want 200", resp.StatusCode)
	}
	if got := hb.metric(t, "/hooks/github", "duplicate"); got != "1" {
		t.Errorf("duplicates counted %s, want 1", got)
	}
	select {
	case d := <-hb.got:
		t.Fatalf("the redelivery ran again: %q", d.ID)
	case <-time.After(200 * time.Millisecond):
	}
	h.Set("X-GitHub-Delivery", "abc-124")
	if resp := hb.post(t, "POST", "/hooks/github", h, body); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("another delivery: status %d", resp.StatusCode)
	}
	if d := <-hb.got; d.ID != "abc-124" {
		t.Errorf("delivery id %q", d.ID)
	}
}

// A full queue answers 503 with Retry-After, and does not remember the
// delivery id: the sender's retry runs.
func TestWebhookBusyIsRetriable(t *testing.T) {
	release := make(chan struct{})
	reg := botkit.NewRegistry()
	b := botkit.New("hooks")
	ran := make(chan string, 4)
	b.Webhook("/hooks/github", botkit.HMACSHA256("X-Hub-Signature-256", hookSecret), func(_ context.Context, req *botkit.Request) error {
		ran <- req.Delivery().ID
		<-release
		return nil
	}, botkit.DeliveryHeader("X-GitHub-Delivery"))
	rt := botkit.NewRuntime(b, botkit.WithRegistry(reg), botkit.WithMaxInFlight(1), botkit.WithQueueSize(0))
	mux := http.NewServeMux()
	rt.Routes(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	hb := &hookBot{url: srv.URL, reg: reg}

	const body = `{}`
	h := hdr("X-Hub-Signature-256", sign(body), "Content-Type", "application/json", "X-GitHub-Delivery", "one")
	if resp := hb.post(t, "POST", "/hooks/github", h, body); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("before Run: status %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { defer close(stopped); _ = rt.Run(ctx, botkittest.NewMemory()) }()
	defer func() { cancel(); <-stopped }()
	waitUntil(t, func() bool { return hb.post(t, "POST", "/hooks/github", h, body).StatusCode == http.StatusAccepted })
	<-ran // the only worker is busy now

	h.Set("X-GitHub-Delivery", "two")
	resp := hb.post(t, "POST", "/hooks/github", h, body)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("queue full: status %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if got := hb.metric(t, "/hooks/github", "busy"); got != "1" {
		t.Errorf("busy counted %s, want 1", got)
	}
	close(release)
	waitUntil(t, func() bool { return hb.post(t, "POST", "/hooks/github", h, body).StatusCode == http.StatusAccepted })
	if id := <-ran; id != "two" {
		t.Errorf("the retry ran %q, want two", id)
	}
}

func TestWebhookRegistrationPanics(t *testing.T) {
	noop := func(context.Context, *botkit.Request) error { return nil }
	for _, tc := range []struct {
		name string
		reg  func(b *botkit.Bot)
	}{
		{"outside /hooks/", func(b *botkit.Bot) { b.Webhook("/healthz", botkit.Bearer("x"), noop) }},
		{"bare prefix", func(b *botkit.Bot) { b.Webhook("/hooks/", botkit.Bearer("x"), noop) }},
		{"nil verifier", func(b *botkit.Bot) { b.Webhook("/hooks/x", nil, noop) }},
		{"twice", func(b *botkit.Bot) {
			b.Webhook("/hooks/x", botkit.Bearer("x"), noop)
			b.Webhook("/hooks/x", botkit.Bearer("x"), noop)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tc.reg(botkit.New("x"))
		})
	}
}

// An unset secret refuses every request, the empty credential too.
func TestWebhookEmptySecretRefusesAll(t *testing.T) {
	for _, v := range []botkit.Verifier{botkit.Bearer(""), botkit.SharedSecret("X-Token", ""), botkit.HMACSHA256("X-Sig", "")} {
		h := hdr("Authorization", "Bearer ", "X-Token", "")
		mac := hmac.New(sha256.New, nil)
		h.Set("X-Sig", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		if err := v.Verify(h, nil); err == nil {
			t.Errorf("%T with an empty secret verified an empty credential", v)
		}
	}
}

// A delivery still queued when the grace period ends is logged, not told
// to a Slack channel it has none of.
func TestWebhookQueuedAtShutdown(t *testing.T) {
	logs := &syncBuffer{}
	b := botkit.New("hooks")
	started := make(chan struct{}, 1)
	b.Webhook("/hooks/slow", botkit.Bearer(hookToken), func(ctx context.Context, _ *botkit.Request) error {
		started <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	})
	rt := botkit.NewRuntime(b, botkit.WithMaxInFlight(1), botkit.WithGracePeriod(0),
		botkit.WithLogger(slog.New(slog.NewJSONHandler(logs, nil))))
	mux := http.NewServeMux()
	rt.Routes(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	mem := botkittest.NewMemory()
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { defer close(stopped); _ = rt.Run(ctx, mem) }()
	hb := &hookBot{url: srv.URL}
	h := hdr("Authorization", "Bearer "+hookToken, "Content-Type", "application/json")
	waitUntil(t, func() bool { return hb.post(t, "POST", "/hooks/slow", h, `{"n":1}`).StatusCode == http.StatusAccepted })
	<-started
	if code := hb.post(t, "POST", "/hooks/slow", h, `{"n":2}`).StatusCode; code != http.StatusAccepted {
		t.Fatalf("second delivery: %d", code)
	}
	cancel()
	<-stopped
	if !strings.Contains(logs.String(), "a webhook delivery queued was not run") {
		t.Errorf("the dropped delivery is not logged:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "posting reply") || len(mem.Replies()) != 0 {
		t.Errorf("a note was posted for a webhook delivery: %+v\n%s", mem.Replies(), logs.String())
	}
	if code := hb.post(t, "POST", "/hooks/slow", h, `{"n":3}`).StatusCode; code != http.StatusServiceUnavailable {
		t.Errorf("after shutdown: %d, want 503", code)
	}
}

// TestWebhookDedupedAcrossProcesses: two processes sharing a state
// directory: a delivery is recorded in the inbox before the sender gets its
// 202, and its redelivery to the other process is answered 200 and not run.
func TestWebhookDedupedAcrossProcesses(t *testing.T) {
	state := t.TempDir()
	a, b := startHookBot(t, botkit.WithStateDir(state)), startHookBot(t, botkit.WithStateDir(state))
	const body = `{"action":"opened"}`
	h := hdr("X-Hub-Signature-256", sign(body), "Content-Type", "application/json", "X-GitHub-Delivery", "abc-123")
	if resp := a.post(t, "POST", "/hooks/github", h, body); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("first delivery: status %d", resp.StatusCode)
	}
	if recs, _ := filepath.Glob(filepath.Join(state, botkit.InboxDir, "*.json")); len(recs) != 1 {
		t.Errorf("inbox records after the 202: %v, want one", recs)
	}
	<-a.got
	if resp := b.post(t, "POST", "/hooks/github", h, body); resp.StatusCode != http.StatusOK {
		t.Fatalf("redelivery to the other process: status %d, want 200", resp.StatusCode)
	}
	select {
	case d := <-b.got:
		t.Fatalf("the redelivery ran again at the other process: %q", d.ID)
	case <-time.After(200 * time.Millisecond):
	}
}
