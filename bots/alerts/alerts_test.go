package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/botfleet/botfleet/bots/alerts/internal/am"
	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/botkittest"
	"github.com/botfleet/botfleet/pkg/config"
	"github.com/botfleet/botfleet/pkg/golden"
)

// testConfig routes payments' critical alerts to C0PAY, the rest to
// C0ALERTS, and lets only U0OWNER silence critical alerts.
func testConfig(amURL string) Config {
	var c Config
	c.SetDefaults()
	c.Alertmanager.URL = amURL
	c.Channel = "C0ALERTS"
	c.Routes = []Route{{Match: map[string]string{"team": "payments", "severity": "critical"}, Channel: "C0PAY"}}
	c.SilenceRules = []SilenceRule{{Name: "critical is the owners'", Match: map[string]string{"severity": "critical"}, Users: []string{"U0OWNER"}, Groups: []string{"S0PAYTEAM"}}}
	c.Slack.PostInterval = 10 * time.Millisecond
	c.Slack.UpdatesPerMinute = 6000
	return c
}

const testToken = "test-token"

func newBot(t *testing.T, cfg Config) *botkittest.Transport {
	t.Helper()
	tr := botkittest.New(t, botkittest.WithName("alerts"))
	env := botkit.Env{Name: "local", Getenv: func(k string) string {
		if k == TokenVar {
			return testToken
		}
		return ""
	}}
	if err := setup(t.Context(), tr.Bot(), botkit.NewLive(&cfg), env); err != nil {
		t.Fatal(err)
	}
	return tr
}

// alert is a firing alert of HighLatency on instance, or resolved.
func alert(instance, status string) am.Alert {
	a := am.Alert{Status: status, Fingerprint: "fp-" + instance,
		Labels:      map[string]string{"alertname": "HighLatency", "team": "payments", "severity": "critical", "instance": instance},
		Annotations: map[string]string{"summary": "p99 over 2s on " + instance, "runbook_url": "https://runbooks.example/latency"},
		StartsAt:    time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)}
	if status == am.Resolved {
		a.EndsAt = a.StartsAt.Add(time.Hour)
	}
	return a
}

// refired is alert a firing again, an hour after it first fired.
func refired(instance string) am.Alert {
	a := alert(instance, am.Firing)
	a.StartsAt = a.StartsAt.Add(2 * time.Hour)
	return a
}

// notification is the version 4 payload of group key with alerts.
func notification(key string, alerts ...am.Alert) []byte {
	m := am.Message{Version: "4", GroupKey: key, Status: am.Resolved, Receiver: "alerts",
		GroupLabels:       map[string]string{"alertname": "HighLatency"},
		CommonLabels:      map[string]string{"alertname": "HighLatency", "team": "payments", "severity": "critical"},
		CommonAnnotations: map[string]string{"runbook_url": "https://runbooks.example/latency"},
		Alerts:            alerts}
	for _, a := range alerts {
		if a.Status == am.Firing {
			m.Status = am.Firing
		}
	}
	b, _ := json.Marshal(m)
	return b
}

