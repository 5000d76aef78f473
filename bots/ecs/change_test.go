package main

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/botfleet/botfleet/bots/ecs/internal/ecsfake"
	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/botkittest"
	"github.com/botfleet/botfleet/pkg/botkit/jobs"
)

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// done reports whether the bot is done with an event sent with SendAsync.
func done(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// mention is a command from user in a thread of its own, ts.
func mention(user, ts, text string) botkit.Event {
	return botkit.Event{User: user, Channel: botkittest.Channel, TS: ts, Text: "<@UBOT> " + text}
}

// busyLine matches the start of the answer to a change of a busy service.
var busyLine = regexp.MustCompile("^`api` in dev is busy: <@U1> is deploying `v2` to `api` in dev \\(job #1\\), since \\d\\d:\\d\\d:\\d\\d UTC \\(\\d+s ago\\), in <#" + botkittest.Channel + ">\\.\n")

const busyEnd = "\nFollow it there or with `status`; <@U1> can stop it with `cancel 1`. Try again when it is done."

// TestConcurrentDeploysOfOneService: a second deploy of a service while
// the first registers its task definition is refused, with who deploys
// what since when and where, and so are a rollback and a scale; another
// service is not held up. One task definition is registered, one update
// made.
func TestConcurrentDeploysOfOneService(t *testing.T) {
	w := newWorld(t, testConfig())
	register := ecsfake.ECS + "RegisterTaskDefinition"
	release := w.fake.Hold(register)
	defer release()
	first := w.tr.SendAsync(t, mention("U1", "7.1", "deploy api v2"))
	waitFor(t, "the first deploy to register", func() bool { return w.calls(register) == 1 })

	second := w.tr.SendAsync(t, mention("U2", "7.2", "deploy api v3-bad"))
	// Without a lock the second deploy registers too, and waits in the fake.
	waitFor(t, "the second deploy", func() bool { return done(second) || w.calls(register) > 1 })
	if n := w.calls(register); n != 1 {
		release()
		t.Fatalf("%d task definitions registered by two concurrent deploys of one service, want 1", n)
	}
	got := lastPost(w.tr.Thread("7.2"))
	if !busyLine.MatchString(got) || !strings.HasSuffix(got, busyEnd) {
		t.Errorf("the second deploy got:\n%s", got)
	}
	for _, say := range []string{"rollback api", "scale api 3"} {
		if got := lastPost(w.tr.SayAs(t, "U2", say)); !busyLine.MatchString(got) {
			t.Errorf("%s during the deploy: %q", say, got)
		}
	}
	if got := lastPost(w.tr.SayAs(t, "U2", "scale worker 2")); got != "Scaled `worker` in dev from 1 to 2 tasks." {
		t.Errorf("another service during the deploy: %q", got)
	}

	release()
	<-first
	if got := lastPost(w.tr.Thread("7.1")); !strings.HasPrefix(got, "✅ `api` in dev runs `api:2`") {
		t.Errorf("the first deploy: %q", got)
	}
	var updates []string
	for _, c := range w.fake.Calls(ecsfake.ECS + "UpdateService") {
		if strings.Contains(c.Body, `"service":"api"`) {
			updates = append(updates, c.Body)
		}
	}
	if len(updates) != 1 {
		t.Errorf("UpdateService of api: %q, want one", updates)
	}
	// Done, the lock is free.
	if got := lastPost(w.tr.SayAs(t, "U2", "scale api 3")); got != "Scaled `api` in dev from 2 to 3 tasks." {
		t.Errorf("scale after the deploy: %q", got)
	}
	got = lastPost(w.tr.SayAs(t, "U2", "history"))
	for _, want := range []string{"• #1 ✅ succeeded: <@U1> deploying `v2` to `api` in dev,", "• #2 ✅ succeeded: <@U2> scaling `worker` in dev to 2 tasks,",
		"• #3 ✅ succeeded: <@U2> scaling `api` in dev to 3 tasks,"} {
		if !strings.Contains(got, want) {
			t.Errorf("history lacks %q:\n%s", want, got)
		}
	}
}

// TestConcurrentDeploysAcrossInstances: two instances of the bot sharing a
// state directory (two pods on EFS) get a deploy of one service at once:
// one registers and updates, the other is told who deploys.
func TestConcurrentDeploysAcrossInstances(t *testing.T) {
	cfg := testConfig()
	w := newWorld(t, cfg)
	other := w.instance(t, cfg)
	register := ecsfake.ECS + "RegisterTaskDefinition"
	release := w.fake.Hold(register)
	defer release()
	first := w.tr.SendAsync(t, mention("U1", "7.1", "deploy api v2"))
	waitFor(t, "the first deploy to register", func() bool { return w.calls(register) == 1 })
	ev := mention("U2", "7.2", "deploy api v3-bad")
	ev.ID = "Ev0OTHERPOD" // the two test transports number their events alike
	second := other.SendAsync(t, ev)
	waitFor(t, "the second deploy", func() bool { return done(second) || w.calls(register) > 1 })
	if n := w.calls(register); n != 1 {
		release()
		t.Fatalf("%d task definitions registered by deploys of one service in two instances, want 1", n)
	}
	if got := lastPost(other.Thread("7.2")); !busyLine.MatchString(got) || !strings.HasSuffix(got, busyEnd) {
		t.Errorf("the other instance's deploy got:\n%s\n%q", got, botkittest.Texts(other.Replies()))
	}
	release()
	<-first
	if got := lastPost(w.tr.Thread("7.1")); !strings.HasPrefix(got, "✅ `api` in dev runs `api:2`") {
		t.Errorf("the first deploy: %q", got)
	}
	if n := w.calls(ecsfake.ECS + "UpdateService"); n != 1 {
		t.Errorf("%d UpdateService calls, want 1", n)
	}
}

// TestBusyShowsProgress: once the rollout is under way, the refused user
// sees its progress message as it stands.
func TestBusyShowsProgress(t *testing.T) {
	w := newWorld(t, testConfig())
	release := w.fake.Stall(apiRepo + ":v2") // the rollout stays in progress
	defer release()
	first := w.tr.SendAsync(t, mention("U1", "8.1", "deploy api v2"))
	waitFor(t, "the rollout's progress", func() bool { return strings.Contains(botkittest.Last(w.tr.Thread("8.1")), "running") })
	progress := botkittest.Last(w.tr.Thread("8.1"))

	second := w.tr.SendAsync(t, mention("U2", "8.2", "deploy api v3-bad"))
	waitFor(t, "the second deploy's answer", func() bool { return done(second) })
	got := lastPost(w.tr.Thread("8.2"))
	if !busyLine.MatchString(got) || !strings.Contains(got, "\nIts progress: "+progress+"\n") ||
		!strings.HasPrefix(progress, "Deploying `api` `v2` (`"+shortDigest(w.fake.ImageDigest("botfleet/api", "v2"))+"`) to dev (`api:2`, was `v1`)") {
		t.Errorf("the second deploy got:\n%s\nwant the first's progress:\n%s", got, progress)
	}
	release()
	<-first
	if n := w.calls(ecsfake.ECS + "RegisterTaskDefinition"); n != 1 {
		t.Errorf("%d registrations, want 1", n)
	}
}

// TestCancelDeploy: the Cancel button of a deploy's progress message stops
// following the rollout (which goes on in ECS) and records the deploy as
// cancelled; another user's click is refused.
func TestCancelDeploy(t *testing.T) {
	w := newWorld(t, testConfig())
	first := w.tr.SendAsync(t, mention("U1", "9.1", "deploy api v2"))
	waitFor(t, "the progress message", func() bool { return len(w.tr.Thread("9.1")) > 0 })
	release := w.fake.Hold(ecsfake.ECS + "DescribeServices") // the rollout stops moving
	defer release()
	msg := w.tr.Thread("9.1")[0]
	click := func(user string) string {
		return lastPost(w.tr.Send(t, botkit.Event{ID: "click-" + user, User: user, Channel: botkittest.Channel, ThreadTS: "9.1",
			Action: &botkit.Action{ActionID: jobs.CancelActionID, Value: cancelButton(msg), MessageTS: msg.TS}}))
	}
	if got := click("U2"); !strings.HasPrefix(got, "Only <@U1>, who started job #1,") {
		t.Errorf("another user's click: %q", got)
	}
	if got := click("U1"); got != "Cancelling job #1." {
		t.Errorf("the requester's click: %q", got)
	}
	release()
	<-first
	if got := lastPost(w.tr.Thread("9.1")); !strings.HasPrefix(got, "⏹ Job #1 was cancelled by <@U1> after ") {
		t.Errorf("the deploy's end: %q", got)
	}
	if got := lastPost(w.tr.SayAs(t, "U1", "history")); !strings.Contains(got, "• #1 ⏹ cancelled: <@U1> deploying `v2` to `api` in dev") {
		t.Errorf("history: %q", got)
	}
}

// approvalWorld is a world whose prd deploys need one approval from
// S0LEADS, which U0LEAD is in.
func approvalWorld(t *testing.T) *world {
	t.Helper()
	cfg := testConfig()
	cfg.Settings.Access.Rules = []botkit.Rule{{Command: "deploy", Args: map[string]string{"env": "prd"},
		Approve: &botkit.Approval{Groups: []string{"S0LEADS"}, Count: 1, Timeout: 30 * time.Minute}}}
	w := newWorld(t, cfg)
	w.tr.SetGroup("S0LEADS", "U0LEAD")
	return w
}

// TestDeployApprovalFreezesImage: a prd deploy that needs approval shows
// approvers the image its tag names (by digest, read from ECR), and runs
// exactly that image, registered by its digest: if the tag moved since,
// the approved image still is what runs, and the tag stays visible.
func TestDeployApprovalFreezesImage(t *testing.T) {
	w := approvalWorld(t)
	ask := func(ts string) botkittest.Reply {
		t.Helper()
		w.tr.Send(t, botkit.Event{User: botkittest.User, Channel: botkittest.Channel, TS: ts, Text: "<@UBOT> deploy api v2 to prd"})
		return w.tr.WaitPrompt(t)
	}
	image := func() any {
		td, _ := w.fake.ServiceTaskDef("prd-cluster", "api")
		return w.fake.TaskDef(td)["containerDefinitions"].([]any)[0].(map[string]any)["image"]
	}

	asked := w.fake.ImageDigest("botfleet/api", "v2")
	prompt := ask("7.1")
	if want := "• image: `botfleet/api:v2@" + asked + "`"; !strings.Contains(prompt.Text, want) {
		t.Errorf("the approval request %q does not show %q", prompt.Text, want)
	}
	w.fake.PushImage("botfleet/api", "v2") // the tag moves while approvers look
	moved := w.fake.ImageDigest("botfleet/api", "v2")
	if moved == asked {
		t.Fatal("pushing v2 again did not move the tag")
	}
	w.tr.Click(t, "U0LEAD", prompt, true)
	thread := w.tr.Thread("7.1")
	if got := lastPost(thread); !strings.HasPrefix(got, "✅ `api` in prd runs `api:2`") {
		t.Errorf("approved deploy of a moved tag: %q", botkittest.Texts(thread))
	}
	want := "Deploying `api` `v2` (`" + shortDigest(asked) + "`) to prd (`api:2`, was `v1`) — `v2` names another image by now; this is the one resolved when you asked"
	if !slices.ContainsFunc(thread, func(r botkittest.Reply) bool { return strings.HasPrefix(r.Text, want) }) {
		t.Errorf("no message says what runs: %q, want %q…", botkittest.Texts(thread), want)
	}
	if img := image(); img != apiRepo+"@"+asked {
		t.Errorf("prd runs %v, want %s, the image approved (v2 names %s now)", img, apiRepo+"@"+asked, moved)
	}
	if got := lastPost(w.tr.Say(t, "status api in prd")); !strings.Contains(got, "\n• PRIMARY `api:2` `v2`: COMPLETED") {
		t.Errorf("status after the deploy: %q", got)
	}
	if got := lastPost(w.tr.Say(t, "history")); !strings.Contains(got, "deploying `v2` to `api` in prd") {
		t.Errorf("history: %q", got)
	}

	// Asked again, v2 is the new image, and a new revision runs it.
	prompt = ask("7.2")
	if want := "• image: `botfleet/api:v2@" + moved + "`"; !strings.Contains(prompt.Text, want) {
		t.Errorf("the second request %q does not show %q", prompt.Text, want)
	}
	w.tr.Click(t, "U0LEAD", prompt, true)
	if got := lastPost(w.tr.Thread("7.2")); !strings.HasPrefix(got, "✅ `api` in prd runs `api:3`") {
		t.Errorf("approved deploy: %q", botkittest.Texts(w.tr.Thread("7.2")))
	}
	if n := w.calls(ecsfake.ECS + "RegisterTaskDefinition"); n != 2 {
		t.Errorf("%d registrations, want 2", n)
	}
	if img := image(); img != apiRepo+"@"+moved {
		t.Errorf("prd runs %v, want %s", img, apiRepo+"@"+moved)
	}
}

// TestDeployedImageGone: an image deleted from ECR after the request is
// not deployed: ECS could not pull it.
func TestDeployedImageGone(t *testing.T) {
	w := approvalWorld(t)
	asked := w.fake.ImageDigest("botfleet/api", "v2")
	w.tr.Send(t, botkit.Event{User: botkittest.User, Channel: botkittest.Channel, TS: "7.1", Text: "<@UBOT> deploy api v2 to prd"})
	prompt := w.tr.WaitPrompt(t)
	w.fake.DeleteImage("botfleet/api", asked)
	w.tr.Click(t, "U0LEAD", prompt, true)
	want := "Not deployed: image `" + asked + "` of `botfleet/api`, the one resolved when you asked (and shown to whoever confirmed or approved it), is no longer in ECR. Nothing changed."
	if got := lastPost(w.tr.Thread("7.1")); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if n := w.calls(ecsfake.ECS + "RegisterTaskDefinition"); n != 0 {
		t.Errorf("%d registrations, want 0", n)
	}
}
