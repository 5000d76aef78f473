package botkit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/botkittest"
)

// Users of the approval tests: two leads who may approve, and a stranger.
const (
	lead     = "U0LEAD"
	lead2    = "U0LEAD2"
	stranger = "U0MALLORY"
	auditCh  = "C0AUDIT"
)

// deployFleet is what several runtimes (processes, or one bot before and
// after a restart) share: the runs of the deploy command, and the images
// Prepare resolved, so a test sees which one ran.
type deployFleet struct {
	runs     atomic.Int32
	resolved atomic.Int32
	opts     []botkit.Option // for every runtime
}

// approvalBot returns a bot whose "deploy" to prd needs approval under
// rule, over stateDir ("" keeps records in memory). Prepare freezes an
// image that differs on every call, so a run shows whether it ran the one
// approvers saw.
func (f *deployFleet) approvalBot(t *testing.T, stateDir string, rule botkit.Rule, extra ...func(*botkit.Settings)) *botkittest.Transport {
	t.Helper()
	opts := []botkittest.Option{botkittest.WithRunOptions(f.opts...)}
	if stateDir != "" {
		opts = append(opts, botkittest.WithRunOptions(botkit.WithStateDir(stateDir)))
	}
	tr := botkittest.New(t, opts...)
	tr.Bot().Command("deploy {app:name} to {env:name}", func(ctx context.Context, req *botkit.Request) error {
		f.runs.Add(1)
		_, err := req.Reply(ctx, "deployed "+req.Arg("app")+" image "+req.Frozen("image")+" for "+req.User)
		return err
	}, botkit.Prepare(func(_ context.Context, req *botkit.Request) error {
		req.Freeze("image", fmt.Sprintf("registry/%s@sha256:%04d", req.Arg("app"), f.resolved.Add(1)))
		return nil
	}))
	tr.SetGroup("S0LEADS", lead, lead2, botkittest.User) // the requester is a lead too
	s := botkit.Settings{Audit: botkit.AuditConfig{Channel: auditCh}, Access: botkit.AccessConfig{Rules: []botkit.Rule{rule}}}
	for _, e := range extra {
		e(&s)
	}
	if err := tr.Apply(s); err != nil {
		t.Fatal(err)
	}
	return tr
}

func prdRule(count int) botkit.Rule {
	return botkit.Rule{Command: "deploy", Args: map[string]string{"env": "prd"},
		Approve: &botkit.Approval{Groups: []string{"S0LEADS"}, Count: count, Timeout: 30 * time.Minute}}
}

// ask sends the deploy from the requester and returns the approval request.
func ask(t *testing.T, tr *botkittest.Transport, ts string) botkittest.Reply {
	t.Helper()
	got := tr.Send(t, botkit.Event{User: botkittest.User, Channel: "C1", TS: ts, Text: "<@UBOT> deploy api to prd"})
	for _, r := range got {
		if r.Prompt != nil {
			return r
		}
	}
	t.Fatalf("no approval request in the thread: %q", botkittest.Texts(got))
	return botkittest.Reply{}
}

// clickNote clicks and returns the note the clicker alone sees.
func clickNote(t *testing.T, tr *botkittest.Transport, user string, prompt botkittest.Reply, yes bool) string {
	t.Helper()
	got := tr.Click(t, user, prompt, yes)
	for i := len(got) - 1; i >= 0; i-- {
		if got[i].Ephemeral == user {
			return got[i].Text
		}
	}
	return ""
}

