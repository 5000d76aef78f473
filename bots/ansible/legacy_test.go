package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/botfleet/botfleet/pkg/botkit/botkittest"
	"github.com/botfleet/botfleet/pkg/botkit/jobs"
	"github.com/botfleet/botfleet/pkg/flock"
)

// TestLegacyHistory: a deployment upgraded from the bot that kept its own
// history (history.jsonl and seq where state_dir was, now BOT_STATE_DIR)
// keeps it: the deploys are imported once, a deploy left running by the
// old version is interrupted, torn and foreign lines are skipped, and
// numbering goes on after the old counter, which is ahead of the history.
func TestLegacyHistory(t *testing.T) {
	t.Parallel()
	stateDir := t.TempDir()
	if err := os.CopyFS(stateDir, os.DirFS(filepath.Join("testdata", "legacy"))); err != nil {
		t.Fatal(err)
	}
	tr := newBot(t, stateDir, testConfig(t, playbookRepo(t)))
	got := botkittest.Last(tr.Say(t, "history"))
	for _, want := range []string{
		"#5 `web` `feature/y` → *dev* by <@U3>, 2025-03-04 — ⏹ cancelled in 20s",
		"#3 `slow` `feature/x` → *dev* by <@U1>, 2025-03-03 — ⚠️ interrupted",
		"#2 `db` `main` → *prd* by <@U2>, 2025-03-02 — ❌ failed in 40s",
		"#1 `web` `main` → *dev* by <@U1>, 2025-03-01 — ✅ ok in 1m30s",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("history lacks %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "\n• ") != 4 {
		t.Errorf("history shows other than the 4 old deploys:\n%s", got)
	}
	if got := botkittest.Last(tr.Say(t, "status 2")); !strings.Contains(got, "#2 `db` `main` → *prd*") {
		t.Errorf("status 2: %q", got)
	}
	rs := records(t, stateDir)
	if len(rs) != 4 || rs[0].Commit != "0123456789abcdef0123456789abcdef01234567" || len(rs[0].Recap) != 1 || rs[0].Message != "1740823200.000100" ||
		rs[1].Task != "Migrate the database" || rs[1].Error != "migration failed for main" || rs[3].CancelledBy != "U3" {
		t.Errorf("imported = %+v", rs)
	}
	if got := botkittest.Texts(tr.Say(t, "deploy web main")); !strings.Contains(strings.Join(got, "\n"), "✅ Deploy #7: `web` `main` → *dev*") {
		t.Errorf("the first deploy after the import is not #7 (seq was 6): %q", got)
	}
	// A restart, or another instance, does not import again.
	history := filepath.Join(stateDir, jobs.StateSubdir, "history.jsonl")
	before, _ := os.ReadFile(history)
	newBot(t, stateDir, testConfig(t, playbookRepo(t)))
	if after, _ := os.ReadFile(history); !bytes.Equal(before, after) {
		t.Errorf("the second start changed the history:\n%s", after[len(before):])
	}
	if rs := records(t, stateDir); len(rs) != 5 || rs[4].ID != 7 {
		t.Errorf("records after the restart: %+v", rs)
	}
	// During the rollout that upgrades, the old pod deploys web to dev
	// under its own lock: the new one does not deploy it meanwhile.
	var oldPod flock.Set
	l, err := oldPod.TryLock(filepath.Join(stateDir, "locks", "deploy.web.dev.lock"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(botkittest.Texts(tr.Say(t, "deploy web main")), "\n"); !strings.Contains(got, "the bot's previous version is deploying `web` to *dev*") {
		t.Errorf("a deploy while the old pod deploys: %q", got)
	}
	l.Release()
	if got := strings.Join(botkittest.Texts(tr.Say(t, "deploy web main")), "\n"); !strings.Contains(got, "✅ Deploy #9") {
		t.Errorf("a deploy once the old pod is done: %q", got)
	}
}
