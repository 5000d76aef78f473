package slack_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/slack"
	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
)

// These tests run approvals with the real slack-go client against
// slacktest: the request, the clicks and the run cross a restart, or reach
// two processes that share one state directory.

const (
	requester = "U0REQ"
	approver  = "U0LEAD"
)

// approvalDeployer returns a bot whose prd deploys need count approvals
// from S0LEADS, counting its runs in runs.
func approvalDeployer(t *testing.T, stateDir string, runs *atomic.Int32, count int) *botkit.Runtime {
	t.Helper()
	b := botkit.New("deployer")
	b.Command("deploy {app:name} to {env:name}", func(ctx context.Context, req *botkit.Request) error {
		runs.Add(1)
		_, err := req.Reply(ctx, "deployed "+req.Arg("app")+" to "+req.Arg("env"))
		return err
	})
	rt := botkit.NewRuntime(b, botkit.WithStateDir(stateDir))
	err := rt.Apply(botkit.Settings{Access: botkit.AccessConfig{Rules: []botkit.Rule{{
		Command: "deploy", Args: map[string]string{"env": "prd"},
		Approve: &botkit.Approval{Groups: []string{"S0LEADS"}, Count: count},
	}}}})
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// runUntilStopped runs rt on tr and returns a func that stops it and waits.
func runUntilStopped(t *testing.T, rt *botkit.Runtime, tr botkit.Transport) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- rt.Run(ctx, tr) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-errc:
				if err != nil {
					t.Errorf("Run = %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("Run did not return within 10s of cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitMessage waits for a message that satisfies ok and returns it.
func waitMessage(t *testing.T, srv *slacktest.Server, what string, ok func(slacktest.Message) bool) slacktest.Message {
	t.Helper()
	var found slacktest.Message
	srv.WaitFor(t, 10*time.Second, func() bool {
		for _, m := range srv.Messages() {
			if ok(m) {
				found = m
				return true
			}
		}
		return false
	})
	if found.Method == "" {
		t.Fatalf("no %s; messages: %q", what, texts(srv))
	}
	return found
}

func note(user, text string) func(slacktest.Message) bool {
	return func(m slacktest.Message) bool {
		return m.Method == "chat.postEphemeral" && m.EphemeralUser == user && strings.Contains(m.Text, text)
	}
}

// A restart between the request and the approval over Socket Mode: the
// approval clicked while no process runs reaches the next one, which runs
// the command once.
func TestApprovalAcrossRestartOverSocketMode(t *testing.T) {
	srv := slacktest.New(t)
	srv.SetUserGroup("S0LEADS", approver, requester)
	dir := t.TempDir()
	var runs atomic.Int32

	stop := runUntilStopped(t, approvalDeployer(t, dir, &runs, 1), newTransport(srv, slacktest.AppToken, nil))
	srv.Mention(requester, "C0OPS", "deploy api to prd")
	yes := botkit.ConfirmActionID + "_yes"
	var self slacktest.Action
	srv.WaitFor(t, 10*time.Second, func() bool {
		var ok bool
		self, ok = srv.ButtonClick(requester, yes)
		return ok
	})
	srv.Click(self)
	waitMessage(t, srv, "self-approval refusal", note(requester, "You can't approve your own request"))
	stop()
	srv.WaitDisconnected(t) // else Slack may hand the click to the closing socket

	click, _ := srv.ButtonClick(approver, yes)
	srv.Click(click) // queued: no process is connected
	runUntilStopped(t, approvalDeployer(t, dir, &runs, 1), newTransport(srv, slacktest.AppToken, nil))
	waitMessage(t, srv, "run", func(m slacktest.Message) bool { return m.Text == "deployed api to prd" })
	waitMessage(t, srv, "closed request", func(m slacktest.Message) bool {
		return m.Method == "chat.update" && strings.Contains(m.Text, "→ approved by <@U0LEAD>") && !strings.Contains(m.Blocks, yes)
	})
	if n := runs.Load(); n != 1 {
		t.Errorf("ran %d times, want 1", n)
	}
}

// One click delivered to two processes sharing the state directory (as two
// replicas behind one request URL, or a retry that reaches the other one):
// one decides, the command runs once, and every delivery is told that this
// click decided it.
func TestApprovalClickAtTwoProcessesOverHTTP(t *testing.T) {
	srv := slacktest.New(t)
	srv.SetUserGroup("S0LEADS", approver)
	dir := t.TempDir()
	var runs atomic.Int32
	urls := make([]string, 2)
	for i := range urls {
		tr := slack.NewHTTP(slack.HTTPConfig{
			Config:        slack.Config{BotToken: slacktest.BotToken, APIURL: srv.APIURL()},
			SigningSecret: slacktest.SigningSecret,
		})
		mux := http.NewServeMux()
		tr.Routes(mux)
		bot := httptest.NewServer(mux)
		t.Cleanup(bot.Close)
		urls[i] = bot.URL
		runUntilStopped(t, approvalDeployer(t, dir, &runs, 1), tr)
	}
	push(t, func() (slacktest.PushResult, error) {
		return srv.PushEvent(t.Context(), urls[0]+slack.EventsPath,
			slacktest.Event{User: requester, Channel: "C0OPS", Text: "<@" + slacktest.BotUser + "> deploy api to prd"})
	})
	yes := botkit.ConfirmActionID + "_yes"
	var click slacktest.Action
	srv.WaitFor(t, 10*time.Second, func() bool {
		var ok bool
		click, ok = srv.ButtonClick(approver, yes)
		return ok
	})
	// Record the signed click once, then deliver the same bytes to both.
	var body []byte
	var contentType string
	recorder := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		contentType = r.Header.Get("Content-Type")
	}))
	defer recorder.Close()
	if _, err := srv.PushClick(t.Context(), recorder.URL, click); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		var wg sync.WaitGroup
		for _, u := range urls {
			wg.Go(func() {
				push(t, func() (slacktest.PushResult, error) {
					return srv.PushRaw(t.Context(), u+slack.InteractivePath, contentType, body)
				})
			})
		}
		wg.Wait()
	}
	waitMessage(t, srv, "run", func(m slacktest.Message) bool { return m.Text == "deployed api to prd" })
	srv.WaitFor(t, 10*time.Second, func() bool {
		n := 0
		for _, m := range srv.Messages() {
			if note(approver, "Your click decided this")(m) {
				n++
			}
		}
		// One click, delivered six times: whichever delivery decides,
		// each hears that this click decided it, none that someone did.
		return n == 6
	})
	time.Sleep(50 * time.Millisecond) // room for a second run, were there one
	if n := runs.Load(); n != 1 {
		t.Errorf("ran %d times over two processes, want 1", n)
	}
}

