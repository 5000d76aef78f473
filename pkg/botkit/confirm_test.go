package botkit_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/botkittest"
)

func confirmBot(t *testing.T, opts ...botkit.ConfirmOption) *botkittest.Transport {
	return confirmBotWith(t, nil, opts...)
}

func confirmBotWith(t *testing.T, kitOpts []botkittest.Option, opts ...botkit.ConfirmOption) *botkittest.Transport {
	tr := botkittest.New(t, kitOpts...)
	tr.Bot().Command("deploy {app:name} to {env:name}", func(ctx context.Context, req *botkit.Request) error {
		_, err := req.Reply(ctx, "deployed "+req.Arg("app")+" by "+req.User)
		return err
	}, botkit.Confirm(func(_ context.Context, req *botkit.Request) (string, error) {
		return "Deploy *" + req.Arg("app") + "* to *" + req.Arg("env") + "*?", nil
	}, opts...))
	tr.Bot().Command("ping", reply("pong"))
	return tr
}

// waitThread waits until the thread ts holds want, in order.
func waitThread(t *testing.T, tr *botkittest.Transport, ts string, want ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		texts := botkittest.Texts(tr.Thread(ts))
		if strings.Join(texts, "|") == strings.Join(want, "|") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("thread %s = %q, want %q", ts, texts, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestConfirmYes(t *testing.T) {
	tr := confirmBot(t)
	done := tr.SendAsync(t, botkit.Event{User: botkittest.User, Channel: "C1", TS: "9.1", Text: "<@UBOT> deploy api to prd"})
	prompt := tr.WaitPrompt(t)
	if prompt.Text != "Deploy *api* to *prd*?" || prompt.ThreadTS != "9.1" {
		t.Fatalf("prompt = %+v", prompt)
	}
	<-done // parked: the message is done with, no worker waits
	// Someone else cannot answer.
	got := tr.Click(t, "U0MALLORY", prompt, true)
	last := got[len(got)-1]
	if last.Ephemeral != "U0MALLORY" || !strings.Contains(last.Text, "Only <@U0TEST> can answer") {
		t.Fatalf("a stranger's click got %+v, want an ephemeral refusal", last)
	}
	tr.Click(t, botkittest.User, prompt, true)
	waitThread(t, tr, "9.1", "Deploy *api* to *prd*?", "Only <@U0TEST> can answer this confirmation.", "Deploy *api* to *prd*?\n→ confirmed.", "deployed api by U0TEST")
	// A second click after the answer finds the question gone.
	got = tr.Click(t, botkittest.User, prompt, true)
	if last := untimed(got[len(got)-1].Text); last != "This confirmation was answered already: you confirmed it at T." {
		t.Errorf("late click got %q, want a note that it was answered", last)
	}
}

func TestConfirmNoAndOtherUsers(t *testing.T) {
	tr := confirmBot(t, botkit.ConfirmUsers("U0LEAD"))
	tr.SendAsync(t, botkit.Event{User: botkittest.User, Channel: "C1", TS: "9.2", Text: "<@UBOT> deploy api to prd"})
	prompt := tr.WaitPrompt(t)
	tr.Click(t, "U0LEAD", prompt, false)
	waitThread(t, tr, "9.2", "Deploy *api* to *prd*?", "Deploy *api* to *prd*?\n→ cancelled.")
}

func TestConfirmTimeout(t *testing.T) {
	tr := confirmBot(t, botkit.ConfirmTimeout(30*time.Millisecond))
	tr.Send(t, botkit.Event{User: botkittest.User, Channel: "C1", TS: "9.3", Text: "<@UBOT> deploy api to prd"})
	waitThread(t, tr, "9.3", "Deploy *api* to *prd*?", "Deploy *api* to *prd*?\n→ cancelled: no answer within 30ms.")
}

// Questions waiting for an answer hold no worker: with one worker and a
// user's questions open, another user's command runs at once, and past
// five open questions the user is told to answer them first.
func TestConfirmHoldsNoWorker(t *testing.T) {
	tr := confirmBotWith(t, []botkittest.Option{botkittest.WithRunOptions(botkit.WithMaxInFlight(1))})
	for i := range 5 {
		tr.Send(t, botkit.Event{User: "U0MANY", Channel: "C1", TS: fmt.Sprintf("7.%d", i), Text: "<@UBOT> deploy api to prd"})
	}
	if got := botkittest.Last(tr.SayAs(t, "U0OTHER", "ping")); got != "pong" {
		t.Fatalf("another user's ping got %q while questions were open", got)
	}
	got := tr.Send(t, botkit.Event{User: "U0MANY", Channel: "C1", TS: "7.9", Text: "<@UBOT> deploy api to prd"})
	if want := "You already have 5 commands waiting for your confirmation"; len(got) != 1 || !strings.HasPrefix(got[0].Text, want) {
		t.Fatalf("sixth question got %q, want %q…", botkittest.Texts(got), want)
	}
	// Another user is not held to the first one's bound.
	tr.Send(t, botkit.Event{User: "U0OTHER", Channel: "C1", TS: "8.1", Text: "<@UBOT> deploy web to dev"})
	waitThread(t, tr, "8.1", "Deploy *web* to *dev*?")
	// Answering one makes room again, and its command runs.
	var first botkittest.Reply
	for _, r := range tr.Thread("7.0") {
		if r.Prompt != nil {
			first = r
		}
	}
	tr.Click(t, "U0MANY", first, true)
	waitThread(t, tr, "7.0", "Deploy *api* to *prd*?", "Deploy *api* to *prd*?\n→ confirmed.", "deployed api by U0MANY")
	tr.Send(t, botkit.Event{User: "U0MANY", Channel: "C1", TS: "7.10", Text: "<@UBOT> deploy api to prd"})
	waitThread(t, tr, "7.10", "Deploy *api* to *prd*?")
}

// A click delivered twice, or two clicks at once, run the command once.
func TestConfirmDecidedOnce(t *testing.T) {
	tr := botkittest.New(t)
	var runs atomic.Int32
	tr.Bot().Command("launch", func(ctx context.Context, req *botkit.Request) error {
		runs.Add(1)
		_, err := req.Reply(ctx, "launched")
		return err
	}, botkit.Confirm(func(context.Context, *botkit.Request) (string, error) { return "Launch?", nil }))
	tr.Send(t, botkit.Event{User: botkittest.User, Channel: "C1", TS: "6.1", Text: "<@UBOT> launch"})
	prompt := tr.WaitPrompt(t)
	dones := make([]<-chan struct{}, 8)
	for i := range dones {
		dones[i] = tr.SendAsync(t, botkit.Event{ID: fmt.Sprintf("dup-%d", i), User: botkittest.User, Channel: "C1", ThreadTS: "6.1",
			Action: &botkit.Action{ActionID: botkit.ConfirmActionID + "_yes", Value: botkit.PromptValue(prompt.Prompt.ID, true), MessageTS: prompt.TS}})
	}
	for _, d := range dones {
		<-d
	}
	want := []string{"Launch?", "Launch?\n→ confirmed.", "launched"}
	for range 7 {
		want = append(want, "This confirmation was answered already: you confirmed it at T.")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got []string
		for _, text := range botkittest.Texts(tr.Thread("6.1")) {
			got = append(got, untimed(text))
		}
		slices.Sort(got)
		slices.Sort(want)
		if slices.Equal(got, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("thread = %q, want (in any order) %q", got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("the command ran %d times, want 1", n)
	}
}

// Access is checked again when the answer comes: a user removed from the
// group meanwhile is refused.
func TestConfirmRechecksAccess(t *testing.T) {
	tr := confirmBot(t)
	err := tr.Apply(botkit.Settings{Access: botkit.AccessConfig{Rules: []botkit.Rule{
		{Name: "prd", Command: "deploy", Args: map[string]string{"env": "prd"}, Groups: []string{"S0DEPLOY"}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	tr.SetGroup("S0DEPLOY", botkittest.User)
	tr.Send(t, botkit.Event{User: botkittest.User, Channel: "C1", TS: "5.1", Text: "<@UBOT> deploy api to prd"})
	prompt := tr.WaitPrompt(t)
	tr.SetGroup("S0DEPLOY") // removed; the cache holds a minute, so change the rule too
	if err := tr.Apply(botkit.Settings{Access: botkit.AccessConfig{Rules: []botkit.Rule{
		{Name: "prd", Command: "deploy", Args: map[string]string{"env": "prd"}, Users: []string{"U0BOSS"}},
	}}}); err != nil {
		t.Fatal(err)
	}
	tr.Click(t, botkittest.User, prompt, true)
	waitThread(t, tr, "5.1", "Deploy *api* to *prd*?", "Deploy *api* to *prd*?\n→ confirmed.",
		"You may not run this: access rule `prd` does not include you.")
}

// Questions still open when the bot stops are closed, so nobody clicks a
// dead button.
func TestConfirmClosedAtShutdown(t *testing.T) {
	tr := confirmBot(t)
	tr.Send(t, botkit.Event{User: botkittest.User, Channel: "C1", TS: "4.1", Text: "<@UBOT> deploy api to prd"})
	tr.WaitPrompt(t)
	tr.Stop()
	waitThread(t, tr, "4.1", "Deploy *api* to *prd*?", "Deploy *api* to *prd*?\n→ not run: I restarted before an answer; run the command again.")
}
