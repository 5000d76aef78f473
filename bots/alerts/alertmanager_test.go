package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/botfleet/botfleet/bots/alerts/internal/am"
	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/botkittest"
)

// alertmanagerBinary finds a real Alertmanager: Debian's package names it
// prometheus-alertmanager, upstream's build alertmanager.
func alertmanagerBinary(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"alertmanager", "prometheus-alertmanager"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Alertmanager on PATH: install it with `apt-get install -y prometheus-alertmanager` (make test does, through .ci/need)")
	return ""
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// alertmanager is a real Alertmanager on loopback whose webhook receiver
// posts to hookURL with the bot's bearer token, grouping by alertname.
type alertmanager struct {
	url string
	cmd *exec.Cmd
}

func startAlertmanager(t *testing.T, addr, hookURL string) *alertmanager {
	t.Helper()
	bin := alertmanagerBinary(t)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`route:
  receiver: bot
  group_by: [alertname]
  group_wait: 500ms
  group_interval: 1s
  repeat_interval: 1h
receivers:
- name: bot
  webhook_configs:
  - url: %s%s
    send_resolved: true
    http_config:
      authorization:
        credentials: %s
`, hookURL, WebhookPath, testToken)
	if err := os.WriteFile(filepath.Join(dir, "alertmanager.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "alertmanager.yml"), "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=", "--log.level=warn")
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	a := &alertmanager{url: "http://" + addr, cmd: cmd}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(a.url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return a
			}
		}
		select {
		case <-exited:
			t.Fatalf("alertmanager exited:\n%s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("alertmanager not ready within 15s:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func latency(instance string, endsAt time.Time) am.PostableAlert {
	return am.PostableAlert{
		Labels:      map[string]string{"alertname": "HighLatency", "team": "payments", "severity": "critical", "instance": instance},
		Annotations: map[string]string{"summary": "p99 over 2s on " + instance, "runbook_url": "https://runbooks.example/latency"},
		EndsAt:      endsAt,
	}
}

// TestRealAlertmanager: alerts pushed to a real Alertmanager are grouped by
// it and delivered to the bot's webhook, which posts one message for the
// group; a click on Silence makes a silence Alertmanager lists, with the
// Slack user as its author; only the owners may silence critical alerts;
// the commands list and expire silences; the resolved group says so; and
// with Alertmanager down the clicking user is told.
func TestRealAlertmanager(t *testing.T) {
	t.Parallel()
	amAddr := freeAddr(t)
	tr := newBot(t, testConfig("http://"+amAddr))
	tr.SetGroup("S0PAYTEAM", "U0TEAM")
	hookURL := tr.ServeHooks(t)
	amp := startAlertmanager(t, amAddr, hookURL)
	client, err := am.NewClient(amp.url)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	if err := client.PushAlerts(ctx, []am.PostableAlert{latency("a", time.Time{}), latency("b", time.Time{})}); err != nil {
		t.Fatal(err)
	}
	rs := waitReplies(t, tr, "the group's message from Alertmanager", func(rs []botkittest.Reply) bool {
		p := posts(rs)
		if len(p) == 0 {
			return false
		}
		shown, _ := messageOf(rs, p[0].TS)
		return strings.Contains(shown, "2 firing")
	})
	msg := posts(rs)[0]
	if msg.Channel != "C0PAY" || len(posts(rs)) != 1 {
		t.Fatalf("posts = %+v, want one message in C0PAY", posts(rs))
	}
	var silenceValue string
	for _, b := range buttons(msg.Blocks) {
		if f := strings.Fields(b); len(f) == 4 && f[2] == actionSilence+"_1h" {
			silenceValue = f[3]
		}
	}
	if silenceValue == "" {
		t.Fatalf("no Silence 1h button: %q", buttons(msg.Blocks))
	}

	// Someone outside the owning team may not silence a critical alert.
	got := tr.Act(t, "U0OTHER", "C0PAY", botkit.Action{ActionID: actionSilence + "_1h", Value: silenceValue, MessageTS: msg.TS})
	if len(got) != 1 || got[0].Ephemeral != "U0OTHER" || !strings.Contains(got[0].Text, "You may not silence") {
		t.Errorf("a stranger's click: %+v", got)
	}
	if ss, _ := client.Silences(ctx); len(ss) != 0 {
		t.Fatalf("a denied click made a silence: %+v", ss)
	}

	// The owner's click makes a silence, authored by them.
	tr.Act(t, "U0OWNER", "C0PAY", botkit.Action{ActionID: actionSilence + "_1h", Value: silenceValue, MessageTS: msg.TS})
	ss, err := client.Silences(ctx)
	if err != nil || len(ss) != 1 {
		t.Fatalf("silences after the click: %+v, %v", ss, err)
	}
	s := ss[0]
	if s.CreatedBy != "U0OWNER" || s.State() != "active" || !slices.ContainsFunc(s.Matchers, func(m am.Matcher) bool {
		return m.Name == "alertname" && m.Value == "HighLatency" && m.IsEqual && !m.IsRegex
	}) {
		t.Errorf("silence = %+v", s)
	}
	if d := s.EndsAt.Sub(s.StartsAt); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("silence lasts %s, want 1h", d)
	}
	waitReplies(t, tr, "the message showing the silence", func(rs []botkittest.Reply) bool {
		shown, _ := messageOf(rs, msg.TS)
		return strings.Contains(shown, "Silenced by <@U0OWNER>") && strings.Contains(shown, s.ID)
	})

	// The commands list and expire it.
	if got := botkittest.Last(tr.SayAs(t, "U0OWNER", "silences")); !strings.Contains(got, s.ID) || !strings.Contains(got, "<@U0OWNER>") {
		t.Errorf("silences = %q", got)
	}
	if got := botkittest.Last(tr.SayAs(t, "U0OTHER", "expire "+s.ID)); !strings.Contains(got, "You may not silence") {
		t.Errorf("a stranger's expire = %q", got)
	}
	if got := botkittest.Last(tr.SayAs(t, "U0OWNER", "expire "+s.ID)); !strings.Contains(got, "expired") {
		t.Errorf("expire = %q", got)
	}
	waitReplies(t, tr, "the message without the expired silence", func(rs []botkittest.Reply) bool {
		shown, _ := messageOf(rs, msg.TS)
		return !strings.Contains(shown, "Silenced by")
	})
	if got := botkittest.Last(tr.SayAs(t, "U0OWNER", "silences")); got != "No active silences." {
		t.Errorf("silences after expire = %q", got)
	}
	if got := botkittest.Last(tr.SayAs(t, "U0OWNER", "silence alertname=DiskFull env=dev for 2h disk swap")); !strings.Contains(got, "Silenced until") {
		t.Errorf("silence command = %q", got)
	}
	// A member of the rule's user group may silence critical alerts too.
	if got := botkittest.Last(tr.SayAs(t, "U0TEAM", "silence alertname=Other severity=critical for 1h")); !strings.Contains(got, "Silenced until") {
		t.Errorf("a group member's silence = %q", got)
	}
	if got := botkittest.Last(tr.SayAs(t, "U0OTHER", "silence alertname=Other severity=critical for 1h")); !strings.Contains(got, "You may not silence") {
		t.Errorf("a stranger's silence = %q", got)
	}
	if got := botkittest.Last(tr.Say(t, "alerts")); !strings.Contains(got, "2 alerts firing") || !strings.Contains(got, "instance=a") {
		t.Errorf("alerts = %q", got)
	}

	// Acknowledge shows who is on it.
	groupID := strings.TrimSuffix(silenceValue, "/1h")
	tr.Act(t, "U0OWNER", "C0PAY", botkit.Action{ActionID: actionAck, Value: groupID, MessageTS: msg.TS})
	waitReplies(t, tr, "the acknowledged message", func(rs []botkittest.Reply) bool {
		shown, _ := messageOf(rs, msg.TS)
		return strings.Contains(shown, "Acknowledged by <@U0OWNER>") && !strings.Contains(shown, "Acknowledge "+actionAck)
	})

	// Silence… opens a modal; a bad duration keeps it open, a good one
	// makes the silence with its comment.
	tr.Act(t, "U0OWNER", "C0PAY", botkit.Action{ActionID: actionSilenceC, Value: groupID, MessageTS: msg.TS})
	views := tr.Views()
	if len(views) != 1 || views[0].Modal.CallbackID != viewSilence || views[0].Modal.PrivateMetadata != groupID {
		t.Fatalf("views = %+v", views)
	}
	form := func(d, comment string) botkit.Submission {
		return botkit.Submission{CallbackID: viewSilence, PrivateMetadata: groupID, Inputs: []string{blockDuration, blockComment},
			Values: map[string]map[string]botkit.FieldValue{blockDuration: {"value": {Value: d}}, blockComment: {"value": {Value: comment}}}}
	}
	if a, ok := tr.Submit(t, "U0OWNER", form("soon", "")).(botkit.ViewAnswer); !ok || a.Errors[blockDuration] == "" {
		t.Errorf("a bad duration: %+v", a)
	}
	if a := tr.Submit(t, "U0OWNER", form("90m", "rolling back")); a != nil {
		t.Errorf("a good form answered %+v, want it closed", a)
	}
	ss, _ = client.Silences(ctx)
	i := slices.IndexFunc(ss, func(s am.Silence) bool { return s.Comment == "rolling back" })
	if i < 0 || ss[i].State() != "active" || ss[i].CreatedBy != "U0OWNER" || ss[i].EndsAt.Sub(ss[i].StartsAt).Round(time.Minute) != 90*time.Minute {
		t.Fatalf("the form's silence: %+v", ss)
	}
	custom := ss[i].ID

	// Unsilence expires it.
	tr.Act(t, "U0OWNER", "C0PAY", botkit.Action{ActionID: actionUnsilence, Value: groupID, MessageTS: msg.TS})
	ss, _ = client.Silences(ctx)
	if i := slices.IndexFunc(ss, func(s am.Silence) bool { return s.ID == custom }); i < 0 || ss[i].State() != "expired" {
		t.Errorf("after Unsilence: %+v", ss)
	}
	waitReplies(t, tr, "the unsilenced message", func(rs []botkittest.Reply) bool {
		shown, thread := messageOf(rs, msg.TS)
		return !strings.Contains(shown, "Silenced by") && slices.Contains(thread, "🔔 Unsilenced by <@U0OWNER>")
	})

	// Resolved through Alertmanager: the message says so. The end is now,
	// as Prometheus resolves: an end before the alert's start would be
	// another, older alert (am.Order).
	if err := client.PushAlerts(ctx, []am.PostableAlert{latency("a", time.Now()), latency("b", time.Now())}); err != nil {
		t.Fatal(err)
	}
	waitReplies(t, tr, "the resolved group", func(rs []botkittest.Reply) bool {
		shown, thread := messageOf(rs, msg.TS)
		return strings.Contains(shown, "RESOLVED") && slices.Contains(thread, "✅ All alerts of the group resolved.")
	})
	if n := len(posts(tr.Replies())); n != 1 {
		t.Errorf("%d messages for one group, want 1", n)
	}

	// Alertmanager down: the clicking user is told, nothing is pretended.
	amp.cmd.Process.Kill()
	got = tr.Act(t, "U0OWNER", "C0PAY", botkit.Action{ActionID: actionSilence + "_4h", Value: strings.Replace(silenceValue, "/1h", "/4h", 1), MessageTS: msg.TS})
	if len(got) != 1 || got[0].Ephemeral != "U0OWNER" || !strings.Contains(got[0].Text, "Alertmanager is unavailable") {
		t.Errorf("a click with Alertmanager down: %+v", got)
	}
}

// recorder is a webhook receiver that keeps what a real Alertmanager
// sends, so that a test can deliver it to the bot in another order.
type recorder struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil || r.Header.Get("Authorization") != "Bearer "+testToken {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.bodies = append(rc.bodies, body)
	rc.mu.Unlock()
}

// wait returns the first notification recorded that cond holds of.
func (rc *recorder) wait(t *testing.T, what string, cond func(*am.Message) bool) []byte {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		rc.mu.Lock()
		bodies := slices.Clone(rc.bodies)
		rc.mu.Unlock()
		for _, b := range bodies {
			if m, err := am.ParseMessage(b); err == nil && cond(m) {
				return b
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("Alertmanager sent no notification with %s within 15s", what)
	return nil
}

// states is a notification's alerts as instance=status, sorted.
func states(m *am.Message) string {
	var out []string
	for _, a := range m.Alerts {
		out = append(out, a.Labels["instance"]+"="+a.Status)
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// A real Alertmanager's notifications delivered out of order: one that
// arrives after the group's resolution, but was made before it, leaves the
// message resolved; the alert firing again, which Alertmanager sends with a
// later startsAt, makes the group fire again.
func TestRealAlertmanagerLateNotification(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	amp := startAlertmanager(t, freeAddr(t), srv.URL)
	client, err := am.NewClient(amp.url)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	push := func(as ...am.PostableAlert) {
		t.Helper()
		if err := client.PushAlerts(ctx, as); err != nil {
			t.Fatal(err)
		}
	}
	is := func(want string) func(*am.Message) bool {
		return func(m *am.Message) bool { return states(m) == want }
	}
	push(latency("a", time.Time{}))
	n1 := rec.wait(t, "a firing", is("a=firing"))
	push(latency("b", time.Time{}))
	n2 := rec.wait(t, "a and b firing", is("a=firing b=firing"))
	// Resolved now, as Prometheus resolves: after both started.
	push(latency("a", time.Now()), latency("b", time.Now()))
	n3 := rec.wait(t, "a and b resolved", is("a=resolved b=resolved"))
	m3, _ := am.ParseMessage(n3)
	push(latency("a", time.Time{}))
	n4 := rec.wait(t, "a firing again", func(m *am.Message) bool {
		return slices.ContainsFunc(m.Alerts, func(a am.Alert) bool {
			return a.Labels["instance"] == "a" && a.Status == am.Firing && a.StartsAt.After(m3.Alerts[0].StartsAt)
		})
	})

	cfg := testConfig("http://127.0.0.1:1")
	tr := botkittest.New(t, botkittest.WithName("alerts"))
	env := botkit.Env{Name: "local", Getenv: func(string) string { return testToken }}
	bd, err := setupBoard(t.Context(), tr.Bot(), botkit.NewLive(&cfg), env)
	if err != nil {
		t.Fatal(err)
	}
	url := tr.ServeHooks(t)
	shows := func(what, want string) string {
		t.Helper()
		rs := waitReplies(t, tr, what, func(rs []botkittest.Reply) bool {
			p := posts(rs)
			if len(p) == 0 {
				return false
			}
			shown, _ := messageOf(rs, p[0].TS)
			return strings.Contains(shown, want)
		})
		return posts(rs)[0].TS
	}
	postHook(t, url, testToken, n1)
	shows("the group firing", "1 firing")
	postHook(t, url, testToken, n3)
	ts := shows("the group resolved", "RESOLVED")
	postHook(t, url, testToken, n2) // made before n3, delivered after it
	deadline := time.Now().Add(10 * time.Second)
	for bd.stale.Load() != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := bd.stale.Load(); n != 1 {
		t.Fatalf("%d notifications found late, want 1 (a and b firing, after their resolution)", n)
	}
	waitReplies(t, tr, "the message settled", func([]botkittest.Reply) bool { return bd.settled() })
	shown, thread := messageOf(tr.Replies(), ts)
	if !strings.Contains(shown, "RESOLVED") || slices.Contains(thread, "🔥 The group fires again.") {
		t.Fatalf("the late notification brought the group back:\n%s\nthread:\n%s", shown, strings.Join(thread, "\n"))
	}
	postHook(t, url, testToken, n4)
	waitReplies(t, tr, "the group firing again", func(rs []botkittest.Reply) bool {
		shown, thread := messageOf(rs, ts)
		return strings.Contains(shown, "1 firing") && slices.Contains(thread, "🔥 The group fires again.")
	})
}
