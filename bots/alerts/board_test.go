package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/botfleet/botfleet/bots/alerts/internal/am"
	"github.com/botfleet/botfleet/pkg/botkit"
)

// A resolved group Slack shows as such is forgotten a day after its last
// change; a firing one, or one Slack does not show yet, is kept.
func TestPruneResolvedGroups(t *testing.T) {
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	bd := newBoard(limits{postInterval: time.Second, updatesPerMin: 40, updateBurst: 10}, slog.New(slog.DiscardHandler))
	bd.now = func() time.Time { return now }
	for _, tc := range []struct {
		key, status string
		posted      bool
	}{{"old-resolved", am.Resolved, true}, {"old-firing", am.Firing, true}, {"old-unposted", am.Resolved, false}} {
		m := &am.Message{Version: "4", GroupKey: tc.key, Status: tc.status,
			Alerts: []am.Alert{{Fingerprint: "f", Status: tc.status}}}
		bd.apply(t.Context(), m, "C1")
		if tc.posted {
			g := bd.groups[tc.key]
			g.ref, g.rendered = botkit.MessageRef{Channel: "C1", TS: "1.1"}, g.version
		}
	}
	now = now.Add(resolvedTTL - time.Minute)
	bd.prune(t.Context())
	if len(bd.groups) != 3 {
		t.Fatalf("pruned before the day was over: %d groups", len(bd.groups))
	}
	now = now.Add(2 * time.Minute)
	bd.prune(t.Context())
	if _, ok := bd.groups["old-resolved"]; ok || len(bd.groups) != 2 || len(bd.byID) != 2 {
		t.Errorf("after a day: groups %v", keys(bd.groups))
	}
}

func keys(m map[string]*group) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Late notifications: each alert is ordered by its start, then firing
// before resolved, then its end (am.Order); a notification that shows an
// alert older than the board does changes only what it shows newer.
func TestLateNotifications(t *testing.T) {
	s := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	firing := func(fp string, start time.Time) am.Alert {
		return am.Alert{Fingerprint: fp, Status: am.Firing, StartsAt: start, Labels: map[string]string{"alertname": "X", "instance": fp}}
	}
	resolved := func(fp string, start, end time.Time) am.Alert {
		a := firing(fp, start)
		a.Status, a.EndsAt = am.Resolved, end
		return a
	}
	for _, tc := range []struct {
		name   string
		steps  [][]am.Alert
		result string // of the last step
		want   string // the group's status and its alerts' after the last step
	}{
		{"a firing notification late after the resolution",
			[][]am.Alert{{firing("a", s), firing("b", s)}, {resolved("a", s, s.Add(time.Hour)), resolved("b", s, s.Add(time.Hour))}, {firing("a", s)}},
			notifStale, "resolved a=resolved b=resolved"},
		{"fired again: a later start",
			[][]am.Alert{{firing("a", s)}, {resolved("a", s, s.Add(time.Hour))}, {firing("a", s.Add(2*time.Hour))}},
			notifApplied, "firing a=firing"},
		{"late, but with one alert's news",
			[][]am.Alert{{firing("a", s), firing("b", s)}, {resolved("a", s, s.Add(time.Hour)), firing("b", s)}, {firing("a", s), resolved("b", s, s.Add(30*time.Minute))}},
			notifApplied, "resolved a=resolved b=resolved"},
		{"fires again with its old start, the notification showing a later event",
			[][]am.Alert{{resolved("a", s, s.Add(time.Hour))}, {firing("a", s), firing("b", s.Add(3*time.Hour))}},
			notifApplied, "firing a=firing b=firing"},
		{"an earlier end of the same resolution",
			[][]am.Alert{{firing("a", s)}, {resolved("a", s, s.Add(2*time.Hour))}, {resolved("a", s, s.Add(time.Hour))}},
			notifStale, "resolved a=resolved"},
		{"a late notification older by its start",
			[][]am.Alert{{firing("a", s.Add(2*time.Hour))}, {firing("a", s)}},
			notifStale, "firing a=firing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bd := newBoard(limits{postInterval: time.Second, updatesPerMin: 40, updateBurst: 10}, slog.New(slog.DiscardHandler))
			var result string
			for _, as := range tc.steps {
				m := &am.Message{Version: "4", GroupKey: "g", Status: am.Resolved, Alerts: as}
				for _, a := range as {
					if a.Status == am.Firing {
						m.Status = am.Firing
					}
				}
				result, _ = bd.apply(t.Context(), m, "C1")
			}
			g := bd.groups["g"]
			got := g.status
			for _, a := range g.alerts {
				got += " " + a.Fingerprint + "=" + a.Status
			}
			if result != tc.result || got != tc.want {
				t.Errorf("last step %s, board %q; want %s, %q", result, got, tc.result, tc.want)
			}
		})
	}
}

