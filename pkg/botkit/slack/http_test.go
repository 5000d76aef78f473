package slack_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/slack"
)

const secret = "8f742231b10e8888abcd99yyyzzz85a5"

// webAPI is a minimal wire-level Slack Web API: auth.test and
// chat.postMessage, recording what was posted.
type webAPI struct {
	mu    sync.Mutex
	posts []url.Values
}

func (w *webAPI) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	if r.Header.Get("Authorization") != "Bearer xoxb-test" && r.PostForm.Get("token") != "xoxb-test" {
		rw.Write([]byte(`{"ok":false,"error":"invalid_auth"}`))
		return
	}
	rw.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/api/auth.test":
		rw.Write([]byte(`{"ok":true,"user_id":"UBOT","bot_id":"BBOT","team_id":"T1","user":"hello"}`))
	case "/api/chat.postMessage", "/api/chat.postEphemeral":
		w.mu.Lock()
		w.posts = append(w.posts, r.PostForm)
		n := len(w.posts)
		w.mu.Unlock()
		rw.Write([]byte(`{"ok":true,"channel":"` + r.PostForm.Get("channel") + `","ts":"9.` + strconv.Itoa(n) + `","message_ts":"9.` + strconv.Itoa(n) + `"}`))
	default:
		rw.Write([]byte(`{"ok":false,"error":"unknown_method"}`))
	}
}

func (w *webAPI) texts() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, p := range w.posts {
		out = append(out, p.Get("thread_ts")+" "+p.Get("user")+" "+p.Get("text"))
	}
	return out
}

func sign(req *http.Request, body string, ts int64) {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte("v0:" + strconv.FormatInt(ts, 10) + ":" + body))
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(h.Sum(nil)))
}

func TestHTTPTransport(t *testing.T) {
	api := &webAPI{}
	apiSrv := httptest.NewServer(api)
	defer apiSrv.Close()
	tr := slack.NewHTTP(slack.HTTPConfig{Config: slack.Config{BotToken: "xoxb-test", APIURL: apiSrv.URL + "/api"}, SigningSecret: secret})
	mux := http.NewServeMux()
	tr.Routes(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	b := botkit.New("hello")
	b.Command("ping", func(ctx context.Context, req *botkit.Request) error {
		_, err := req.Reply(ctx, "pong")
		return err
	})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- b.Run(ctx, tr) }()
	for deadline := time.Now().Add(5 * time.Second); tr.Ready() != nil; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("transport never became ready: %v", <-errc)
		}
	}

	post := func(path, body, contentType string, signed bool, ts int64, retry string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		if signed {
			sign(req, body, ts)
		}
		if retry != "" {
			req.Header.Set("X-Slack-Retry-Num", retry)
		}
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("answered in %v, over Slack's 3 s", d)
		}
		return resp.StatusCode
	}
	now := time.Now().Unix()
	event := `{"type":"event_callback","event_id":"Ev1","team_id":"T1","event":{"type":"app_mention","user":"U1","text":"<@UBOT> ping","ts":"1.1","channel":"C1"}}`

	if code := post(slack.EventsPath, `{"type":"url_verification","challenge":"abc"}`, "application/json", true, now, ""); code != 200 {
		t.Errorf("url_verification = %d", code)
	}
	if code := post(slack.EventsPath, event, "application/json", false, now, ""); code != 401 {
		t.Errorf("unsigned event = %d, want 401", code)
	}
	if code := post(slack.EventsPath, event, "application/json", true, now-600, ""); code != 401 {
		t.Errorf("stale signature = %d, want 401", code)
	}
	if code := post(slack.EventsPath, event, "application/json", true, now, ""); code != 200 {
		t.Errorf("signed event = %d, want 200", code)
	}
	if code := post(slack.EventsPath, event, "application/json", true, now, "1"); code != 200 {
		t.Errorf("retried event = %d, want 200", code)
	}
	click := url.Values{"payload": {`{"type":"block_actions","user":{"id":"U1"},"channel":{"id":"C1"},"message":{"ts":"5.5"},"actions":[{"block_id":"b","action_id":"botkit_confirm_yes","value":"c0123456789abcdef01234567:yes"}]}`}}.Encode()
	if code := post(slack.InteractivePath, click, "application/x-www-form-urlencoded", true, now, ""); code != 200 {
		t.Errorf("click = %d, want 200", code)
	}
	for deadline := time.Now().Add(5 * time.Second); len(api.texts()) < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			break
		}
	}
	time.Sleep(50 * time.Millisecond) // a second reply to the retry would arrive by now
	got := api.texts()
	slices.Sort(got) // the pong and the note are posted concurrently
	if len(got) != 2 || got[0] != "1.1  pong" || !strings.HasPrefix(got[1], "5.5 U1 ") || !strings.Contains(got[1], "no longer open") {
		t.Errorf("posted %q, want one pong (the retry deduplicated) and one expiry note", got)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("Run = %v", err)
	}
	if code := post(slack.EventsPath, event, "application/json", true, now, ""); code != 503 {
		t.Errorf("after shutdown = %d, want 503", code)
	}
}