// waitFor waits until some reply in the thread satisfies ok.
func waitFor(t *testing.T, tr *botkittest.Transport, thread string, what string, ok func(botkittest.Reply) bool) botkittest.Reply {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, r := range tr.Thread(thread) {
			if ok(r) {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s in thread %s: %q", what, thread, botkittest.Texts(tr.Thread(thread)))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// atTime is the time a note gives, as untimed shows it.
var atTime = regexp.MustCompile(` at \d\d:\d\d:\d\d UTC`)

// untimed replaces the times in s by " at T", for comparing notes.
func untimed(s string) string { return atTime.ReplaceAllString(s, " at T") }

func hasText(sub string) func(botkittest.Reply) bool {
	return func(r botkittest.Reply) bool { return strings.Contains(r.Text, sub) }
}

func auditLines(tr *botkittest.Transport) []string {
	var out []string
	for _, r := range tr.Replies() {
		if r.Channel == auditCh {
			out = append(out, r.Text)
		}
	}
	return out
}

func TestApprovalRefusesAndRuns(t *testing.T) {
	var f deployFleet
	tr := f.approvalBot(t, t.TempDir(), prdRule(1))
	prompt := ask(t, tr, "9.1")
	for _, want := range []string{"<@U0TEST> asks to run `deploy api to prd`", "arguments: `app=api env=prd`",
		"image: `registry/api@sha256:0001`", "Needs 1 approval from <!subteam^S0LEADS>", "within 30m0s"} {
		if !strings.Contains(prompt.Text, want) {
			t.Errorf("approval request %q lacks %q", prompt.Text, want)
		}
	}
	if prompt.Prompt.Yes != "Approve" || prompt.Prompt.No != "Reject" {
		t.Errorf("buttons %+v, want Approve and Reject", prompt.Prompt)
	}
	// A run that is not approved does not: a dev deploy needs nobody.
	if got := botkittest.Last(tr.Say(t, "deploy web to dev")); got != "deployed web image registry/web@sha256:0002 for U0TEST" {
		t.Errorf("dev deploy got %q", got)
	}
	refusals := []struct {
		name, user string
		yes        bool
		want       string
	}{
		{"self-approval", botkittest.User, true, "You can't approve your own request: another member of <!subteam^S0LEADS> must."},
		{"non-member approves", stranger, true, "Only members of <!subteam^S0LEADS> can approve or reject this."},
		{"non-member rejects", stranger, false, "Only members of <!subteam^S0LEADS> can approve or reject this."},
	}
	for _, c := range refusals {
		if got := clickNote(t, tr, c.user, prompt, c.yes); got != c.want {
			t.Errorf("%s: note %q, want %q", c.name, got, c.want)
		}
	}
	if n := f.runs.Load(); n != 1 {
		t.Fatalf("after refused clicks the command ran %d times, want 1 (the dev deploy)", n)
	}
	tr.Click(t, lead, prompt, true)
	waitFor(t, tr, "9.1", "run", hasText("deployed api image registry/api@sha256:0001 for U0TEST"))
	waitFor(t, tr, "9.1", "closed request", hasText("→ approved by <@U0LEAD>"))
	// The same click again, a click on another button, a forged value.
	if got := untimed(clickNote(t, tr, lead, prompt, true)); got != "This request was decided already: you approved it at T." {
		t.Errorf("another click of the approver: %q", got)
	}
	if got := untimed(clickNote(t, tr, lead2, prompt, false)); got != "This request was decided already: <@U0LEAD> approved it at T." {
		t.Errorf("late reject: %q", got)
	}
	forged := prompt
	forged.Prompt = &botkit.Prompt{ID: "../../etc/passwd", Yes: "Approve", No: "Reject"}
	if got := clickNote(t, tr, lead, forged, true); got != "That button is not one of mine." {
		t.Errorf("forged click: %q", got)
	}
	forged.Prompt = &botkit.Prompt{ID: "a" + strings.Repeat("0", 24)}
	if got := clickNote(t, tr, lead, forged, true); !strings.HasPrefix(got, "This request is no longer open") {
		t.Errorf("click on an unknown request: %q", got)
	}
	if n := f.runs.Load(); n != 2 {
		t.Errorf("the command ran %d times, want 2", n)
	}
	audit := strings.Join(auditLines(tr), "\n")
	for _, want := range []string{"<@U0TEST> ran `deploy api to prd` in <#C1>: awaiting_approval (allow",
		"refused (self_approval)", "refused (not_member)", "refused (decided)",
		"<@U0TEST> ran `deploy api to prd` in <#C1>: ok (allow", "approved by <@U0LEAD> ("} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit channel lacks %q:\n%s", want, audit)
		}
	}
}

func TestApprovalNeedsDistinctApprovers(t *testing.T) {
	var f deployFleet
	tr := f.approvalBot(t, t.TempDir(), prdRule(2))
	prompt := ask(t, tr, "9.2")
	if !strings.Contains(prompt.Text, "Needs 2 approvals from different people") {
		t.Errorf("request %q", prompt.Text)
	}
	if got := clickNote(t, tr, lead, prompt, true); got != "Your approval is recorded; it needs 1 more." {
		t.Errorf("first approval: %q", got)
	}
	if got := clickNote(t, tr, lead, prompt, true); got != "You approved this already; it needs 1 more, from someone else." {
		t.Errorf("the same approver again: %q", got)
	}
	if got := clickNote(t, tr, botkittest.User, prompt, true); !strings.HasPrefix(got, "You can't approve your own request") {
		t.Errorf("the requester: %q", got)
	}
	if n := f.runs.Load(); n != 0 {
		t.Fatalf("ran %d times with one approver", n)
	}
	tr.Click(t, lead2, prompt, true)
	waitFor(t, tr, "9.2", "run", hasText("deployed api image registry/api@sha256:0001"))
	waitFor(t, tr, "9.2", "closed request", hasText("→ approved by <@U0LEAD> ("))
	closed := waitFor(t, tr, "9.2", "closed request", hasText("→ approved by"))
	if !strings.Contains(closed.Text, "<@U0LEAD2>") {
		t.Errorf("closed request %q does not name both approvers", closed.Text)
	}
	if n := f.runs.Load(); n != 1 {
		t.Errorf("ran %d times, want 1", n)
	}
}

func TestApprovalRejectWithdrawExpire(t *testing.T) {
	var f deployFleet
	dir := t.TempDir()
	tr := f.approvalBot(t, dir, prdRule(1))

	rejected := ask(t, tr, "9.3")
	tr.Click(t, lead, rejected, false)
	waitFor(t, tr, "9.3", "rejection", hasText("→ rejected by <@U0LEAD> at "))

	withdrawn := ask(t, tr, "9.4")
	tr.Click(t, botkittest.User, withdrawn, false)
	waitFor(t, tr, "9.4", "withdrawal", hasText("→ withdrawn by <@U0TEST>."))
	if got := untimed(clickNote(t, tr, lead, withdrawn, true)); got != "This request was decided already: its requester <@U0TEST> withdrew it at T." {
		t.Errorf("approval after withdrawal: %q", got)
	}

	// Time passes: the record on disk says it expired.
	late := ask(t, tr, "9.5")
	backdate(t, dir, late.Prompt.ID)
	if got := clickNote(t, tr, lead, late, true); got != "This request expired without approval; run the command again to ask again." {
		t.Errorf("approval after timeout: %q", got)
	}
	waitFor(t, tr, "9.5", "expiry", hasText("→ rejected: not approved within 30m0s."))
	if n := f.runs.Load(); n != 0 {
		t.Errorf("ran %d times, want 0", n)
	}
	audit := strings.Join(auditLines(tr), "\n")
	for _, want := range []string{"refused (not_approved_rejected, 0s, ref", "rejected by <@U0LEAD> at", "withdrawn by <@U0TEST>", "refused (not_approved_expired", "refused (expired)"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit channel lacks %q:\n%s", want, audit)
		}
	}
}

