package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// setDevTag commits tag as bot's dev tag in the repo at dir.
func setDevTag(t *testing.T, dir, bot, tag string) {
	t.Helper()
	p := filepath.Join(dir, "bots", bot, "manifests/envs/dev/kustomization.yaml")
	data := readFile(t, p)
	i := strings.Index(data, "newTag: \"")
	j := strings.Index(data[i+len("newTag: \""):], "\"")
	data = data[:i] + "newTag: \"" + tag + "\"" + data[i+len("newTag: \"")+j+1:]
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	commit(t, dir)
}

// TestChangedDeployed compares each bot with the release its dev overlay
// runs: a bot whose last build failed (its tag stayed behind) is listed, and
// so is a bot with no release yet.
func TestChangedDeployed(t *testing.T) {
	dir := newGitRepo(t)
	c0 := git(t, dir, "rev-parse", "HEAD")
	setDevTag(t, dir, "one", c0)
	setDevTag(t, dir, "two", c0)
	appendTo(t, filepath.Join(dir, "pkg/other/other.go"), "// changed\n") // two
	commit(t, dir)
	c1 := git(t, dir, "rev-parse", "HEAD")
	setDevTag(t, dir, "two", c1+"-rebuild-4") // two released at c1 (rebuilt)
	appendTo(t, filepath.Join(dir, "README.md"), "more\n")
	commit(t, dir)

	tests := []struct {
		name string
		args []string
		out  string
	}{
		{"each bot at its own release", []string{"changed", "--deployed", "dev"}, "[]\n"},
		// At HEAD~3 both run c0, and pkg/other changed since: two.
		{"overlays read before two's release", []string{"changed", "--deployed", "dev", "--deployed-at", "HEAD~3"}, "[\"two\"]\n"},
		{"prd runs no release", []string{"changed", "--deployed", "prd"}, "[\"one\",\"two\"]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := run(t, append([]string{"--repo", dir}, tt.args...)...)
			if code != exitOK || out != tt.out {
				t.Errorf("exit %d, stdout %q, stderr %q; want %q", code, out, errs, tt.out)
			}
		})
	}

	// two's image failed at c2: its overlay keeps c1's release, so it stays listed.
	appendTo(t, filepath.Join(dir, "pkg/other/other.go"), "// again\n")
	commit(t, dir)
	appendTo(t, filepath.Join(dir, "bots/one/main.go"), "// one only\n")
	commit(t, dir)
	setDevTag(t, dir, "one", git(t, dir, "rev-parse", "HEAD"))
	code, out, errs := run(t, "--repo", dir, "changed", "--deployed", "dev", "--explain")
	if code != exitOK || out != "[\"two\"]\n" || !strings.Contains(errs, "two: pkg/other/other.go") {
		t.Errorf("after two's failed build: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

// TestChangedEvent picks the base from a GitHub Actions event, as ci.yml
// does: the push of a new promote/** branch (before is all zeros) is judged
// by what it adds to main, a change of prd tags, so it builds no image.
func TestChangedEvent(t *testing.T) {
	dir := newGitRepo(t)
	git(t, dir, "update-ref", "refs/remotes/origin/main", "main")
	git(t, dir, "switch", "-q", "-c", "promote/123")
	code, _, errs := run(t, "--repo", dir, "promote", "--all", "--from", "dev", "--to", "prd")
	if code != exitOK {
		t.Fatal(errs)
	}
	commit(t, dir)
	promoteHead := git(t, dir, "rev-parse", "HEAD")
	git(t, dir, "switch", "-q", "-c", "feature", "main")
	appendTo(t, filepath.Join(dir, "pkg/lib/lib.go"), "// changed\n")
	commit(t, dir)
	featureFirst := git(t, dir, "rev-parse", "HEAD")
	appendTo(t, filepath.Join(dir, "pkg/other/other.go"), "// changed\n")
	commit(t, dir)
	mainSHA := git(t, dir, "rev-parse", "main")

	zeros := strings.Repeat("0", 40)
	event := func(name string, v any) string {
		p := filepath.Join(t.TempDir(), name+".json")
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	push := func(before string) string {
		return event("push", map[string]any{"before": before, "repository": map[string]any{"default_branch": "main"}})
	}
	tests := []struct {
		name, eventName, eventFile, head string
		out, stderr                      string
	}{
		{"new promote branch", "push", push(zeros), promoteHead, "[]\n", "what it adds to main"},
		{"new feature branch", "push", push(zeros), "feature", "[\"one\",\"two\"]\n", "what it adds to main"},
		{"push onto a branch", "push", push(featureFirst), "feature", "[\"two\"]\n", "the commit before the push"},
		{"force-push (before unknown)", "push", push(strings.Repeat("ab", 20)), "feature", "[\"one\",\"two\"]\n", "force-push"},
		{"pull request", "pull_request", event("pr", map[string]any{"pull_request": map[string]any{"base": map[string]any{"sha": mainSHA}}}), "feature", "[\"one\",\"two\"]\n", "the pull request's base"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := run(t, "--repo", dir, "changed", "--event-name", tt.eventName, "--event", tt.eventFile, "--head", tt.head)
			if code != exitOK || out != tt.out || !strings.Contains(errs, tt.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %q and %q", code, out, errs, tt.out, tt.stderr)
			}
		})
	}

	errTests := []struct {
		name, eventName, eventFile string
		code                       int
		want                       string
	}{
		{"schedule", "schedule", push(zeros), exitUsage, "--event-name schedule: no base"},
		{"pull request without base", "pull_request", event("pr", map[string]any{}), exitProblems, "has no pull_request.base.sha"},
		{"no default branch", "push", event("push", map[string]any{"before": zeros}), exitProblems, "has no repository.default_branch"},
		{"default branch not fetched", "push", event("push", map[string]any{"before": zeros, "repository": map[string]any{"default_branch": "trunk"}}), exitProblems, "refs/remotes/origin/trunk, which this clone lacks"},
		{"not JSON", "push", func() string { p := filepath.Join(t.TempDir(), "e"); os.WriteFile(p, []byte("{"), 0o644); return p }(), exitProblems, "reading the event"},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := run(t, "--repo", dir, "changed", "--event-name", tt.eventName, "--event", tt.eventFile)
			if code != tt.code || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errs, tt.code, tt.want)
			}
		})
	}
}

