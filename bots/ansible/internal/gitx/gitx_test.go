package gitx

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var testGit = Git{Env: []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent", "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0"}}

// newRepo makes a git repo with a commit on main and the branches given.
func newRepo(t *testing.T, branches ...string) string {
	t.Helper()
	dir := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(testGit.Env, "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "--quiet", "--initial-branch=main")
	os.WriteFile(filepath.Join(dir, "site.yml"), []byte("v1\n"), 0o644)
	git("add", ".")
	git("commit", "--quiet", "-m", "one")
	for _, b := range branches {
		git("branch", b)
	}
	return dir
}

func TestCheckBranch(t *testing.T) {
	tests := []struct {
		name, branch, reason string // reason: a part of the refusal; "" accepts
	}{
		{"plain", "main", ""},
		{"feature", "feature/JIRA-12_x.y", ""},
		{"200 chars", strings.Repeat("a", 200), ""},
		{"empty", "", "empty"},
		{"option", "--help", "start with a letter or a digit"},
		{"command substitution", "$(reboot)", "start with a letter or a digit"},
		{"command substitution inside", "x$(reboot)", "may only hold"},
		{"semicolon", ";rm -rf /", "start with a letter or a digit"},
		{"semicolon inside", "a;rm", "may only hold"},
		{"parent dir", "../x", "start with a letter or a digit"},
		{"dot dot inside", "a/../x", "git does not accept"},
		{"lock suffix", "a.lock", "git does not accept"},
		{"double slash", "a//b", "git does not accept"},
		{"trailing slash", "a/", "git does not accept"},
		{"trailing dot", "a.", "git does not accept"},
		{"300 chars", strings.Repeat("a", 300), "longer than 200"},
		{"cyrillic a", "m\u0430in", "non-ASCII"},
		{"fullwidth", "ｍain", "non-ASCII"},
		{"zero width space", "ma\u200bin", "non-ASCII"},
		{"invalid utf-8", "ma\xffin", "non-ASCII"},
		{"space", "a b", "may only hold"},
		{"backtick", "a`id`", "may only hold"},
		{"newline", "a\nb", "may only hold"},
		{"at brace", "a@{-1}", "may only hold"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := testGit.CheckBranch(t.Context(), tt.branch)
			if tt.reason == "" {
				if err != nil {
					t.Errorf("CheckBranch(%q) = %v, want nil", tt.branch, err)
				}
				return
			}
			var be *BranchError
			if !errors.As(err, &be) || !strings.Contains(be.Reason, tt.reason) {
				t.Errorf("CheckBranch(%q) = %v, want a BranchError saying %q", tt.branch, err, tt.reason)
			}
		})
	}
}

// FuzzCheckBranch checks that whatever CheckBranch accepts is safe to pass
// as an argument and an extra var.
func FuzzCheckBranch(f *testing.F) {
	for _, s := range []string{"main", "--help", "$(x)", "a/../b", "ma\u0430in"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if testGit.CheckBranch(t.Context(), s) != nil {
			return
		}
		if strings.HasPrefix(s, "-") || strings.ContainsAny(s, "$;` {}\\\"'\n") || len(s) > MaxBranch || strings.Contains(s, "..") {
			t.Errorf("accepted %q", s)
		}
	})
}

func TestBranchExists(t *testing.T) {
	repo := newRepo(t, "feature/x")
	for branch, want := range map[string]bool{"main": true, "feature/x": true, "feature": false, "nope": false} {
		got, err := testGit.BranchExists(t.Context(), repo, branch)
		if err != nil || got != want {
			t.Errorf("BranchExists(%q) = %v, %v; want %v", branch, got, err, want)
		}
	}
	if _, err := testGit.BranchExists(t.Context(), filepath.Join(t.TempDir(), "missing"), "main"); err == nil {
		t.Error("a missing repo answered")
	}
}

func TestCheckout(t *testing.T) {
	origin := newRepo(t)
	for _, tt := range []struct {
		name string
		repo Repo
	}{
		{"work tree", Repo{Dir: origin, Ref: "main"}},
		{"remote into cache", Repo{Dir: filepath.Join(t.TempDir(), "cache", "playbooks"), Remote: origin, Ref: "main"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for i := range 2 { // the second run fetches into the existing cache
				dst := filepath.Join(t.TempDir(), "wt")
				sha, err := testGit.Checkout(t.Context(), tt.repo, dst)
				if err != nil {
					t.Fatalf("Checkout #%d: %v", i, err)
				}
				if len(sha) != 40 {
					t.Errorf("sha = %q", sha)
				}
				if b, err := os.ReadFile(filepath.Join(dst, "site.yml")); err != nil || string(b) != "v1\n" {
					t.Errorf("worktree file = %q, %v", b, err)
				}
				if err := Remove(dst); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	if _, err := testGit.Checkout(t.Context(), Repo{Dir: origin, Ref: "nope"}, filepath.Join(t.TempDir(), "wt")); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing ref: %v", err)
	}
}
