package jobs

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/botkittest"
)

// world is a bot process with jobs: `work <name>` is a job of key name
// that reports progress, logs, and runs until cancelled or released.
type world struct {
	tr      *botkittest.Transport
	m       *Manager
	release chan struct{}
}

func newWorld(t *testing.T, dir string, admins ...string) *world {
	t.Helper()
	return newNamedWorld(t, dir, "", admins...)
}

// newNamedWorld is newWorld whose jobs users know as noun (Options.Noun).
func newNamedWorld(t *testing.T, dir, noun string, admins ...string) *world {
	t.Helper()
	tr := botkittest.New(t)
	m, err := New(tr.Bot(), Options{Dir: dir, Poll: 10 * time.Millisecond, Noun: noun,
		MayCancel: func() Principals { return Principals{Users: admins, Groups: []string{"S0ADMINS"}} }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	w := &world{tr: tr, m: m, release: make(chan struct{})}
	t.Cleanup(func() { // before the bot stops, which waits for its jobs
		select {
		case <-w.release:
		default:
			close(w.release)
		}
	})
	tr.Bot().Command("work {name:name}", func(ctx context.Context, req *botkit.Request) error {
		name := req.Arg("name")
		return m.Run(ctx, req, Spec{Kind: "work", Key: name, Subject: "`" + name + "`", Title: "working on " + name,
			Args: map[string]string{"name": name}},
			func(ctx context.Context, j *Job) error {
				j.Progress(ctx, "step 1 of "+name)
				j.Logf("did step 1")
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-w.release:
				}
				j.Progress(ctx, "step 2 of "+name)
				return nil
			})
	})
	tr.Bot().Command("crash", func(ctx context.Context, req *botkit.Request) error {
		return m.Run(ctx, req, Spec{Kind: "crash", Key: "a", Title: "crashing"}, func(ctx context.Context, j *Job) error {
			panic("boom")
		})
	})
	tr.Start()
	waitFor(t, "the bot to start", func() bool { return m.currentPoster() != nil })
	return w
}

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

func mention(user, ts, text string) botkit.Event {
	return botkit.Event{User: user, Channel: botkittest.Channel, TS: ts, Text: "<@UBOT> " + text}
}

// cancelButton returns the value of the Cancel button of reply r, or "".
func cancelButton(r botkittest.Reply) string {
	for _, b := range r.Blocks {
		if a, ok := b.(*slack.ActionBlock); ok {
			for _, e := range a.Elements.ElementSet {
				if btn, ok := e.(*slack.ButtonBlockElement); ok && btn.ActionID == CancelActionID {
					return btn.Value
				}
			}
		}
	}
	return ""
}

func click(w *world, t *testing.T, user, ts, value string) []botkittest.Reply {
	return w.tr.Send(t, botkit.Event{ID: "click-" + user + value + ts, User: user, Channel: botkittest.Channel, ThreadTS: ts,
		Action: &botkit.Action{ActionID: CancelActionID, Value: value, MessageTS: ts}})
}

func busyRE(noun string) *regexp.Regexp {
	return regexp.MustCompile("^`a` is busy: <@U1> is working on a \\(" + noun + " #1\\), since \\d\\d:\\d\\d:\\d\\d UTC \\(\\d+s ago\\), in <#" + botkittest.Channel + ">\\.\n" +
		"Its progress: step 1 of a\n" +
		"Follow it there or with `status`; <@U1> can stop it with `cancel 1`\\. Try again when it is done\\.$")
}

// TestJobLifecycle: a job posts one progress message with a Cancel button;
// a second request of its key is told who holds it, since when, how far,
// and how to follow or stop it; status lists it; only its requester may
// click Cancel; the cancel ends it as cancelled, edits the message without
// the button, uploads the log and records it. Every text names a job with
// the bot's noun (Options.Noun), "job" by default.
func TestJobLifecycle(t *testing.T) {
	for _, c := range []struct{ noun, one, One, many string }{
		{"", "job", "Job", "jobs"},
		{"deploy", "deploy", "Deploy", "deploys"},
	} {
		t.Run(c.one, func(t *testing.T) {
			testJobLifecycle(t, c.noun, c.one, c.One, c.many)
		})
	}
}

func testJobLifecycle(t *testing.T, noun, one, One, many string) {
	w := newNamedWorld(t, t.TempDir(), noun)
	var said []string // every text a user read, buttons' included
	first := w.tr.SendAsync(t, mention("U1", "1.1", "work a"))
	waitFor(t, "the progress message", func() bool { return len(w.tr.Thread("1.1")) > 0 })
	progress := w.tr.Thread("1.1")[0]
	said = append(said, buttonLabels(progress)...)
	if progress.Text != "step 1 of a" || cancelButton(progress) != "1" || !slices.Contains(buttonLabels(progress), "Cancel "+one+" #1") {
		t.Fatalf("progress message %q with button %q", progress.Text, cancelButton(progress))
	}

	if got := botkittest.Last(w.tr.Send(t, mention("U2", "2.1", "work a"))); !busyRE(one).MatchString(got) {
		t.Errorf("the second request got:\n%s", got)
	}
	w.tr.SendAsync(t, mention("U2", "3.1", "work b")) // runs until the end of the test
	waitFor(t, "another key's job", func() bool { return len(w.tr.Thread("3.1")) > 0 })
	if got := w.tr.Thread("3.1")[0]; got.Text != "step 1 of b" || cancelButton(got) != "2" {
		t.Errorf("another key: %q", got.Text)
	}
	if got := botkittest.Last(w.tr.SayAs(t, "U2", "status")); !strings.HasPrefix(got, "*Running "+many+"*\n• #1 <@U1> is working on a, since ") || !strings.Contains(got, ": step 1 of a") {
		t.Errorf("status: %q", got)
	}
	if got := botkittest.Last(click(w, t, "U2", progress.TS, "1")); got != "Only <@U1>, who started "+one+" #1, or those allowed to stop any "+one+" may cancel it." {
		t.Errorf("a click by another user: %q", got)
	}
	if got := botkittest.Last(w.tr.SayAs(t, "U2", "cancel 1")); !strings.Contains(got, "Only <@U1>, who started "+one+" #1,") {
		t.Errorf("cancel by another user: %q", got)
	}
	if got := botkittest.Last(click(w, t, "U1", progress.TS, "1")); got != "Cancelling "+one+" #1." {
		t.Errorf("the requester's click: %q", got)
	}
	<-first
	thread := botkittest.Texts(w.tr.Thread("1.1"))
	var edited botkittest.Reply
	for _, r := range w.tr.Thread("1.1") {
		if r.Update && r.TS == progress.TS {
			edited = r
		}
	}
	if !strings.HasPrefix(edited.Text, "step 1 of a\n⏹ "+One+" #1 was cancelled by <@U1> after ") || cancelButton(edited) != "" {
		t.Errorf("the progress message ends as %q (button %q)", edited.Text, cancelButton(edited))
	}
	if !containsPrefix(thread, "Full log of "+one+" #1") || !strings.Contains(strings.Join(thread, "\n"), "did step 1") {
		t.Errorf("no log in the thread: %q", thread)
	}
	if last := thread[len(thread)-1]; !strings.HasPrefix(last, "⏹ "+One+" #1 was cancelled by <@U1> after ") {
		t.Errorf("the requester's last word: %q", last)
	}
	got := botkittest.Last(w.tr.SayAs(t, "U2", "history"))
	if !strings.HasPrefix(got, "*Last "+many+"*\n") || !strings.Contains(got, "• #1 ⏹ cancelled: <@U1> working on a, ") || !strings.Contains(got, ", by <@U1>") {
		t.Errorf("history: %q", got)
	}
	if got := botkittest.Last(w.tr.SayAs(t, "U2", "cancel 1")); got != One+" #1 is not running: it ended (⏹ cancelled)." {
		t.Errorf("cancel of an ended job: %q", got)
	}
	if got := botkittest.Last(w.tr.SayAs(t, "U2", "cancel 9")); got != "There is no "+one+" #9. `status` shows the running ones." {
		t.Errorf("cancel of no job: %q", got)
	}
	if got := botkittest.Last(w.tr.SayAs(t, "U2", "help")); !strings.Contains(got, "Stop a running "+one+" (yours,") {
		t.Errorf("help: %q", got)
	}
	if noun == "" {
		return
	}
	said = append(said, botkittest.Texts(w.tr.Replies())...)
	for _, s := range said {
		if jobWord.MatchString(s) {
			t.Errorf("a user read %q, which names a %s a job", s, noun)
		}
	}
}

var jobWord = regexp.MustCompile(`(?i)\bjobs?\b`)

// buttonLabels returns the texts of the buttons of reply r.
func buttonLabels(r botkittest.Reply) []string {
	var out []string
	for _, b := range r.Blocks {
		if a, ok := b.(*slack.ActionBlock); ok {
			for _, e := range a.Elements.ElementSet {
				if btn, ok := e.(*slack.ButtonBlockElement); ok && btn.Text != nil {
					out = append(out, btn.Text.Text)
				}
			}
		}
	}
	return out
}

func containsPrefix(ss []string, prefix string) bool {
	for _, s := range ss {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// TestCancelFromAnotherProcess: `cancel` taken by another process sharing
// the state dir reaches the job through a request its process polls; one
// allowed to stop any job (by user or group) may cancel another's.
func TestCancelFromAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	a, b := newWorld(t, dir), newWorld(t, dir, "U9")
	b.tr.SetGroup("S0ADMINS", "U8")
	for i, canceller := range []string{"U1", "U9", "U8"} {
		ts := fmt.Sprintf("%d.1", i+1)
		first := a.tr.SendAsync(t, mention("U1", ts, "work a"))
		waitFor(t, "the progress message", func() bool { return len(a.tr.Thread(ts)) > 0 })
		id := cancelButton(a.tr.Thread(ts)[0])
		got := botkittest.Last(b.tr.SayAs(t, canceller, "cancel "+id))
		if !strings.HasPrefix(got, "Asked the process running job #"+id+" (") {
			t.Errorf("%s: cancel in the other process: %q", canceller, got)
		}
		select {
		case <-first:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the job was not cancelled", canceller)
		}
		if last := botkittest.Last(a.tr.Thread(ts)); !strings.HasPrefix(last, "⏹ Job #"+id+" was cancelled by <@"+canceller+"> after ") {
			t.Errorf("%s: the job's end: %q", canceller, last)
		}
	}
}

// TestRedeliveredRequest: the same event delivered to two processes runs
// one job, and so does the same message under another event id (Slack
// sends a mention as a message event and as an app_mention).
func TestRedeliveredRequest(t *testing.T) {
	dir := t.TempDir()
	a, b := newWorld(t, dir), newWorld(t, dir)
	close(a.release)
	ev := mention("U1", "5.1", "work a")
	ev.ID = "Ev0REDELIVERED"
	a.tr.Send(t, ev)
	b.tr.Send(t, ev)
	ev.ID = "Ev0APPMENTION"
	b.tr.Send(t, ev)
	hs, err := a.m.Store().History(10)
	if err != nil || len(hs) != 1 || hs[0].Status != Succeeded {
		t.Errorf("history = %+v, %v; want one job, succeeded", hs, err)
	}
	if n := len(b.tr.Replies()); n != 0 {
		t.Errorf("the second process answered the redelivery: %q", botkittest.Texts(b.tr.Replies()))
	}
}

// TestInterruptedJobMessage: a job whose process died is recorded as
// interrupted when the next process starts, and its message is edited to
// say so, once.
func TestInterruptedJobMessage(t *testing.T) {
	dir := t.TempDir()
	dead, err := Open(dir, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l, _, err := dead.Begin(t.Context(), Record{Kind: "work", Key: "a", User: "U1", Title: "working on a", Channel: botkittest.Channel, Thread: "1.1"})
	if err != nil {
		t.Fatal(err)
	}
	r := l.Record()
	r.Message = "1.2"
	if err := l.Update(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	l.lock.Release() // the process dies: its locks go
	dead.Close()

	w := newWorld(t, dir)
	waitFor(t, "the message edit", func() bool { return len(w.tr.Replies()) > 0 })
	got := w.tr.Replies()[0]
	if !got.Update || got.TS != "1.2" || !strings.HasPrefix(got.Text, "⚠️ Job #1, <@U1> working on a, was interrupted: the process running it (") {
		t.Errorf("edit = %+v", got)
	}
	waitFor(t, "the notice recorded", func() bool { r, _, _ := w.m.Store().Record(1); return r.Notified })
	if r, _, _ := w.m.Store().Record(1); r.Status != Interrupted {
		t.Errorf("#1 is %s", r.Status)
	}
	w2 := newWorld(t, dir)
	close(w2.release)
	if n := len(w2.tr.Replies()); n != 0 {
		t.Errorf("the next start edited again: %q", botkittest.Texts(w2.tr.Replies()))
	}
	if got := botkittest.Last(w2.tr.SayAs(t, "U1", "work a")); strings.Contains(got, "busy") {
		t.Errorf("the key of an interrupted job: %q", got)
	}
}

// TestPanickingJob: a job whose code panics is recorded as failed and frees
// its key; botkit still reports the panic.
func TestPanickingJob(t *testing.T) {
	w := newWorld(t, t.TempDir())
	w.tr.SayAs(t, "U1", "crash")
	r, ok, err := w.m.Store().Record(1)
	if !ok || err != nil || r.Status != Failed || r.Error != "the job panicked: boom" {
		t.Errorf("#1 = %+v, %v, %v", r, ok, err)
	}
	close(w.release)
	if got := botkittest.Last(w.tr.SayAs(t, "U1", "work a")); strings.Contains(got, "busy") {
		t.Errorf("the key after a panic: %q", got)
	}
}