// backdate moves the expiry of the stored record id into the past, as the
// clock would.
func backdate(t *testing.T, stateDir, id string) {
	t.Helper()
	path := filepath.Join(stateDir, botkit.InteractionsDir, id, "record.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	rec["expires"] = time.Now().Add(-time.Second).Format(time.RFC3339Nano)
	if data, err = json.Marshal(rec); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A restart between the request and the approval: the click reaches the
// new process, which runs exactly what was approved, once.
func TestApprovalSurvivesRestart(t *testing.T) {
	var f deployFleet
	dir := t.TempDir()
	before := f.approvalBot(t, dir, prdRule(1))
	prompt := ask(t, before, "9.6")
	before.Stop()
	for _, r := range before.Thread("9.6") {
		if r.Update {
			t.Fatalf("stopping closed the request (%q); it should wait for the next process", r.Text)
		}
	}
	after := f.approvalBot(t, dir, prdRule(1))
	if got := clickNote(t, after, botkittest.User, prompt, true); !strings.HasPrefix(got, "You can't approve your own request") {
		t.Errorf("self-approval after the restart: %q", got)
	}
	after.Click(t, lead, prompt, true)
	waitFor(t, after, "9.6", "run", hasText("deployed api image registry/api@sha256:0001 for U0TEST"))
	if got := untimed(clickNote(t, after, lead, prompt, true)); got != "This request was decided already: you approved it at T." {
		t.Errorf("second click: %q", got)
	}
	if n, r := f.runs.Load(), f.resolved.Load(); n != 1 || r != 1 {
		t.Errorf("ran %d times and resolved %d images, want 1 and 1", n, r)
	}
}

// A request whose time ran out while no process ran is closed by the next
// one to start.
func TestApprovalExpiredWhileDown(t *testing.T) {
	var f deployFleet
	dir := t.TempDir()
	before := f.approvalBot(t, dir, prdRule(1))
	prompt := ask(t, before, "9.7")
	before.Stop()
	backdate(t, dir, prompt.Prompt.ID)
	after := f.approvalBot(t, dir, prdRule(1))
	after.Start()
	waitFor(t, after, "9.7", "expiry", hasText("→ rejected: not approved within 30m0s."))
}

// Two processes share the state directory; both get the same click (as
// two replicas may, or one after a retry): one decides, and the command
// runs once.
func TestSharedStateDirDecidesOnce(t *testing.T) {
	for _, kind := range []string{"approval", "confirmation"} {
		t.Run(kind, func(t *testing.T) {
			var f deployFleet
			dir := t.TempDir()
			rule := prdRule(1)
			clicker := lead
			if kind == "confirmation" {
				rule = botkit.Rule{Command: "deploy", Args: map[string]string{"env": "prd"}, Groups: []string{"S0LEADS"}, Confirm: true}
				clicker = botkittest.User
			}
			a, b := f.approvalBot(t, dir, rule), f.approvalBot(t, dir, rule)
			b.Start()
			prompt := ask(t, a, "9.8")
			for round := range 5 {
				click := botkit.Event{ID: fmt.Sprintf("click-%d", round), User: clicker, Channel: "C1", ThreadTS: "9.8",
					Action: &botkit.Action{ActionID: botkit.ConfirmActionID + "_yes", Value: botkit.PromptValue(prompt.Prompt.ID, true), MessageTS: prompt.TS}}
				da, db := a.SendAsync(t, click), b.SendAsync(t, click)
				<-da
				<-db
			}
			deadline := time.Now().Add(10 * time.Second)
			for f.runs.Load() < 1 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond) // room for a second run, were there one
			if n := f.runs.Load(); n != 1 {
				t.Fatalf("the command ran %d times over two processes, want 1", n)
			}
			// Round 0's click decides, at one process or the other, or by
			// the sweep counting its vote: both its deliveries hear that
			// their click decided (an approval's winner says so too, so
			// it is the same whoever won). The other rounds' eight are
			// told the clicker decided it before, by another click.
			mine, before := "Your click decided this", "This request was decided already: you approved it at T."
			wantMine := 2
			if kind == "confirmation" {
				before = "This confirmation was answered already: you confirmed it at T."
				wantMine = 1 // a confirmation's winner runs it and says nothing
			}
			var gotMine, gotBefore int
			for _, r := range slices.Concat(a.Thread("9.8"), b.Thread("9.8")) {
				switch {
				case r.Ephemeral != clicker:
				case strings.HasPrefix(r.Text, mine):
					gotMine++
				case untimed(r.Text) == before:
					gotBefore++
				default:
					t.Errorf("the clicker was told %q", r.Text)
				}
			}
			if gotMine != wantMine || gotBefore != 8 {
				t.Errorf("%d deliveries were told their click decided (want %d), %d that the clicker had decided it before (want 8)",
					gotMine, wantMine, gotBefore)
			}
		})
	}
}

// A confirmation on the state directory outlives a restart too.
func TestConfirmSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	var runs atomic.Int32
	newBot := func() *botkittest.Transport {
		tr := confirmBotWith(t, []botkittest.Option{botkittest.WithRunOptions(botkit.WithStateDir(dir))})
		tr.Bot().Use(func(next botkit.Handler) botkit.Handler {
			return botkit.HandlerFunc(func(ctx context.Context, req *botkit.Request) error {
				runs.Add(1)
				return next.ServeCommand(ctx, req)
			})
		})
		return tr
	}
	before := newBot()
	before.Send(t, botkit.Event{User: botkittest.User, Channel: "C1", TS: "8.1", Text: "<@UBOT> deploy api to prd"})
	prompt := before.WaitPrompt(t)
	before.Stop()
	after := newBot()
	after.Click(t, botkittest.User, prompt, true)
	waitThread(t, after, "8.1", "Deploy *api* to *prd*?\n→ confirmed.", "deployed api by U0TEST")
	got := after.Click(t, botkittest.User, prompt, true)
	if last := untimed(got[len(got)-1].Text); last != "This confirmation was answered already: you confirmed it at T." {
		t.Errorf("second click: %q", last)
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("ran %d times, want 1", n)
	}
}