// The single state file of earlier versions is moved into one file per
// group, its messages kept.
func TestLegacyStateFile(t *testing.T) {
	dir := t.TempDir()
	legacy := `[{"key":"old-group","channel":"C1","status":"firing","ts":"1.2","stale":true,"changed":"2026-12-05T10:00:00Z"}]`
	if err := os.WriteFile(filepath.Join(dir, legacyFile), []byte(legacy), 0o600); err != nil {
		t.Fatal(err)
	}
	bd := newBoard(limits{postInterval: time.Second, updatesPerMin: 40, updateBurst: 10}, slog.New(slog.DiscardHandler))
	if err := bd.useDir(t.Context(), dir); err != nil {
		t.Fatal(err)
	}
	g := bd.groups["old-group"]
	if g == nil || g.ref.TS != "1.2" || g.rendered >= g.version || !g.queued {
		t.Fatalf("group from the legacy file: %+v, want its message 1.2, to be edited", g)
	}
	if _, err := os.Stat(filepath.Join(dir, legacyFile)); !os.IsNotExist(err) {
		t.Errorf("the legacy file is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, groupsDir, groupID("old-group")+".json")); err != nil {
		t.Errorf("the group's own file: %v", err)
	}
}

// Processes on one state dir share the app's Slack limits: with two, each
// posts in a channel every 2 s instead of 1 and holds half the edit burst;
// once the other stops, the whole budget again.
func TestProcessesShareSlackLimits(t *testing.T) {
	dir := t.TempDir()
	lim := limits{postInterval: time.Second, updatesPerMin: 40, updateBurst: 10}
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	boards := make([]*board, 2)
	for i := range boards {
		boards[i] = newBoard(lim, slog.New(slog.DiscardHandler))
		boards[i].now = func() time.Time { return now }
		if err := boards[i].useDir(t.Context(), dir); err != nil {
			t.Fatal(err)
		}
	}
	a, b := boards[0], boards[1]
	a.countProcs()
	if a.share != 2 || b.share != 2 {
		t.Fatalf("shares %d and %d, want 2 each", a.share, b.share)
	}
	for _, key := range []string{"g1", "g2", "g3"} {
		m := &am.Message{Version: "4", GroupKey: key, Status: am.Firing, Alerts: []am.Alert{{Fingerprint: "f", Status: am.Firing}}}
		if _, err := a.apply(t.Context(), m, "C1"); err != nil {
			t.Fatal(err)
		}
	}
	if j, _ := a.next(); j == nil || j.kind != jobPost {
		t.Fatalf("first call: %+v, want a post", j)
	}
	if j, wait := a.next(); j != nil || wait != 2*time.Second {
		t.Errorf("second post in the channel: %+v after %v, want none before 2s", j, wait)
	}
	if a.tokens != 5 {
		t.Errorf("edit burst %v, want half of 10", a.tokens)
	}
	b.store.proc.Release()
	a.countProcs()
	if a.share != 1 {
		t.Errorf("share once the other stopped: %d, want 1", a.share)
	}
	now = now.Add(2 * time.Second) // a post's spacing is set when it is made
	if j, _ := a.next(); j == nil || j.kind != jobPost {
		t.Errorf("2s later: %+v, want the second post", j)
	}
	if j, wait := a.next(); j != nil || wait != time.Second {
		t.Errorf("third post in the channel, alone: %+v after %v, want none before 1s", j, wait)
	}
}