func TestPromoteJSON(t *testing.T) {
	dir := newGitRepo(t)
	code, out, errs := run(t, "--repo", dir, "promote", "--all", "--from", "dev", "--to", "prd", "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	var got []map[string]string
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	want := []map[string]string{
		{"bot": "one", "env": "prd", "path": "bots/one/manifests/envs/prd/kustomization.yaml", "old": "1111111", "new": "2222222"},
		{"bot": "two", "env": "prd", "path": "bots/two/manifests/envs/prd/kustomization.yaml", "old": "1111111", "new": "2222222"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("promoted (-want +got):\n%s", diff)
	}
	if code, out, _ = run(t, "--repo", dir, "promote", "--all", "--from", "dev", "--to", "prd", "--format", "json"); code != exitOK || out != "[]\n" {
		t.Errorf("again: exit %d, stdout %q", code, out)
	}
}

// TestBump runs `botctl bump` against a bare remote: a release, then an
// older one run again, which is refused with exit 1 and changes nothing.
func TestBump(t *testing.T) {
	t.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("GIT_COMMITTER_NAME", "botfleet")
	t.Setenv("GIT_COMMITTER_EMAIL", "dev@botfleet.invalid")
	t.Setenv("GIT_AUTHOR_NAME", "botfleet")
	t.Setenv("GIT_AUTHOR_EMAIL", "dev@botfleet.invalid")
	dir := newGitRepo(t)
	old := git(t, dir, "rev-parse", "HEAD")
	appendTo(t, filepath.Join(dir, "README.md"), "more\n")
	commit(t, dir)
	newer := git(t, dir, "rev-parse", "HEAD")
	origin := filepath.Join(t.TempDir(), "origin.git")
	git(t, dir, "clone", "-q", "--bare", dir, origin)
	git(t, dir, "remote", "add", "origin", origin)

	code, out, errs := run(t, "--repo", dir, "bump", "one", "--env", "dev", "--tag", newer, "--failed", "two", "--deployed-tag", "deployed/dev")
	if code != exitProblems || !strings.Contains(out, "one: 2222222 -> "+newer) || !strings.Contains(out, "two: failed: its image did not build") ||
		!strings.Contains(out, "deployed/dev stays") || !strings.Contains(errs, "refused or failed") {
		t.Errorf("release with two failed: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	code, out, errs = run(t, "--repo", dir, "bump", "one", "two", "--env", "dev", "--tag", newer, "--deployed-tag", "deployed/dev")
	if code != exitOK || !strings.Contains(out, "one: "+newer+" unchanged") || !strings.Contains(out, "deployed/dev created at "+newer[:12]) {
		t.Errorf("two built: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	mainTip := git(t, dir, "--git-dir", origin, "rev-parse", "main")
	code, out, _ = run(t, "--repo", dir, "bump", "one", "two", "--env", "dev", "--tag", old, "--deployed-tag", "deployed/dev")
	if code != exitProblems || !strings.Contains(out, "one: refused: it runs "+newer) {
		t.Errorf("older release again: exit %d, stdout %q", code, out)
	}
	if got := git(t, dir, "--git-dir", origin, "rev-parse", "main"); got != mainTip {
		t.Errorf("main moved to %s", got)
	}
	if got := git(t, dir, "--git-dir", origin, "rev-parse", "deployed/dev"); got != newer {
		t.Errorf("deployed/dev at %s, want %s", got, newer)
	}
}