// Access is checked again when the decision is made: a rule that now
// asks for more approvers than the request had stops it.
func TestApprovalRechecksRule(t *testing.T) {
	var f deployFleet
	tr := f.approvalBot(t, "", prdRule(1))
	prompt := ask(t, tr, "9.9")
	if err := tr.Apply(botkit.Settings{Access: botkit.AccessConfig{Rules: []botkit.Rule{prdRule(2)}}}); err != nil {
		t.Fatal(err)
	}
	tr.Click(t, lead, prompt, true)
	waitFor(t, tr, "9.9", "refusal", hasText("Not run: access rule `deploy env=prd` now needs 2 approvals and this request had 1"))
	if n := f.runs.Load(); n != 0 {
		t.Errorf("ran %d times, want 0", n)
	}
}

// The approvers' channel gets the request too, and a click there decides.
func TestApprovalChannel(t *testing.T) {
	var f deployFleet
	tr := f.approvalBot(t, t.TempDir(), prdRule(1), func(s *botkit.Settings) { s.Access.ApprovalChannel = "C0APPROVERS" })
	prompt := ask(t, tr, "9.10")
	var there botkittest.Reply
	for _, r := range tr.Replies() {
		if r.Channel == "C0APPROVERS" && r.Prompt != nil {
			there = r
		}
	}
	if there.Prompt == nil || there.Text != prompt.Text || there.Prompt.ID != prompt.Prompt.ID {
		t.Fatalf("approvers' channel got %+v, want the request %q", there, prompt.Text)
	}
	tr.Click(t, lead, there, true)
	waitFor(t, tr, "9.10", "run", hasText("deployed api image"))
	edited := false
	for _, r := range tr.Replies() {
		if r.Update && r.Channel == "C0APPROVERS" && r.TS == there.TS && strings.Contains(r.Text, "→ approved by <@U0LEAD>") {
			edited = true
		}
	}
	if !edited {
		t.Errorf("the request in the approvers' channel was not closed: %q", botkittest.Texts(tr.Replies()))
	}
}

