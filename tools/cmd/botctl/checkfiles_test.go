package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckFiles runs check-files on a git repo in a temp dir: a committed
// binary, a real Secret added with git add -f, and a broken allowlist each
// fail it; the clean repo passes.
func TestCheckFiles(t *testing.T) {
	root := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", root, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	write := func(name, data string, mode os.FileMode) {
		t.Helper()
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
	}
	copyPath(t, filepath.Join(repoDir, "botfleet.yaml"), filepath.Join(root, "botfleet.yaml"))
	write("README.md", "# a repo\n", 0o644)
	write("run.sh", "#!/bin/sh\necho ok\n", 0o755)
	git("init", "-q")
	git("add", "-A")

	code, out, errs := run(t, "--repo", root, "check-files")
	if code != exitOK || !strings.Contains(out, "3 tracked files: no binaries") {
		t.Fatalf("clean repo: exit %d\nstdout %s\nstderr %s", code, out, errs)
	}

	write("tools/botctl", "\x7fELF\x02\x01\x01\x00", 0o755)
	write("bots/x/manifests/manual/secrets.yml", "stringData:\n  SLACK_BOT_TOKEN: xoxb-12345-notarealtoken\n", 0o644)
	git("add", "-f", "tools/botctl", "bots/x/manifests/manual/secrets.yml")
	code, out, errs = run(t, "--repo", root, "check-files")
	want := "bots/x/manifests/manual/secrets.yml:2: a Slack token: remove it (and revoke it, if real); a fake goes in lint-allow.yaml (secrets:)\n" +
		"tools/botctl: an ELF executable: binaries are built, never committed: git rm --cached tools/botctl, and ignore it in .gitignore\n"
	if code != exitProblems || out != want || !strings.Contains(errs, "2 problem(s)") {
		t.Errorf("exit %d\nstdout %s\nstderr %s\nwant stdout:\n%s", code, out, errs, want)
	}

	write("lint-allow.yaml", "secret: []\n", 0o644)
	code, _, errs = run(t, "--repo", root, "check-files")
	if code != exitProblems || !strings.Contains(errs, `lint-allow.yaml: error unmarshaling JSON: while decoding JSON: json: unknown field "secret"`) {
		t.Errorf("broken allowlist: exit %d, stderr %s", code, errs)
	}
}
