package slacktest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
)

// receiver is an HTTP Events API endpoint written the way slack-go's docs
// show: verify the signature, then parse.
type receiver struct {
	mu   sync.Mutex
	got  []received
	srv  *httptest.Server
	urlv string
}

type received struct {
	header http.Header
	body   []byte
	event  slackevents.EventsAPIEvent
	click  slack.InteractionCallback
	slash  slack.SlashCommand
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sv, err := slack.NewSecretsVerifier(r.Header, slacktest.SigningSecret)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		sv.Write(body)
		if err := sv.Ensure(); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		got := received{header: r.Header.Clone(), body: body}
		if r.Header.Get("Content-Type") == "application/json" {
			if got.event, err = slackevents.ParseEvent(body, slackevents.OptionNoVerifyToken()); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			if v, ok := got.event.Data.(*slackevents.EventsAPIURLVerificationEvent); ok {
				_, _ = w.Write([]byte(v.Challenge))
			}
		} else {
			form, _ := url.ParseQuery(string(body))
			if p := form.Get("payload"); p != "" {
				err = json.Unmarshal([]byte(p), &got.click)
			} else {
				r.Body = io.NopCloser(bytes.NewReader(body))
				got.slash, err = slack.SlashCommandParse(r)
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
		rc.mu.Lock()
		rc.got = append(rc.got, got)
		rc.mu.Unlock()
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) last(t *testing.T) received {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.got) == 0 {
		t.Fatal("nothing received")
	}
	return rc.got[len(rc.got)-1]
}

func TestPushEvent(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	rc := newReceiver(t)
	ctx := t.Context()

	res, err := srv.PushEvent(ctx, rc.srv.URL, slacktest.Event{User: "U1", Channel: "C1", Text: "<@UBOT> ping"})
	if err != nil || res.Status != http.StatusOK || res.EventID == "" || res.Duration <= 0 {
		t.Fatalf("push = %+v, %v", res, err)
	}
	got := rc.last(t)
	m, ok := got.event.InnerEvent.Data.(*slackevents.AppMentionEvent)
	cb, _ := got.event.Data.(*slackevents.EventsAPICallbackEvent)
	if !ok || m.Text != "<@UBOT> ping" || m.User != "U1" || cb == nil || cb.EventID != res.EventID {
		t.Errorf("received %+v", got.event)
	}
	if got.header.Get("X-Slack-Retry-Num") != "" {
		t.Errorf("first delivery has X-Slack-Retry-Num %q", got.header.Get("X-Slack-Retry-Num"))
	}

	retry, err := srv.PushRetry(ctx, rc.srv.URL, res.EventID)
	if err != nil || retry.Status != http.StatusOK || retry.EventID != res.EventID {
		t.Fatalf("retry = %+v, %v", retry, err)
	}
	again := rc.last(t)
	if again.header.Get("X-Slack-Retry-Num") != "1" || again.header.Get("X-Slack-Retry-Reason") != "http_timeout" || !bytes.Equal(again.body, got.body) {
		t.Errorf("retry headers %v, same body %v", again.header, bytes.Equal(again.body, got.body))
	}

	for name, opt := range map[string]slacktest.PushOption{"bad signature": slacktest.BadSignature(), "stale timestamp": slacktest.StaleTimestamp()} {
		res, err := srv.PushEvent(ctx, rc.srv.URL, slacktest.Event{User: "U1", Channel: "C1", Text: "x"}, opt)
		if err != nil || res.Status != http.StatusUnauthorized {
			t.Errorf("%s: status %d, %v; want 401", name, res.Status, err)
		}
	}
}

func TestPushURLVerificationClickSlash(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	rc := newReceiver(t)
	ctx := t.Context()

	res, err := srv.PushURLVerification(ctx, rc.srv.URL, "chal-123")
	if err != nil || res.Status != http.StatusOK || string(res.Body) != "chal-123" {
		t.Errorf("url_verification = %d %q, %v", res.Status, res.Body, err)
	}

	res, err = srv.PushClick(ctx, rc.srv.URL, slacktest.Action{User: "U1", Channel: "C1", MessageTS: "1700000000.000100", ActionID: "cancel", Value: "v"},
		slacktest.RetryHeaders(2, "http_error"))
	if err != nil || res.Status != http.StatusOK {
		t.Fatalf("click = %+v, %v", res, err)
	}
	got := rc.last(t)
	if a := got.click.ActionCallback.BlockActions; len(a) != 1 || a[0].ActionID != "cancel" || got.click.User.ID != "U1" {
		t.Errorf("click = %+v", got.click)
	}
	if got.header.Get("X-Slack-Retry-Num") != "2" || got.header.Get("X-Slack-Retry-Reason") != "http_error" {
		t.Errorf("retry headers = %v", got.header)
	}

	if res, err := srv.PushSlash(ctx, rc.srv.URL, "U1", "C1", "/deploy", "api"); err != nil || res.Status != http.StatusOK {
		t.Fatalf("slash = %+v, %v", res, err)
	}
	if s := rc.last(t).slash; s.Command != "/deploy" || s.Text != "api" || s.UserID != "U1" {
		t.Errorf("slash = %+v", s)
	}
}

func TestSign(t *testing.T) {
	t.Parallel()
	// Computed apart: HMAC-SHA256 of "v0:1700000000:" + body under SigningSecret.
	const want = "v0=91a33ab69ed61bbd6468703903c2c59754915f9d22d2ab4a05eba03142fb08d4"
	if got := slacktest.Sign(1700000000, []byte(`{"type":"event_callback"}`)); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}
