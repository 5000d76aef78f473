package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/botfleet/botfleet/bots/alerts/internal/am"
	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
)

// runBot, set to 1 in the environment of a process the tests start, makes
// this test binary run the bot's main instead of its tests. The end-to-end
// tests run the bot that way: one build for the tests and the bot (with
// the race detector when the tests have it), no second build and link.
const runBot = "BOTFLEET_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runBot) == "1" {
		main()
		return
	}
	flag.Parse()
	os.Exit(m.Run())
}

// botCmd returns a command that runs alerts's main, as its binary does,
// with env added to the test's environment.
func botCmd(t *testing.T, env ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	// With the race detector, a process sleeps a second before it exits,
	// for late reports; each stop of the bot would wait for it.
	race := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(os.Environ(), append([]string{runBot + "=1", "GORACE=" + race}, env...)...)
	return cmd
}

// process is alerts running as in a pod.
type process struct {
	cmd    *exec.Cmd
	exited chan error
	mu     sync.Mutex
	stderr bytes.Buffer
}

func (p *process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.Write(b)
}

// Log returns what the bot logged so far.
func (p *process) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// start runs alerts against the fake with the given Slack variables.
func start(t *testing.T, slack *slacktest.Server, vars ...string) *process {
	t.Helper()
	p := &process{exited: make(chan error, 1)}
	p.cmd = botCmd(t, append([]string{"SLACK_BOT_TOKEN=" + slacktest.BotToken, "SLACK_API_URL=" + slack.APIURL(),
		"BOT_HTTP_ADDR=127.0.0.1:0", "BOT_ENV=dev", "BOT_CONFIG=config/local.yaml", "BOT_CONFIG_POLL=0",
		"BOT_STATE_DIR=" + t.TempDir(), // never the machine's /efs/state/<bot>,
		TokenVar + "=" + testToken, "BOT_CFG_ALERTMANAGER_URL=http://127.0.0.1:1"}, vars...)...)
	p.cmd.Stderr = p
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() { p.cmd.Process.Kill() })
	return p
}

// stop sends SIGTERM and checks that the bot exits 0 without logging a token.
func (p *process) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.wait(t)
}

func (p *process) wait(t *testing.T) {
	t.Helper()
	select {
	case err := <-p.exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, p.Log())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("alerts did not exit within 20s of SIGTERM")
	}
	log := p.Log()
	for _, secret := range []string{slacktest.BotToken, slacktest.AppToken, slacktest.SigningSecret, testToken} {
		if strings.Contains(log, secret) {
			t.Errorf("a secret was logged: %s", secret)
		}
	}
	if !strings.Contains(log, `"msg":"bot stopped"`) {
		t.Errorf("log lacks the stop line:\n%s", log)
	}
}

// TestSocketModeEndToEnd runs alerts against the fake Slack over Socket