// Every refusal and the count of two, over Socket Mode with a restart in
// between (which empties the cache of group members): the requester, a
// non-member and a forged button are refused; an approver counts once,
// and no more once out of the group; the click that decides and a late one
// are told truthfully who decided.
func TestApprovalRefusalsAndCountOverSocketMode(t *testing.T) {
	srv := slacktest.New(t)
	srv.SetUserGroup("S0LEADS", approver, "U0LEAD2", requester)
	dir := t.TempDir()
	var runs atomic.Int32
	stop := runUntilStopped(t, approvalDeployer(t, dir, &runs, 2), newTransport(srv, slacktest.AppToken, nil))
	srv.Mention(requester, "C0OPS", "deploy api to prd")
	yes, no := botkit.ConfirmActionID+"_yes", botkit.ConfirmActionID+"_no"
	var button slacktest.Action
	srv.WaitFor(t, 10*time.Second, func() bool {
		var ok bool
		button, ok = srv.ButtonClick(requester, yes)
		return ok
	})
	clickAs := func(user, action string, edit func(*slacktest.Action)) {
		a := button
		a.User, a.ActionID = user, action
		if action == no {
			a.Value = strings.TrimSuffix(a.Value, ":yes") + ":no"
		}
		if edit != nil {
			edit(&a)
		}
		srv.Click(a)
	}
	steps := []struct {
		user, action string
		edit         func(*slacktest.Action)
		want         string
	}{
		{requester, yes, nil, "You can't approve your own request: another member of <!subteam^S0LEADS> must."},
		{"U0MALLORY", yes, nil, "Only members of <!subteam^S0LEADS> can approve or reject this."},
		{approver, yes, func(a *slacktest.Action) { a.Value = "../../x:yes" }, "That button is not one of mine."},
		{approver, yes, nil, "Your approval is recorded; it needs 1 more."},
		{approver, yes, nil, "You approved this already; it needs 1 more, from someone else."},
	}
	for _, s := range steps {
		clickAs(s.user, s.action, s.edit)
		waitMessage(t, srv, s.want, note(s.user, s.want))
	}
	stop()
	srv.WaitDisconnected(t)
	srv.SetUserGroup("S0LEADS", "U0LEAD2", "U0LEAD3", requester) // the first approver left
	runUntilStopped(t, approvalDeployer(t, dir, &runs, 2), newTransport(srv, slacktest.AppToken, nil))
	clickAs("U0LEAD2", yes, nil)
	waitMessage(t, srv, "a first approval again", note("U0LEAD2", "Your approval is recorded; it needs 1 more."))
	clickAs("U0LEAD3", yes, nil)
	waitMessage(t, srv, "run", func(m slacktest.Message) bool { return m.Text == "deployed api to prd" })
	waitMessage(t, srv, "the deciding click's note", note("U0LEAD3", "Your click decided this: you approved it at "))
	clickAs("U0LEAD2", no, nil)
	waitMessage(t, srv, "a late reject's note", note("U0LEAD2", "This request was decided already: <@U0LEAD3> approved it at "))
	if n := runs.Load(); n != 1 {
		t.Errorf("ran %d times, want 1", n)
	}
}
