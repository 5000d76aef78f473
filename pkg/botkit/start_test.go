package botkit_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/botkittest"
)

// defaultsBot has a deploy whose env defaults per app, as the ansible and
// ecs bots' do, behind a rule on env=prd.
func defaultsBot(t *testing.T) *botkittest.Transport {
	t.Helper()
	tr := botkittest.New(t)
	appEnv := map[string]string{"web": "dev", "db": "prd", "tool": ""}
	tr.Bot().Command("deploy {app:name} {branch:plain} [to {env:name}]", func(ctx context.Context, req *botkit.Request) error {
		_, err := req.Reply(ctx, "deploying "+req.Arg("app")+" to "+req.Arg("env"))
		return err
	}, botkit.Default("env", func(req *botkit.Request) string { return appEnv[req.Arg("app")] }))
	err := tr.Apply(botkit.Settings{Access: botkit.AccessConfig{Rules: []botkit.Rule{
		{Name: "prd-deployers", Command: "deploy", Args: map[string]string{"env": "prd"}, Users: []string{"U0BOSS"}, Confirm: true},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestDefaultBeforeAccessCheck(t *testing.T) {
	tests := []struct {
		name, user, say string
		want            string // the first reply
	}{
		{"default dev runs", "U0ANY", "deploy web main", "deploying web to dev"},
		{"typed env wins over the default", "U0ANY", "deploy db main to dev", "deploying db to dev"},
		{"default prd is checked as prd", "U0ANY", "deploy db main", "You may not run this: access rule `prd-deployers` does not include you."},
		{"no default leaves it empty", "U0ANY", "deploy tool main", "deploying tool to "},
		{"allowed user confirms the default", "U0BOSS", "deploy db main", "Run `deploy db main` (env=prd)?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := defaultsBot(t)
			done := tr.SendAsync(t, botkit.Event{User: tt.user, Channel: "C1", TS: "1.1", Text: "<@UBOT> " + tt.say})
			var first string
			if strings.HasPrefix(tt.want, "Run ") {
				p := tr.WaitPrompt(t)
				first = p.Text
				tr.Click(t, tt.user, p, true)
				<-done
				if got := botkittest.Last(tr.Thread("1.1")); got != "deploying db to prd" {
					t.Errorf("after confirming: %q, want deploying db to prd", got)
				}
			} else {
				<-done
				first = botkittest.Texts(tr.Thread("1.1"))[0]
			}
			if !strings.HasPrefix(first, tt.want) {
				t.Errorf("first reply %q, want it to start with %q", first, tt.want)
			}
		})
	}
}

func TestDefaultPanicsOnUnknownParameter(t *testing.T) {
	defer func() {
		if v := recover(); v == nil || !strings.Contains(v.(string), `no parameter "env"`) {
			t.Errorf("panic = %v, want one naming the missing parameter", v)
		}
	}()
	botkit.New("t").Command("deploy {app}", reply("x"), botkit.Default("env", func(*botkit.Request) string { return "" }))
}

// readyMemory is a memory transport that is not ready until told.
type readyMemory struct {
	*botkittest.Memory
	mu    sync.Mutex
	ready bool
}

func (r *readyMemory) Ready() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.ready {
		return errors.New("connecting")
	}
	return nil
}

func (r *readyMemory) setReady() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ready = true
}

func TestOnStartRunsOnceReady(t *testing.T) {
	tr := &readyMemory{Memory: botkittest.NewMemory()}
	b := botkit.New("t")
	ran := make(chan struct{})
	b.OnStart(func(ctx context.Context, p botkit.Poster) error {
		defer close(ran)
		ref, err := p.Post(ctx, botkit.Message{Channel: "C1", Text: "back"})
		if err != nil {
			return err
		}
		return p.Update(ctx, ref, botkit.Message{Channel: "C1", Text: "back, edited"})
	})
	b.OnStart(func(context.Context, botkit.Poster) error { return errors.New("logged, not fatal") })
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- b.Run(ctx, tr) }()

	select {
	case <-ran:
		t.Fatal("OnStart ran before the transport was ready")
	case <-time.After(200 * time.Millisecond):
	}
	tr.setReady()
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("OnStart did not run within 5s of the transport being ready")
	}
	if got := botkittest.Texts(tr.Replies()); strings.Join(got, "|") != "back|back, edited" {
		t.Errorf("posted %q, want the post and its edit", got)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("Run = %v", err)
	}
}

func TestOnStartSkippedWhenNeverReady(t *testing.T) {
	tr := &readyMemory{Memory: botkittest.NewMemory()}
	b := botkit.New("t")
	b.OnStart(func(context.Context, botkit.Poster) error {
		t.Error("OnStart ran though the transport never became ready")
		return nil
	})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	if err := b.Run(ctx, tr); err != nil {
		t.Errorf("Run = %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("OnStart after Run did not panic")
		}
	}()
	b.OnStart(func(context.Context, botkit.Poster) error { return nil })
}
