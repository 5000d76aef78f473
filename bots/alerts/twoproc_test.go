package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/botfleet/botfleet/bots/alerts/internal/am"
	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
)

// TestTwoProcesses runs two bot processes on one state dir and one Slack
// app, as two replicas or a rolling deploy's two pods sharing EFS would.
// Each group's notifications are sent in turn, the groups at once: some to
// both processes at the same moment (an HA pair's twins, spread by the
// Service), the others to one process or the other, so that each applies
// what the other wrote. Each group gets one message, each change one
// thread line, and every message ends showing its group's last state.
func TestTwoProcesses(t *testing.T) {
	t.Parallel()
	slack := slacktest.New(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(t.TempDir(), "two.yaml")
	if err := os.WriteFile(cfgPath, []byte("channel: C0ALERTS\nslack: {post_interval: 10ms, updates_per_minute: 6000}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var ps []*process
	var urls []string
	for range 2 {
		p := start(t, slack, "SLACK_APP_TOKEN="+slacktest.AppToken, "BOT_CONFIG="+cfgPath, "BOT_STATE_DIR="+dir)
		ps, urls = append(ps, p), append(urls, p.addr(t))
	}

	const groups = 8
	s0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	alert := func(instance, status string, start time.Time) am.Alert {
		a := am.Alert{Status: status, Fingerprint: "fp-" + instance, StartsAt: start,
			Labels: map[string]string{"alertname": "Two", "instance": instance}}
		if status == am.Resolved {
			a.EndsAt = start.Add(time.Hour)
		}
		return a
	}
	// Each step's alerts, and the first line of the message once Slack
	// shows it.
	steps := []struct {
		alerts []am.Alert
		shows  string
	}{
		{[]am.Alert{alert("a", am.Firing, s0)}, "— 1 firing"},
		{[]am.Alert{alert("a", am.Firing, s0), alert("b", am.Firing, s0)}, "— 2 firing"},
		{[]am.Alert{alert("a", am.Resolved, s0), alert("b", am.Firing, s0)}, "— 1 firing, 1 resolved"},
		{[]am.Alert{alert("a", am.Resolved, s0), alert("b", am.Resolved, s0)}, "✅ *RESOLVED*"},
		{[]am.Alert{alert("a", am.Firing, s0.Add(2*time.Hour)), alert("b", am.Resolved, s0), alert("c", am.Firing, s0)}, "— 2 firing, 1 resolved"},
	}
	wantThread := []string{"🔥 firing: instance=b", "✅ resolved: instance=a", "✅ resolved: instance=b", "✅ All alerts of the group resolved.",
		"🔁 firing again: instance=a", "🔥 firing: instance=c", "🔥 The group fires again."}
	payload := func(g int, alerts []am.Alert) []byte {
		m := am.Message{Version: "4", GroupKey: fmt.Sprintf("two-%d", g), Status: am.Resolved,
			GroupLabels: map[string]string{"alertname": fmt.Sprintf("TwoG%d", g)}, CommonLabels: map[string]string{"alertname": "Two"}, Alerts: alerts}
		for _, a := range alerts {
			if a.Status == am.Firing {
				m.Status = am.Firing
			}
		}
		b, _ := json.Marshal(m)
		return b
	}
	// shown returns group g's messages' ts and the first line each shows.
	shown := func(g int) map[string]string {
		out := map[string]string{}
		for _, m := range slack.Messages() {
			first, _, _ := strings.Cut(m.Text, "\n")
			switch {
			case m.Method == "chat.postMessage" && m.ThreadTS == "" && strings.Contains(first, fmt.Sprintf("TwoG%d ", g)):
				out[m.TS] = first
			case m.Method == "chat.update" && out[m.TS] != "":
				out[m.TS] = first
			}
		}
		return out
	}
	send := func(url string, body []byte) {
		req, _ := http.NewRequest(http.MethodPost, url+WebhookPath, strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Errorf("webhook: %d", resp.StatusCode)
		}
	}

	var wg sync.WaitGroup
	for g := range groups {
		wg.Go(func() {
			for k, st := range steps {
				body := payload(g, st.alerts)
				switch k % 3 {
				case 0: // twins, to both at once
					var both sync.WaitGroup
					for _, u := range urls {
						both.Go(func() { send(u, body) })
					}
					both.Wait()
				case 1:
					send(urls[g%2], body)
				case 2:
					send(urls[(g+1)%2], body)
				}
				deadline := time.Now().Add(20 * time.Second)
				for {
					sh := shown(g)
					done := false
					for _, first := range sh {
						done = done || strings.HasSuffix(first, st.shows) || strings.HasPrefix(first, st.shows)
					}
					if done {
						break
					}
					if time.Now().After(deadline) {
						t.Errorf("group %d step %d: Slack does not show %q within 20s: %q", g, k, st.shows, sh)
						return
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	for g := range groups {
		if sh := shown(g); len(sh) != 1 {
			t.Errorf("group %d: %d messages, want 1: %q", g, len(sh), sh)
		}
	}

	// Every thread line once: wait for all, then a little longer for extras.
	thread := func() map[int]map[string]int {
		out := map[int]map[string]int{}
		for g := range groups {
			out[g] = map[string]int{}
			sh := shown(g)
			for _, m := range slack.Messages() {
				if m.ThreadTS != "" && sh[m.ThreadTS] != "" {
					for line := range strings.SplitSeq(m.Text, "\n") {
						out[g][line]++
					}
				}
			}
		}
		return out
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		missing := ""
		for g, lines := range thread() {
			for _, l := range wantThread {
				if lines[l] == 0 {
					missing = fmt.Sprintf("group %d lacks %q; its thread: %v", g, l, lines)
				}
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within 20s: %s", missing)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(3 * syncInterval)
	for g, lines := range thread() {
		for _, first := range shown(g) {
			if !strings.HasSuffix(first, steps[len(steps)-1].shows) {
				t.Errorf("group %d ends showing %q, want its last state (%s)", g, first, steps[len(steps)-1].shows)
			}
		}
		for _, l := range wantThread {
			if lines[l] != 1 {
				t.Errorf("group %d: thread line %q %d times, want once", g, l, lines[l])
			}
		}
		if n := len(lines); n != len(wantThread) {
			t.Errorf("group %d: thread lines %v, want %q", g, lines, wantThread)
		}
	}
	// Each paced itself at half the app's Slack budget.
	for i, p := range ps {
		if log := p.Log(); !strings.Contains(log, `"processes sharing Slack's limits"`) || !strings.Contains(log, `"processes":2`) {
			t.Errorf("process %d did not log that it shares Slack's limits with another", i+1)
		}
	}
	for _, p := range ps {
		p.stop(t)
	}
}
