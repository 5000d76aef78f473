package jobs

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/botkittest"
)

// approvalProcess is a process of a bot whose prd deploys are jobs that
// need two approvals from S0LEADS: botkit's state directory and the jobs'
// are shared with the other processes of the test.
func approvalProcess(t *testing.T, stateDir string, runs *atomic.Int32) *botkittest.Transport {
	t.Helper()
	tr := botkittest.New(t, botkittest.WithRunOptions(botkit.WithStateDir(stateDir)))
	m, err := New(tr.Bot(), Options{Dir: filepath.Join(stateDir, "jobs"), Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	tr.Bot().Command("deploy {app:name} to {env:name}", func(ctx context.Context, req *botkit.Request) error {
		return m.Run(ctx, req, Spec{Kind: "deploy", Key: req.Arg("app"), Title: "deploying " + req.Arg("app")},
			func(ctx context.Context, j *Job) error {
				runs.Add(1)
				j.Progress(ctx, "deployed "+req.Frozen("image"))
				return nil
			})
	}, botkit.Prepare(func(_ context.Context, req *botkit.Request) error {
		req.Freeze("image", "registry/"+req.Arg("app")+"@sha256:0001")
		return nil
	}))
	tr.SetGroup("S0LEADS", "U0LEAD", "U0LEAD2")
	err = tr.Apply(botkit.Settings{Access: botkit.AccessConfig{Rules: []botkit.Rule{{
		Command: "deploy", Args: map[string]string{"env": "prd"},
		Approve: &botkit.Approval{Groups: []string{"S0LEADS"}, Count: 2, Timeout: 30 * time.Minute},
	}}}})
	if err != nil {
		t.Fatal(err)
	}
	tr.Start()
	return tr
}

// statusSeq numbers the status requests of a test: its processes share an
// inbox, which takes an event id, or a message's ts, once.
var statusSeq atomic.Int32

// statusOf asks tr for `status` and returns the answer.
func statusOf(t *testing.T, tr *botkittest.Transport) string {
	t.Helper()
	n := statusSeq.Add(1)
	return botkittest.Last(tr.Send(t, botkit.Event{ID: fmt.Sprintf("EvStatus%d", n), User: "U0LEAD", Channel: botkittest.Channel,
		TS: fmt.Sprintf("99.%d", n), Text: "<@UBOT> status"}))
}

// awaitingRE matches status's line for the deploy of api awaiting approval
// with the given approvals.
func awaitingRE(n int, approvers string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^• <@U0TEST> asks to run ` + "`deploy api to prd` \\(`app=api env=prd image=registry/api@sha256:0001`\\)" +
		`, since \d\d:\d\d:\d\d UTC \(\d+s ago\) in <#` + botkittest.Channel + `>: ` +
		fmt.Sprintf(`%d of 2 approvals from <!subteam\^S0LEADS>%s`, n, regexp.QuoteMeta(approvers)) +
		`; times out at \d\d:\d\d:\d\d UTC \(in (29m[0-5]\d|30m0)s\); <@U0TEST> can withdraw it with Reject on the request\.$`)
}

// TestStatusListsApprovals: `status` in any process lists the commands
// awaiting approval, read from the records in the shared state directory:
// what will run with its frozen values, who asked since when, the
// approvals so far, the timeout and how to withdraw; and it still does
// after a restart. A decided request leaves the list.
func TestStatusListsApprovals(t *testing.T) {
	dir := t.TempDir()
	var runs atomic.Int32
	a, b := approvalProcess(t, dir, &runs), approvalProcess(t, dir, &runs)
	if got := statusOf(t, b); got != "No job is running. `history` shows the last ones." {
		t.Errorf("status with nothing: %q", got)
	}
	asked := a.Send(t, botkit.Event{ID: "EvDeployAPI", User: botkittest.User, Channel: botkittest.Channel, TS: "1.1", Text: "<@UBOT> deploy api to prd"})
	var prompt botkittest.Reply
	for _, r := range asked {
		if r.Prompt != nil {
			prompt = r
		}
	}
	if prompt.Prompt == nil {
		t.Fatalf("no approval request: %q", botkittest.Texts(asked))
	}

	got := statusOf(t, b)
	if !strings.HasPrefix(got, "No job is running.\n*Awaiting approval*\n") || !awaitingRE(0, "").MatchString(got) {
		t.Errorf("status in the other process:\n%s", got)
	}
	b.Click(t, "U0LEAD", prompt, true)
	if got := statusOf(t, a); !awaitingRE(1, " (<@U0LEAD>)").MatchString(got) {
		t.Errorf("status after one approval:\n%s", got)
	}

	// A restart: the next process lists it, and the second approval there
	// runs the job.
	a.Stop()
	c := approvalProcess(t, dir, &runs)
	if got := statusOf(t, c); !awaitingRE(1, " (<@U0LEAD>)").MatchString(got) {
		t.Errorf("status after a restart:\n%s", got)
	}
	c.Click(t, "U0LEAD2", prompt, true)
	deadline := time.Now().Add(10 * time.Second)
	for runs.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := runs.Load(); n != 1 {
		t.Fatalf("the job ran %d times, want 1", n)
	}
	if got := statusOf(t, b); strings.Contains(got, "Awaiting approval") {
		t.Errorf("status lists an approved request:\n%s", got)
	}

	// Withdrawn: gone from the list too.
	asked = b.Send(t, botkit.Event{ID: "EvDeployWeb", User: botkittest.User, Channel: botkittest.Channel, TS: "2.1", Text: "<@UBOT> deploy web to prd"})
	prompt = asked[len(asked)-1]
	if got := statusOf(t, c); !strings.Contains(got, "asks to run `deploy web to prd`") {
		t.Errorf("status with the web deploy:\n%s", got)
	}
	c.Click(t, botkittest.User, prompt, false)
	if got := statusOf(t, c); strings.Contains(got, "Awaiting approval") {
		t.Errorf("status lists a withdrawn request:\n%s", got)
	}
}

// TestStatusShowsOldestApprovals: with more requests awaiting approval
// than status lists, it shows the oldest and counts the others, read from
// the directory's names only.
func TestStatusShowsOldestApprovals(t *testing.T) {
	dir := t.TempDir()
	var runs atomic.Int32
	a := approvalProcess(t, dir, &runs)
	const asked = maxWaitingShown + 3
	for i := range asked { // 5 each, a user's most
		a.Send(t, botkit.Event{ID: fmt.Sprintf("EvMany%d", i), User: fmt.Sprintf("U%02d", i/5), Channel: botkittest.Channel,
			TS: fmt.Sprintf("3.%d", i), Text: fmt.Sprintf("<@UBOT> deploy app%d to prd", i)})
		time.Sleep(2 * time.Millisecond) // records are ordered by when they were written
	}
	got := statusOf(t, a)
	if n := strings.Count(got, "\n• "); n != maxWaitingShown {
		t.Errorf("status lists %d requests, want %d:\n%s", n, maxWaitingShown, got)
	}
	if !strings.Contains(got, "`deploy app0 to prd`") || strings.Contains(got, "`deploy app"+fmt.Sprint(asked-1)+" to prd`") ||
		!strings.HasSuffix(got, "\n…and 3 more.") {
		t.Errorf("status does not show the oldest, then count the others:\n%s", got)
	}
}