// addr returns the bot's HTTP address, from its log.
func (p *process) addr(t *testing.T) string {
	t.Helper()
	re := regexp.MustCompile(`"msg":"http server listening".*"addr":"([^"]+)"`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := re.FindStringSubmatch(p.Log()); m != nil {
			return "http://" + m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no listening address logged:\n%s", p.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSocketModeEndToEnd runs alerts as in a pod, over Socket Mode against
// the fake Slack: Alertmanager's notification at its webhook becomes one
// message in the routed channel; a command that needs Alertmanager, which
// is down, tells the user so; SIGTERM stops it cleanly, no secret logged.
func TestSocketModeEndToEnd(t *testing.T) {
	t.Parallel()
	slack := slacktest.New(t, slacktest.WithRateLimits())
	p := start(t, slack, "SLACK_APP_TOKEN="+slacktest.AppToken)
	slack.WaitConnected(t)
	url := p.addr(t)

	if code := postHook(t, url, "wrong", notification("g1", alert("a", am.Firing))); code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d, want 401", code)
	}
	if code := postHook(t, url, testToken, notification("g1", alert("a", am.Firing))); code != http.StatusAccepted {
		t.Fatalf("webhook: %d, want 202", code)
	}
	msgs := slack.WaitMessages(t, 1)
	if m := msgs[0]; m.Method != "chat.postMessage" || m.Channel != "alerts" || !strings.Contains(m.Blocks, "HighLatency") || !strings.Contains(m.Blocks, "alerts_silence_1h") {
		t.Errorf("message = %+v", m)
	}
	// Slack failing a post or an edit loses nothing: the board retries
	// the group until Slack shows its last state.
	slack.Fail("chat.update", 2, "internal_error")
	slack.Fail("chat.postMessage", 1, "internal_error")
	postHook(t, url, testToken, notification("g1", alert("a", am.Firing), alert("b", am.Firing)))
	postHook(t, url, testToken, notification("g2", alert("c", am.Firing)))
	slack.WaitFor(t, 20*time.Second, func() bool {
		var g1, g2 bool
		for _, m := range slack.Messages() {
			g1 = g1 || m.Method == "chat.update" && m.TS == msgs[0].TS && strings.Contains(m.Blocks, "2 firing")
			g2 = g2 || m.Method == "chat.postMessage" && m.ThreadTS == "" && m.TS != msgs[0].TS
		}
		return g1 && g2
	})
	if !strings.Contains(p.Log(), "will retry") {
		t.Error("the failed calls were not logged")
	}
	// A message deleted in Slack is posted anew at the group's next change.
	slack.Fail("chat.update", 1, "message_not_found")
	postHook(t, url, testToken, notification("g1", alert("a", am.Firing), alert("b", am.Resolved)))
	slack.WaitFor(t, 20*time.Second, func() bool {
		for _, m := range slack.Messages() {
			if m.Method == "chat.postMessage" && m.ThreadTS == "" && m.TS != msgs[0].TS && strings.Contains(m.Blocks, "1 firing, 1 resolved") {
				return true
			}
		}
		return false
	})

	_, env := slack.Mention("U1", "C1", "silences")
	slack.WaitAck(t, env)
	slack.WaitFor(t, 10*time.Second, func() bool {
		for _, m := range slack.Messages() {
			if m.Channel == "C1" && strings.Contains(m.Text, "Alertmanager is unavailable, so I cannot list the silences") {
				return true
			}
		}
		return false
	})
	p.stop(t)
}

var storm = flag.Bool("storm", false, "TestStorm pushes 5,000 alerts in 60 s across 50 groups (the README's figures); without it, 500 in 6 s across 10")

// TestStorm pushes a storm of notifications straight at the bot's webhook,
// as Alertmanager would without its group_interval, while the fake Slack
// enforces Slack's limits (chat.postMessage about 1/s per channel, chat.update
// 50 a minute for the app). Every group must get one message, and every
// message must end showing its group's last state. go test -run TestStorm
// -storm -v prints the figures in the README.
func TestStorm(t *testing.T) {
	t.Parallel()
	groups, perGroup, over := 10, 50, 6*time.Second
	if *storm {
		groups, perGroup, over = 50, 100, 60*time.Second
	}
	const teams = 5
	slack := slacktest.New(t, slacktest.WithRateLimits())
	// Each team's groups go to its own channel.
	cfg := "channel: C0ALERTS\nroutes:\n"
	for i := range teams {
		cfg += fmt.Sprintf("- {match: {team: team%d}, channel: C0TEAM%d}\n", i, i)
	}
	cfgPath := filepath.Join(t.TempDir(), "storm.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// With a state dir, as in a pod: each notification is written to its
	// group's file under its lock.
	p := start(t, slack, "SLACK_APP_TOKEN="+slacktest.AppToken, "BOT_CONFIG="+cfgPath, "BOT_STATE_DIR="+t.TempDir())
	slack.WaitConnected(t)
	url := p.addr(t)

	stormAlert := func(g, i int, status string) am.Alert {
		a := am.Alert{Status: status, Fingerprint: fmt.Sprintf("g%d-a%d", g, i),
			Labels:      map[string]string{"alertname": fmt.Sprintf("Storm%d", g), "team": fmt.Sprintf("team%d", g%teams), "instance": fmt.Sprintf("host-%d", i)},
			Annotations: map[string]string{"summary": "storm"}, StartsAt: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)}
		if status == am.Resolved {
			a.EndsAt = a.StartsAt.Add(time.Minute)
		}
		return a
	}
	payload := func(g int, alerts []am.Alert) []byte {
		m := am.Message{Version: "4", GroupKey: fmt.Sprintf("storm-%d", g), Status: am.Firing,
			GroupLabels:  map[string]string{"alertname": fmt.Sprintf("Storm%d", g)},
			CommonLabels: map[string]string{"alertname": fmt.Sprintf("Storm%d", g), "team": fmt.Sprintf("team%d", g%teams)}, Alerts: alerts}
		b, _ := json.Marshal(m)
		return b
	}
	began := time.Now()
	// Watch for the moment every group has its message.
	allPosted := make(chan time.Duration, 1)
	go func() {
		for time.Since(began) < 10*time.Minute {
			ts := map[string]bool{}
			for _, m := range slack.Messages() {
				if m.Method == "chat.postMessage" && m.ThreadTS == "" {
					ts[m.TS] = true
				}
			}
			if len(ts) >= groups {
				allPosted <- time.Since(began)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	total := groups * perGroup
	interval := over / time.Duration(total)
	client := &http.Client{Timeout: 10 * time.Second}
	send := func(body []byte) {
		req, _ := http.NewRequest(http.MethodPost, url+WebhookPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("webhook answered %d during the storm", resp.StatusCode)
		}
	}
	// Alert i of every group joins at step i: each notification carries its
	// group's alerts so far, as Alertmanager's do.
	n := 0
	for i := range perGroup {
		for g := range groups {
			var as []am.Alert
			for j := 0; j <= i; j++ {
				as = append(as, stormAlert(g, j, am.Firing))
			}
			send(payload(g, as))
			n++
			if d := time.Until(began.Add(time.Duration(n) * interval)); d > 0 {
				time.Sleep(d)
			}
		}
	}
	// Last, a tenth of each group resolves.
	resolved := perGroup / 10
	for g := range groups {
		var as []am.Alert
		for j := range perGroup {
			st := am.Firing
			if j < resolved {
				st = am.Resolved
			}
			as = append(as, stormAlert(g, j, st))
		}
		send(payload(g, as))
	}
	pushed := time.Since(began)
	want := fmt.Sprintf("%d firing, %d resolved", perGroup-resolved, resolved)

	// Converged: every group has one message, showing its last state.
	final := func() (posted, right int) {
		shown := map[string]string{} // by ts
		for _, m := range slack.Messages() {
			if m.ThreadTS == "" && (m.Method == "chat.postMessage" || m.Method == "chat.update") {
				shown[m.TS] = m.Blocks
			}
		}
		for _, b := range shown {
			posted++
			if strings.Contains(b, want) {
				right++
			}
		}
		return posted, right
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		posted, right := final()
		if right == groups {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not converged 5 minutes after the storm began: %d of %d groups posted, %d show their last state", posted, groups, right)
		}
		time.Sleep(100 * time.Millisecond)
	}
	converged := time.Since(began)
	posted, _ := final()
	if posted != groups {
		t.Errorf("%d messages for %d groups", posted, groups)
	}
	count := func(method string, thread bool) int {
		c := 0
		for _, m := range slack.Messages() {
			if m.Method == method && (m.ThreadTS != "") == thread {
				c++
			}
		}
		return c
	}
	t.Logf("storm: %d alerts in %d notifications across %d groups pushed in %s; all %d messages posted %s after the start; converged %s after the start (%s after the last notification)",
		total, total+groups, groups, pushed.Round(time.Millisecond), groups, (<-allPosted).Round(100*time.Millisecond), converged.Round(time.Second), (converged - pushed).Round(time.Second))
	t.Logf("storm: Slack calls: %d chat.postMessage (messages), %d chat.postMessage (thread lines), %d chat.update; refused with 429: %d chat.postMessage, %d chat.update",
		count("chat.postMessage", false), count("chat.postMessage", true), count("chat.update", false),
		slack.RateLimited("chat.postMessage"), slack.RateLimited("chat.update"))
	p.stop(t)
}
