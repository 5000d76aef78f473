package slack_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/slack"
)

// fakeSlack speaks just enough of the Web API and the Socket Mode websocket
// for the real slack-go client: auth.test, apps.connections.open,
// chat.postMessage, hello, envelopes and acks.
type fakeSlack struct {
	srv   *httptest.Server
	mu    sync.Mutex
	conn  *websocket.Conn
	acks  map[string]time.Time
	sent  map[string]time.Time
	posts []string
	ready chan struct{}
}

func newFake(t *testing.T) *fakeSlack {
	f := &fakeSlack{acks: map[string]time.Time{}, sent: map[string]time.Time{}, ready: make(chan struct{}, 4)}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if tok == "" {
			tok = r.PostForm.Get("token")
		}
		w.Header().Set("Content-Type", "application/json")
		switch method := strings.TrimPrefix(r.URL.Path, "/api/"); {
		case method == "apps.connections.open" && tok == "xapp-1-test":
			w.Write([]byte(`{"ok":true,"url":"ws` + strings.TrimPrefix(f.srv.URL, "http") + `/ws"}`))
		case tok != "xoxb-test":
			w.Write([]byte(`{"ok":false,"error":"invalid_auth"}`))
		case method == "auth.test":
			w.Write([]byte(`{"ok":true,"user_id":"UBOT","bot_id":"BBOT","team_id":"T1","user":"hello"}`))
		case method == "chat.postMessage":
			f.mu.Lock()
			f.posts = append(f.posts, r.PostForm.Get("thread_ts")+" "+r.PostForm.Get("text"))
			f.mu.Unlock()
			w.Write([]byte(`{"ok":true,"channel":"C1","ts":"9.9"}`))
		default:
			w.Write([]byte(`{"ok":false,"error":"unknown_method"}`))
		}
	})
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }} // slack-go sends Origin: https://api.slack.com
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		c.WriteJSON(map[string]any{"type": "hello", "num_connections": 1})
		f.mu.Lock()
		f.conn = c
		f.mu.Unlock()
		f.ready <- struct{}{}
		for {
			var ack struct {
				EnvelopeID string `json:"envelope_id"`
			}
			if err := c.ReadJSON(&ack); err != nil {
				return
			}
			f.mu.Lock()
			f.acks[ack.EnvelopeID] = time.Now()
			f.mu.Unlock()
		}
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSlack) send(t *testing.T, frame string, envID string) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent[envID] = time.Now()
	if err := f.conn.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		t.Fatal(err)
	}
}

func mention(envID, eventID, text string, retry int) string {
	inner, _ := json.Marshal(map[string]any{"type": "app_mention", "user": "U1", "text": "<@UBOT> " + text, "ts": "1." + eventID, "channel": "C1"})
	payload := `{"type":"event_callback","event_id":"` + eventID + `","team_id":"T1","event":` + string(inner) + `}`
	env := map[string]any{"type": "events_api", "envelope_id": envID, "payload": json.RawMessage(payload), "accepts_response_payload": false, "retry_attempt": retry}
	b, _ := json.Marshal(env)
	return string(b)
}

func (f *fakeSlack) waitAck(t *testing.T, envID string) time.Duration {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		f.mu.Lock()
		at, ok := f.acks[envID]
		sent := f.sent[envID]
		f.mu.Unlock()
		if ok {
			return at.Sub(sent)
		}
	}
	t.Fatalf("envelope %s was never acked", envID)
	return 0
}

func TestSocketMode(t *testing.T) {
	f := newFake(t)
	tr := slack.NewSocket(slack.SocketConfig{Config: slack.Config{BotToken: "xoxb-test", AppToken: "xapp-1-test", APIURL: f.srv.URL + "/api"}})
	if err := tr.Ready(); err == nil {
		t.Error("ready before connecting")
	}
	b := botkit.New("hello")
	release := make(chan struct{})
	var runs sync.WaitGroup
	b.Command("slow", func(ctx context.Context, req *botkit.Request) error {
		<-release
		_, err := req.Reply(ctx, "slow done")
		return err
	})
	b.Command("ping", func(ctx context.Context, req *botkit.Request) error {
		runs.Done()
		_, err := req.Reply(ctx, "pong")
		return err
	})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- b.Run(ctx, tr) }()
	select {
	case <-f.ready:
	case <-time.After(10 * time.Second):
		t.Fatal("the bot never opened a socket")
	}
	for deadline := time.Now().Add(5 * time.Second); tr.Ready() != nil; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not ready after connecting: %v", tr.Ready())
		}
	}

	// A slow handler does not delay the ack of its own or later envelopes.
	f.send(t, mention("env-1", "Ev1", "slow", 0), "env-1")
	f.waitAck(t, "env-1")
	runs.Add(1)
	f.send(t, mention("env-2", "Ev2", "ping", 0), "env-2")
	if d := f.waitAck(t, "env-2"); d > time.Second {
		t.Errorf("ack took %v while another command ran", d)
	}
	runs.Wait()
	// A retry (new envelope, same event) is acked and not run again.
	f.send(t, mention("env-3", "Ev2", "ping", 1), "env-3")
	f.waitAck(t, "env-3")
	// A frame slack-go cannot parse is still acked from its envelope_id.
	f.send(t, `{"type":"events_api","envelope_id":"env-bad","payload":{"type":"event_callback","event":"not an object"}}`, "env-bad")
	f.waitAck(t, "env-bad")
	close(release)

	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		f.mu.Lock()
		n := len(f.posts)
		f.mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
	}
	time.Sleep(50 * time.Millisecond)
	f.mu.Lock()
	posts := strings.Join(f.posts, "|")
	f.mu.Unlock()
	if strings.Count(posts, "pong") != 1 || !strings.Contains(posts, "1.Ev1 slow done") {
		t.Errorf("posts %q, want one pong (retry deduplicated) and slow done in its thread", posts)
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestSocketModeBadToken(t *testing.T) {
	f := newFake(t)
	tr := slack.NewSocket(slack.SocketConfig{Config: slack.Config{BotToken: "xoxb-wrong", AppToken: "xapp-1-test", APIURL: f.srv.URL + "/api"}})
	err := tr.Listen(context.Background(), func(context.Context, botkit.Event) {})
	if err == nil || !strings.Contains(err.Error(), "SLACK_BOT_TOKEN") || strings.Contains(err.Error(), "xoxb-wrong") {
		t.Errorf("Listen = %v, want an error naming SLACK_BOT_TOKEN without its value", err)
	}
}
