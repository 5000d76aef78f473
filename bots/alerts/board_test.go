package main

import (
	"log/slog"
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
		bd.apply(m, "C1")
		if tc.posted {
			g := bd.groups[tc.key]
			g.ref, g.rendered = botkit.MessageRef{Channel: "C1", TS: "1.1"}, g.version
		}
	}
	now = now.Add(resolvedTTL - time.Minute)
	bd.prune()
	if len(bd.groups) != 3 {
		t.Fatalf("pruned before the day was over: %d groups", len(bd.groups))
	}
	now = now.Add(2 * time.Minute)
	bd.prune()
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