// TestHTTPEndpoints: every endpoint refuses a request without a good
// signature (401, nothing runs), acknowledges what it cannot read as Slack
// expects, and answers modal submissions and option requests in the
// response body.
func TestHTTPEndpoints(t *testing.T) {
	api := &webAPI{}
	apiSrv := httptest.NewServer(api)
	defer apiSrv.Close()
	tr := slack.NewHTTP(slack.HTTPConfig{Config: slack.Config{BotToken: "xoxb-test", APIURL: apiSrv.URL + "/api"}, SigningSecret: secret})
	mux := http.NewServeMux()
	tr.Routes(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	var runs atomic.Int32
	b := botkit.New("hello")
	b.Command("ping", func(context.Context, *botkit.Request) error { runs.Add(1); return nil })
	b.Slash("/hello")
	b.View("form", func(ctx context.Context, req *botkit.Request) error {
		runs.Add(1)
		return botkit.FieldErrors{"name": "too short"}
	})
	b.Options("pick", func(ctx context.Context, req *botkit.Request) ([]botkit.Choice, error) {
		runs.Add(1)
		return []botkit.Choice{{Text: "API", Value: "api"}}, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.Run(ctx, tr)
	for deadline := time.Now().Add(5 * time.Second); tr.Ready() != nil; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("transport never became ready")
		}
	}
	post := func(path, body, contentType string, sig func(*http.Request)) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		sig(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}
	now := time.Now().Unix()
	form := "application/x-www-form-urlencoded"
	slash := url.Values{"command": {"/hello"}, "text": {"ping"}, "user_id": {"U1"}, "channel_id": {"C1"}, "response_url": {apiSrv.URL + "/response"}, "trigger_id": {"1.2.3"}}.Encode()
	view := url.Values{"payload": {`{"type":"view_submission","user":{"id":"U1"},"view":{"id":"V1","callback_id":"form","blocks":[{"type":"input","block_id":"name","label":{"type":"plain_text","text":"Name"},"element":{"type":"plain_text_input","action_id":"v"}}],"state":{"values":{"name":{"v":{"type":"plain_text_input","value":"x"}}}}}}`}}.Encode()
	options := url.Values{"payload": {`{"type":"block_suggestion","user":{"id":"U1"},"action_id":"pick","block_id":"b","value":"a"}`}}.Encode()
	event := `{"type":"event_callback","event_id":"Ev9","event":{"type":"app_mention","user":"U1","text":"<@UBOT> ping","ts":"1.9","channel":"C1"}}`
	endpoints := []struct{ path, body, contentType string }{
		{slack.EventsPath, event, "application/json"},
		{slack.CommandsPath, slash, form},
		{slack.InteractivePath, view, form},
		{slack.OptionsPath, options, form},
	}
	forged := map[string]func(*http.Request){
		"unsigned": func(*http.Request) {},
		"stale":    func(r *http.Request) { signBody(r, now-600) },
		"forged": func(r *http.Request) {
			r.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(now, 10))
			r.Header.Set("X-Slack-Signature", "v0="+strings.Repeat("ab", 32))
		},
	}
	for _, e := range endpoints {
		for name, sig := range forged {
			if code, _ := post(e.path, e.body, e.contentType, sig); code != http.StatusUnauthorized {
				t.Errorf("%s %s: %d, want 401", name, e.path, code)
			}
		}
	}
	time.Sleep(50 * time.Millisecond)
	if n := runs.Load(); n != 0 {
		t.Fatalf("%d handlers ran on forged requests", n)
	}
	// What cannot be read is acknowledged (Slack would resend it), and the
	// bot stays up.
	for _, bad := range []struct{ path, body string }{
		{slack.InteractivePath, "payload=%7Bnot+json"},
		{slack.OptionsPath, "payload=%7B%22type%22%3A%22dialog_suggestion%22%7D"},
		{slack.CommandsPath, "text=no+command"},
	} {
		code, _ := post(bad.path, bad.body, form, func(r *http.Request) { signBody(r, now) })
		if code != http.StatusOK && code != http.StatusBadRequest {
			t.Errorf("malformed %s: %d", bad.path, code)
		}
	}
	code, body := post(slack.InteractivePath, view, form, func(r *http.Request) { signBody(r, now) })
	if code != 200 || !strings.Contains(body, `"response_action":"errors"`) || !strings.Contains(body, `"name":"too short"`) {
		t.Errorf("view_submission answered %d %s, want the errors beside the field", code, body)
	}
	code, body = post(slack.OptionsPath, options, form, func(r *http.Request) { signBody(r, now) })
	if code != 200 || !strings.Contains(body, `"value":"api"`) {
		t.Errorf("block_suggestion answered %d %s, want the options", code, body)
	}
	if code, _ := post(slack.CommandsPath, slash, form, func(r *http.Request) { signBody(r, now) }); code != 200 {
		t.Errorf("slash command: %d", code)
	}
	for deadline := time.Now().Add(5 * time.Second); runs.Load() < 3; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of the 3 signed requests ran", runs.Load())
		}
	}
}

// signBody signs r's body, read and put back, at ts.
func signBody(r *http.Request, ts int64) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	sign(r, string(body), ts)
}
