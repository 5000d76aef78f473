package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNewBotEndToEnd creates a bot in a copy of the repo, as `make bot
// NAME=x` does, and proves it is ready for a pull request: its tests pass
// offline, `botctl validate` finds no problems, and `botctl changed` lists
// it.
func TestNewBotEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the new bot's tests")
	}
	root, git := gitRepo(t)
	base := git("rev-parse", "HEAD")

	code, out, errs := run(t, "--repo", root, "new", "deploy-bot")
	if code != exitOK {
		t.Fatalf("new: exit %d\nstdout %s\nstderr %s", code, out, errs)
	}
	for _, want := range []string{"created bots/deploy-bot", "added ./bots/deploy-bot to go.work", "wrote manifests/platform/aws/deploy-bot.yaml\n", "make run BOT=deploy-bot", "slack-app.prd.yaml"} {
		if !strings.Contains(out, want) {
			t.Errorf("new's output lacks %q:\n%s", want, out)
		}
	}
	work, err := os.ReadFile(filepath.Join(root, "go.work"))
	if err != nil || !strings.Contains(string(work), "\t./bots/deploy-bot\n") {
		t.Errorf("go.work lacks the bot (%v):\n%s", err, work)
	}

	// Its tests, offline, built alone as its image is.
	goOffline(t, filepath.Join(root, "bots", "deploy-bot"), "test", "-count=1", "./...")

	code, out, errs = run(t, "--repo", root, "validate")
	if code != exitOK || !strings.Contains(out, "no problems") {
		t.Fatalf("validate: exit %d\nstdout %s\nstderr %s", code, out, errs)
	}

	git("add", "-A")
	git("commit", "-q", "-m", "add deploy-bot")
	code, out, errs = run(t, "--repo", root, "changed", "--base", base, "--head", "HEAD")
	if code != exitOK || strings.TrimSpace(out) != `["deploy-bot"]` {
		t.Errorf("changed: exit %d\nstdout %s\nstderr %s", code, out, errs)
	}
	// Its pull request tests everything: go.work changed, so may every
	// module's dependency versions.
	code, out, errs = run(t, "--repo", root, "affected", "--base", base, "--head", "HEAD")
	if code != exitOK || strings.TrimSpace(out) != `["bots/deploy-bot","pkg"]` {
		t.Errorf("affected: exit %d\nstdout %s\nstderr %s", code, out, errs)
	}
}

// gitRepo copies what a clone of the repo holds but its bots, and the extra
// paths, into a temp dir, makes it a git repo with one commit, and returns
// it with a git runner for it.
func gitRepo(t *testing.T, extra ...string) (root string, git func(args ...string) string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("this test needs git (make prereqs)") // never skipped: it would pass unseen in CI
	}
	root = t.TempDir()
	for _, p := range append([]string{"botfleet.yaml", "go.work", ".gitignore", "pkg", "manifests", ".github"}, extra...) {
		copyPath(t, filepath.Join(repoDir, p), filepath.Join(root, p))
	}
	git = func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	git("add", "-A")
	git("commit", "-q", "-m", "base")
	return root, git
}

// goOffline runs the go command in dir as a bot's image builds it: its
// module alone, from the module cache only.
func goOffline(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOPROXY=off", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
}

// copyPath copies a file or a directory tree.
func copyPath(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dst, strings.TrimPrefix(p, src))
		if fi.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestNewRefuses: bad input is a usage error (exit 2) with a clear message,
// and changes nothing in the repo (these run against the real one).
func TestNewRefuses(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no name", []string{"new"}, "new takes one bot name, got 0 arguments"},
		{"two names", []string{"new", "a", "b"}, "new takes one bot name, got 2 arguments"},
		{"bad name", []string{"new", "Deploy_Bot"}, `bot name "Deploy_Bot": must start with a lowercase letter`},
		{"dash at the end", []string{"new", "deploy-"}, "must not end in a dash"},
		{"reserved", []string{"new", "pkg"}, `bot name "pkg": reserved`},
		{"exists", []string{"new", "hello"}, "bots/hello already exists: pass --force"},
		{"exists, from make bot", []string{"--make-target", "new", "hello"}, "bots/hello already exists: make bot NAME=hello FORCE=1 rewrites"},
		{"every fault of a name", []string{"new", "Bad_Name"}, `bot name "Bad_Name": must start with a lowercase letter; uppercase 'B', 'N' not allowed; '_' not allowed: use lowercase letters, digits and dashes (e.g. "bad-name")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := run(t, append([]string{"--repo", repoDir}, tt.args...)...)
			if code != exitUsage || !strings.Contains(errs, tt.want) || out != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d and %q", code, out, errs, exitUsage, tt.want)
			}
		})
	}
}