func postHook(t *testing.T, url, token string, body []byte) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+WebhookPath, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitReplies waits until cond holds of what the bot posted.
func waitReplies(t *testing.T, tr *botkittest.Transport, what string, cond func([]botkittest.Reply) bool) []botkittest.Reply {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rs := tr.Replies()
		if cond(rs) {
			return rs
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, r := range rs {
				fmt.Fprintf(&b, "  %s ts=%s thread=%s update=%v: %s | %s\n", r.Channel, r.TS, r.ThreadTS, r.Update, r.Text, strings.Join(botkittest.BlockTexts(r.Blocks), " | "))
			}
			t.Fatalf("%s: not within 10s; replies:\n%s", what, b.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// messageOf returns the latest text (and blocks) Slack shows for the
// message ts, and the lines of its thread.
func messageOf(rs []botkittest.Reply, ts string) (string, []string) {
	var shown string
	var thread []string
	for _, r := range rs {
		switch {
		case r.TS == ts && r.ThreadTS == "":
			shown = r.Text + "\n" + strings.Join(botkittest.BlockTexts(r.Blocks), "\n") + "\n" + strings.Join(buttons(r.Blocks), "\n")
		case r.ThreadTS == ts:
			thread = append(thread, strings.Split(r.Text, "\n")...)
		}
	}
	return shown, thread
}

// buttons returns the buttons' texts and values of blocks.
func buttons(blocks []slack.Block) []string {
	var out []string
	for _, b := range blocks {
		if ab, ok := b.(*slack.ActionBlock); ok {
			for _, el := range ab.Elements.ElementSet {
				if btn, ok := el.(*slack.ButtonBlockElement); ok {
					out = append(out, btn.Text.Text+" "+btn.ActionID+" "+btn.Value)
				}
			}
		}
	}
	return out
}

func posts(rs []botkittest.Reply) []botkittest.Reply {
	var out []botkittest.Reply
	for _, r := range rs {
		if !r.Update && r.ThreadTS == "" && r.Ephemeral == "" {
			out = append(out, r)
		}
	}
	return out
}

func TestGroupMessageEditedInPlace(t *testing.T) {
	tr := newBot(t, testConfig("http://127.0.0.1:1"))
	url := tr.ServeHooks(t)
	const key = `{}/{severity="critical"}:{alertname="HighLatency"}`

	if code := postHook(t, url, testToken, notification(key, alert("a", am.Firing))); code != http.StatusAccepted {
		t.Fatalf("webhook: %d", code)
	}
	rs := waitReplies(t, tr, "the group's message", func(rs []botkittest.Reply) bool { return len(posts(rs)) == 1 })
	msg := posts(rs)[0]
	if msg.Channel != "C0PAY" {
		t.Errorf("routed to %s, want C0PAY (team=payments severity=critical)", msg.Channel)
	}
	shown, _ := messageOf(rs, msg.TS)
	for _, want := range []string{"FIRING", "HighLatency", "instance=a", "p99 over 2s on a", "https://runbooks.example/latency", "Acknowledge", "Silence 1h"} {
		if !strings.Contains(shown, want) {
			t.Errorf("first message lacks %q:\n%s", want, shown)
		}
	}

	steps := []struct {
		alerts      []am.Alert
		shows, hide []string
		thread      string
	}{
		{[]am.Alert{alert("a", am.Firing), alert("b", am.Firing)}, []string{"2 firing", "instance=b"}, nil, "🔥 firing: instance=b"},
		{[]am.Alert{alert("a", am.Resolved), alert("b", am.Firing)}, []string{"1 firing, 1 resolved"}, nil, "✅ resolved: instance=a"},
		{[]am.Alert{alert("a", am.Resolved), alert("b", am.Resolved)}, []string{"RESOLVED"}, []string{"Acknowledge", "FIRING"}, "✅ All alerts of the group resolved."},
		{[]am.Alert{refired("a"), alert("b", am.Resolved)}, []string{"FIRING", "1 firing, 1 resolved", "Acknowledge"}, []string{"RESOLVED"}, "🔁 firing again: instance=a"},
	}
	for i, st := range steps {
		body := notification(key, st.alerts...)
		postHook(t, url, testToken, body)
		postHook(t, url, testToken, body) // the HA pair's twin
		rs = waitReplies(t, tr, fmt.Sprintf("step %d", i), func(rs []botkittest.Reply) bool {
			shown, thread := messageOf(rs, msg.TS)
			for _, w := range st.shows {
				if !strings.Contains(shown, w) {
					return false
				}
			}
			return strings.Contains(strings.Join(thread, "\n"), st.thread)
		})
		shown, _ := messageOf(rs, msg.TS)
		for _, h := range st.hide {
			if strings.Contains(shown, h) {
				t.Errorf("step %d: message still shows %q:\n%s", i, h, shown)
			}
		}
	}
	if _, thread := messageOf(rs, msg.TS); !slices.Contains(thread, "🔥 The group fires again.") {
		t.Errorf("the thread does not tell the group fires again:\n%s", strings.Join(thread, "\n"))
	}
	time.Sleep(100 * time.Millisecond)
	rs = tr.Replies()
	if n := len(posts(rs)); n != 1 {
		t.Errorf("%d messages posted for one group, want 1", n)
	}
	updates := 0
	for _, r := range rs {
		if r.Update {
			updates++
		}
	}
	// Four changes, each notified twice: at most four edits.
	if updates > 4 {
		t.Errorf("%d edits for 4 changes notified twice each: the twins were not dropped", updates)
	}
	_, thread := messageOf(rs, msg.TS)
	if got := strings.Count(strings.Join(thread, "\n"), "firing: instance=b"); got != 1 {
		t.Errorf("the thread tells of b firing %d times, want once:\n%s", got, strings.Join(thread, "\n"))
	}
}

func TestRoutingAndBadPayloads(t *testing.T) {
	tr := newBot(t, testConfig("http://127.0.0.1:1"))
	url := tr.ServeHooks(t)
	other := alert("x", am.Firing)
	other.Labels = map[string]string{"alertname": "DiskFull", "team": "storage", "severity": "warning"}
	m := am.Message{Version: "4", GroupKey: "disk", Status: am.Firing, CommonLabels: other.Labels, GroupLabels: map[string]string{"alertname": "DiskFull"}, Alerts: []am.Alert{other}}
	b, _ := json.Marshal(m)
	for _, bad := range []string{`{"version":"3","groupKey":"k","status":"firing"}`, `{"version":"4","status":"firing"}`, `[1,2]`} {
		if code := postHook(t, url, testToken, []byte(bad)); code != http.StatusAccepted {
			t.Errorf("verified JSON %s: %d, want 202 (checked on the worker)", bad, code)
		}
	}
	if code := postHook(t, url, "wrong", b); code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d, want 401", code)
	}
	postHook(t, url, testToken, b)
	rs := waitReplies(t, tr, "DiskFull's message", func(rs []botkittest.Reply) bool { return len(posts(rs)) == 1 })
	if p := posts(rs)[0]; p.Channel != "C0ALERTS" || !strings.Contains(p.Text, "DiskFull") {
		t.Errorf("DiskFull went to %s (%q), want the default channel C0ALERTS", p.Channel, p.Text)
	}
}

func TestHelpGolden(t *testing.T) {
	tr := newBot(t, testConfig("http://127.0.0.1:1"))
	got := botkittest.Last(tr.Say(t, "help"))
	golden.Check(t, filepath.Join("testdata", "help.golden"), got)
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(c *Config)
		want   string
	}{
		{"defaults", func(*Config) {}, ""},
		{"bad url", func(c *Config) { c.Alertmanager.URL = "alertmanager:9093" }, "alertmanager.url"},
		{"no channel", func(c *Config) { c.Channel = "" }, "key channel"},
		{"route without labels", func(c *Config) { c.Routes = []Route{{Channel: "C1"}} }, "routes[0].match"},
		{"route without channel", func(c *Config) { c.Routes = []Route{{Match: map[string]string{"team": "x"}}} }, "routes[0].channel"},
		{"bad label", func(c *Config) { c.Routes = []Route{{Match: map[string]string{"Team-X": "x"}, Channel: "C1"}} }, "routes[0].match.Team-X"},
		{"bad user", func(c *Config) {
			c.SilenceRules = []SilenceRule{{Match: map[string]string{"severity": "critical"}, Users: []string{"alice"}}}
		}, "silence_rules[0].users"},
		{"bad group", func(c *Config) {
			c.SilenceRules = []SilenceRule{{Match: map[string]string{"severity": "critical"}, Groups: []string{"payments"}}}
		}, "silence_rules[0].groups"},
		{"no updates", func(c *Config) { c.Slack.UpdatesPerMinute = 0 }, "updates_per_minute"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			c.SetDefaults()
			tc.change(&c)
			err := c.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Validate = %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

// In dev and prd the webhook's token must come from the bot's Secret: the
// bot does not start (nor pass /readyz) without it, while its config can
// still be checked and installed.
func TestTokenRequiredOutsideLocal(t *testing.T) {
	var c Config
	c.SetDefaults()
	b := botkit.New("alerts")
	if err := setup(t.Context(), b, botkit.NewLive(&c), botkit.Env{Name: botkit.EnvPrd, Getenv: func(string) string { return "" }}); err != nil {
		t.Fatalf("setup in prd without %s = %v, want a requirement instead", TokenVar, err)
	}
	if err := b.CheckRequirements(t.Context()); err == nil || !strings.Contains(err.Error(), TokenVar) {
		t.Errorf("requirements in prd without %s = %v, want an error naming it", TokenVar, err)
	}
}

// TestBinaryPipe runs the bot's main and pipes a command into it, as
// `printf 'silences\n' | make run` does: with no Alertmanager, the user is
// told so.
func TestBinaryPipe(t *testing.T) {
	t.Parallel()
	cmd := botCmd(t, "BOT_HTTP_ADDR=127.0.0.1:0", "BOT_CFG_ALERTMANAGER_URL=http://127.0.0.1:1")
	cmd.Stdin = strings.NewReader("silences\n")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "Alertmanager is unavailable, so I cannot list the silences") {
		t.Errorf("stdout = %q", stdout.String())
	}
}

// TestSlackAppManifests: each environment's committed Slack app manifest
// is what the code registers; `go test -run TestSlackAppManifests -update`
// rewrites them.
func TestSlackAppManifests(t *testing.T) {
	botkittest.CheckSlackApps(t, []string{"dev", "prd"}, func(env string) *botkit.Bot {
		b := botkit.New("alerts")
		cfg := Config{}
		cfg.SetDefaults()
		if err := setup(t.Context(), b, botkit.NewLive(&cfg), botkit.Env{Name: env, Getenv: func(string) string { return "x" }}); err != nil {
			t.Fatal(err)
		}
		return b
	})
}

// The README's sample alert, sent to a bot run locally with its local
// token, becomes a message in the dev channel of config/local.yaml; and the
// README's local Alertmanager config is one Alertmanager takes.
func TestSampleAlert(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "sample-alert.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg Config
	cfg.SetDefaults()
	cfg.Routes = []Route{{Match: map[string]string{"env": "dev"}, Channel: "alerts-dev"}}
	tr := botkittest.New(t, botkittest.WithName("alerts"))
	if err := setup(t.Context(), tr.Bot(), botkit.NewLive(&cfg), botkit.Env{Name: botkit.EnvLocal}); err != nil {
		t.Fatal(err)
	}
	url := tr.ServeHooks(t)
	if code := postHook(t, url, localToken, body); code != http.StatusAccepted {
		t.Fatalf("sample alert: %d", code)
	}
	rs := waitReplies(t, tr, "the sample's message", func(rs []botkittest.Reply) bool { return len(posts(rs)) == 1 })
	if p := posts(rs)[0]; p.Channel != "alerts-dev" || !strings.Contains(p.Text, "HighLatency") {
		t.Errorf("sample alert posted %+v", p)
	}

	amtool, err := exec.LookPath("amtool")
	if err != nil {
		t.Fatal("no amtool on PATH: install prometheus-alertmanager")
	}
	if out, err := exec.Command(amtool, "check-config", filepath.Join("testdata", "alertmanager.local.yml")).CombinedOutput(); err != nil {
		t.Errorf("amtool check-config: %v\n%s", err, out)
	}
}

// The global receiver snippet shipped for the cluster's Alertmanager is
// valid Alertmanager config once merged under a root route, and points at
// the bot's webhook path.
func TestGlobalReceiverSnippet(t *testing.T) {
	snippet, err := os.ReadFile(filepath.Join("..", "..", "manifests", "addons", "monitoring", "alertmanager-receiver.example.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(snippet), WebhookPath) {
		t.Errorf("the snippet does not post to %s", WebhookPath)
	}
	merged := strings.Replace(string(snippet), "route:\n", "route:\n  receiver: default\n", 1) + "  - name: default\n"
	path := filepath.Join(t.TempDir(), "alertmanager.yml")
	if err := os.WriteFile(path, []byte(merged), 0o600); err != nil {
		t.Fatal(err)
	}
	amtool, err := exec.LookPath("amtool")
	if err != nil {
		t.Fatal("no amtool on PATH: install prometheus-alertmanager")
	}
	if out, err := exec.Command(amtool, "check-config", path).CombinedOutput(); err != nil {
		t.Errorf("amtool check-config of the snippet under a root route: %v\n%s", err, out)
	}
}

// A restarted bot edits the message it posted before the restart, from its
// state dir, instead of posting a second one; a corrupt state file stops
// it with an error naming the file.
func TestGroupsSurviveRestart(t *testing.T) {
	cfg := testConfig("http://127.0.0.1:1")
	stateDir := t.TempDir()
	const key = "restart-group"

	ctx, cancel := context.WithCancel(t.Context())
	first := botkittest.New(t, botkittest.WithName("alerts"))
	env := botkit.Env{Name: "local", Getenv: func(string) string { return testToken }, StateDir: stateDir}
	firstBoard, err := setupBoard(ctx, first.Bot(), botkit.NewLive(&cfg), env)
	if err != nil {
		t.Fatal(err)
	}
	postHook(t, first.ServeHooks(t), testToken, notification(key, alert("a", am.Firing)))
	msg := posts(waitReplies(t, first, "the first bot's message", func(rs []botkittest.Reply) bool { return len(posts(rs)) == 1 }))[0]
	cancel() // the bot stops: the board saves
	first.Stop()
	<-firstBoard.stopped
	path := filepath.Join(stateDir, stateSubdir, groupsDir, groupID(key)+".json")
	waitFor := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), msg.TS) {
			break
		}
		if time.Now().After(waitFor) {
			t.Fatalf("the state file does not hold the message's ts %s: %s", msg.TS, b)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The second board stops, its last save done, before the state dir
	// is removed (cleanups run last registered first).
	ctx2, cancel2 := context.WithCancel(t.Context())
	second := botkittest.New(t, botkittest.WithName("alerts"))
	secondBoard, err := setupBoard(ctx2, second.Bot(), botkit.NewLive(&cfg), env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel2(); <-secondBoard.stopped })
	postHook(t, second.ServeHooks(t), testToken, notification(key, alert("a", am.Firing), alert("b", am.Firing)))
	rs := waitReplies(t, second, "the edit after the restart", func(rs []botkittest.Reply) bool {
		for _, r := range rs {
			if r.Update && r.TS == msg.TS && strings.Contains(r.Text, "2 firing") {
				return true
			}
		}
		return false
	})
	if p := posts(rs); len(p) != 0 {
		t.Errorf("the restarted bot posted %d new messages for a group it knew", len(p))
	}

	// The second board stops first: running, it may save the group again
	// and mend the file.
	cancel2()
	second.Stop()
	<-secondBoard.stopped
	if err := os.WriteFile(path, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = setup(t.Context(), botkit.New("alerts"), botkit.NewLive(&cfg), env)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("setup with a corrupt state file = %v, want an error naming it", err)
	}
}

// The old key state_dir is refused, naming BOT_STATE_DIR; the groups it
// kept at the top of the state directory move into the bot's own
// directory there, once, and are read back.
func TestOldStateDir(t *testing.T) {
	var c Config
	_, err := config.Load(&c, config.Options{Content: []byte("state_dir: /efs/state/alerts\n")})
	if err == nil || !strings.Contains(err.Error(), "key state_dir: no longer a config key: the groups are kept in $BOT_STATE_DIR/alerts: set BOT_STATE_DIR") {
		t.Errorf("a config with state_dir: %v", err)
	}

	stateDir := t.TempDir()
	old := filepath.Join(stateDir, groupsDir, groupID("old-group")+".json")
	if err := os.MkdirAll(filepath.Dir(old), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(old, []byte(`{"key":"old-group"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(stateDir, stateSubdir)
	for range 2 { // the second finds it done
		if err := moveOldLayout(stateDir, dir); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, groupsDir, groupID("old-group")+".json")); err != nil {
		t.Errorf("the old group was not moved: %v", err)
	}
	if _, err := os.Stat(filepath.Join(stateDir, groupsDir)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the old groups directory is still there: %v", err)
	}
}