func TestApprovalRuleErrors(t *testing.T) {
	b := botkit.New("t")
	b.Command("deploy {app:name} to {env:name}", reply("ok"))
	b.Action("approve_btn", reply("ok"))
	cases := []struct {
		name string
		s    botkit.Settings
		want string
	}{
		{"group syntax", settingsWith(botkit.Approval{Groups: []string{"leads"}, Count: 1}), `key access.rules[0].approve.groups: "leads" is not a Slack user group ID (S…, as in <!subteam^S0123>)`},
		{"no groups", settingsWith(botkit.Approval{Count: 1}), "key access.rules[0].approve.groups: name at least one Slack user group"},
		{"count 0", settingsWith(botkit.Approval{Groups: []string{"S0LEADS"}}), "key access.rules[0].approve.count: 0 is out of range: how many different approvers it takes, from 1 to 10"},
		{"count 11", settingsWith(botkit.Approval{Groups: []string{"S0LEADS"}, Count: 11}), "key access.rules[0].approve.count: 11 is out of range"},
		{"timeout short", settingsWith(botkit.Approval{Groups: []string{"S0LEADS"}, Count: 1, Timeout: 10 * time.Second}), "key access.rules[0].approve.timeout: 10s is out of range: from 1m0s to 24h (default 30m)"},
		{"timeout long", settingsWith(botkit.Approval{Groups: []string{"S0LEADS"}, Count: 1, Timeout: 48 * time.Hour}), "key access.rules[0].approve.timeout: 48h0m0s is out of range"},
		{"on an action", botkit.Settings{Access: botkit.AccessConfig{Rules: []botkit.Rule{{Action: "approve_btn", Approve: &botkit.Approval{Groups: []string{"S0LEADS"}, Count: 1}}}}},
			"key access.rules[0].approve: only a rule on a command can ask for an approval"},
		{"approval channel", botkit.Settings{Access: botkit.AccessConfig{ApprovalChannel: "#approvers"}}, `key access.approval_channel: "#approvers" is not a Slack channel ID (C…)`},
	}
	for _, c := range cases {
		err := b.CheckSettings(c.s)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
	if err := b.CheckSettings(settingsWith(botkit.Approval{Groups: []string{"S0LEADS"}, Count: 2})); err != nil {
		t.Errorf("a good approval rule: %v", err)
	}
}

func settingsWith(a botkit.Approval) botkit.Settings {
	return botkit.Settings{Access: botkit.AccessConfig{Rules: []botkit.Rule{{Command: "deploy", Args: map[string]string{"env": "prd"}, Approve: &a}}}}
}

// When several rules admit the user, an approval that any of them asks for
// holds, whatever the rules' order: adding an approval leaves no way
// around it.
func TestApprovalStrictestRuleHolds(t *testing.T) {
	direct := botkit.Rule{Command: "deploy", Args: map[string]string{"env": "prd"}, Users: []string{botkittest.User}}
	for name, rules := range map[string][]botkit.Rule{
		"approval first": {prdRule(1), direct},
		"approval last":  {direct, prdRule(1)},
	} {
		t.Run(name, func(t *testing.T) {
			var f deployFleet
			tr := f.approvalBot(t, "", rules[0], func(s *botkit.Settings) { s.Access.Rules = rules })
			ask(t, tr, "9.11")
			if n := f.runs.Load(); n != 0 {
				t.Errorf("ran %d times without approval", n)
			}
		})
	}
}

// A request awaiting approval holds no worker: with one worker, other
// commands run while it waits.
func TestApprovalHoldsNoWorker(t *testing.T) {
	f := deployFleet{opts: []botkit.Option{botkit.WithMaxInFlight(1)}}
	tr := f.approvalBot(t, t.TempDir(), prdRule(1))
	ask(t, tr, "9.12")
	ask(t, tr, "9.13")
	if got := botkittest.Last(tr.Say(t, "deploy web to dev")); !strings.HasPrefix(got, "deployed web") {
		t.Errorf("a command while two approvals wait got %q", got)
	}
}

// Approvals whose votes are all in but undecided (their processes died
// between voting and deciding, or each missed the other's vote in a
// directory cache) are decided by the next look at the directory, and the
// command runs once.
func TestApprovalTalliedFromVotes(t *testing.T) {
	var f deployFleet
	dir := t.TempDir()
	before := f.approvalBot(t, dir, prdRule(2))
	prompt := ask(t, before, "9.14")
	before.Stop()
	for i, u := range []string{lead, lead2} {
		at := time.Now().Add(time.Duration(i-1) * time.Second) // lead2's vote makes the count
		v := fmt.Sprintf(`{"user":%q,"click":"click-of-%s","at":%q}`, u, u, at.Format(time.RFC3339Nano))
		if err := os.WriteFile(filepath.Join(dir, botkit.InteractionsDir, prompt.Prompt.ID, "vote."+u), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	after := f.approvalBot(t, dir, prdRule(2))
	after.Start()
	waitFor(t, after, "9.14", "run", hasText("deployed api image registry/api@sha256:0001"))
	if got := untimed(clickNote(t, after, lead, prompt, true)); got != "This request was decided already: <@U0LEAD2> approved it at T." {
		t.Errorf("a click after: %q", got)
	}
	// The click whose vote made the count, delivered again: the sweep
	// decided, but on its vote, and the verdict says so.
	again := after.Send(t, botkit.Event{ID: "click-of-" + lead2, User: lead2, Channel: "C1", ThreadTS: "9.14",
		Action: &botkit.Action{ActionID: botkit.ConfirmActionID + "_yes", Value: botkit.PromptValue(prompt.Prompt.ID, true), MessageTS: prompt.TS}})
	if got := untimed(botkittest.Last(again)); got != "Your click decided this already: you approved it at T." {
		t.Errorf("the deciding click again: %q", got)
	}
	if n := f.runs.Load(); n != 1 {
		t.Errorf("ran %d times, want 1", n)
	}
}

// Access is checked again when the decision is made, across a restart
// (which empties the cache of group members): an approver who has left the
// group no longer counts, so the request waits for another; a requester
// who has lost access is refused when the approval comes.
func TestApprovalRechecksMembersAtDecision(t *testing.T) {
	t.Run("approver left", func(t *testing.T) {
		var f deployFleet
		dir := t.TempDir()
		before := f.approvalBot(t, dir, prdRule(2))
		prompt := ask(t, before, "9.20")
		if got := clickNote(t, before, lead, prompt, true); got != "Your approval is recorded; it needs 1 more." {
			t.Fatalf("first approval: %q", got)
		}
		before.Stop()
		after := f.approvalBot(t, dir, prdRule(2))
		after.SetGroup("S0LEADS", lead2, "U0LEAD3", botkittest.User) // lead left
		if got := clickNote(t, after, lead2, prompt, true); got != "Your approval is recorded; it needs 1 more." {
			t.Errorf("an approval after the first approver left: %q", got)
		}
		if n := f.runs.Load(); n != 0 {
			t.Fatalf("ran %d times with one approver still in the group", n)
		}
		after.Click(t, "U0LEAD3", prompt, true)
		closed := waitFor(t, after, "9.20", "closed request", hasText("→ approved by"))
		if !strings.Contains(closed.Text, "<@U0LEAD2>") || !strings.Contains(closed.Text, "<@U0LEAD3>") || strings.Contains(closed.Text, "<@U0LEAD>") {
			t.Errorf("closed request %q, want approved by U0LEAD2 and U0LEAD3 only", closed.Text)
		}
		waitFor(t, after, "9.20", "run", hasText("deployed api image registry/api@sha256:0001"))
		if n := f.runs.Load(); n != 1 {
			t.Errorf("ran %d times, want 1", n)
		}
	})
	t.Run("requester lost access", func(t *testing.T) {
		var f deployFleet
		dir := t.TempDir()
		rule := prdRule(1)
		rule.Groups = []string{"S0DEPLOY"} // who may ask
		before := f.approvalBot(t, dir, rule)
		before.SetGroup("S0DEPLOY", botkittest.User)
		prompt := ask(t, before, "9.21")
		before.Stop()
		after := f.approvalBot(t, dir, rule)
		after.SetGroup("S0DEPLOY") // the requester left
		after.Click(t, lead, prompt, true)
		waitFor(t, after, "9.21", "refusal", hasText("You may not run this: access rule `deploy env=prd` does not include you."))
		if n := f.runs.Load(); n != 0 {
			t.Errorf("ran %d times, want 0", n)
		}
	})
}

// A rule may ask for a confirmation and an approval: the requester
// confirms first, then approvers approve what the requester confirmed,
// and it runs once.
func TestApprovalAfterConfirmation(t *testing.T) {
	var f deployFleet
	rule := prdRule(1)
	rule.Confirm = true
	tr := f.approvalBot(t, t.TempDir(), rule)
	confirm := ask(t, tr, "9.22")
	if confirm.Prompt.Yes != "Confirm" {
		t.Fatalf("first question %q with buttons %+v, want a confirmation", confirm.Text, confirm.Prompt)
	}
	if got := clickNote(t, tr, lead, confirm, true); got != "Only <@U0TEST> can answer this confirmation." {
		t.Errorf("an approver on the confirmation: %q", got)
	}
	tr.Click(t, botkittest.User, confirm, true)
	approval := waitFor(t, tr, "9.22", "approval request", func(r botkittest.Reply) bool { return r.Prompt != nil && r.Prompt.Yes == "Approve" })
	if !strings.Contains(approval.Text, "image: `registry/api@sha256:0001`") {
		t.Errorf("approval request %q does not show the image the requester confirmed", approval.Text)
	}
	if n := f.runs.Load(); n != 0 {
		t.Fatalf("ran %d times on the confirmation alone", n)
	}
	tr.Click(t, lead, approval, true)
	waitFor(t, tr, "9.22", "run", hasText("deployed api image registry/api@sha256:0001 for U0TEST"))
	if n, r := f.runs.Load(), f.resolved.Load(); n != 1 || r != 1 {
		t.Errorf("ran %d times and resolved %d images, want 1 and 1", n, r)
	}
}

// Every refused click is recorded: a log line with its reason, whether or
// not it names a request, and for a request's, a line in the audit
// channel.
func TestRefusedClicksRecorded(t *testing.T) {
	logs := &syncBuffer{}
	f := deployFleet{opts: []botkit.Option{botkit.WithLogger(slog.New(slog.NewJSONHandler(logs, nil)))}}
	dir := t.TempDir()
	tr := f.approvalBot(t, dir, prdRule(1))
	prompt := ask(t, tr, "9.23")
	forged := prompt
	forged.Prompt = &botkit.Prompt{ID: "../x"}
	unknown := prompt
	unknown.Prompt = &botkit.Prompt{ID: "a" + strings.Repeat("f", 24)}
	clickNote(t, tr, lead, forged, true)
	clickNote(t, tr, lead, unknown, true)
	clickNote(t, tr, botkittest.User, prompt, true)
	clickNote(t, tr, stranger, prompt, true)
	tr.Click(t, lead, prompt, true)
	waitFor(t, tr, "9.23", "run", hasText("deployed api"))
	clickNote(t, tr, lead2, prompt, true)
	late := ask(t, tr, "9.24")
	backdate(t, dir, late.Prompt.ID)
	clickNote(t, tr, lead, late, true)

	var got []string
	for line := range strings.Lines(logs.String()) {
		var rec struct {
			Msg, Reason, Clicker, Interaction string
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "click refused" {
			got = append(got, rec.Reason+" "+rec.Clicker+" "+map[bool]string{true: "request", false: "-"}[rec.Interaction != ""])
		}
	}
	want := []string{"forged U0LEAD -", "unknown U0LEAD -", "self_approval U0TEST request", "not_member U0MALLORY request",
		"decided U0LEAD2 request", "expired U0LEAD request"}
	if !slices.Equal(got, want) {
		t.Errorf("refused clicks logged:\n%q\nwant\n%q", got, want)
	}
	audit := strings.Join(auditLines(tr), "\n")
	for _, reason := range []string{"self_approval", "not_member", "decided", "expired"} {
		if !strings.Contains(audit, "): refused ("+reason+")") {
			t.Errorf("audit channel lacks the %s refusal:\n%s", reason, audit)
		}
	}
}
