package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// newGitRepo makes a small botfleet repo in a temp dir, committed: the real
// botfleet.yaml, a pkg module with packages lib and other, and bots one
// (links lib) and two (links other), each with a dev and a prd overlay.
func newGitRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	settings, err := os.ReadFile(filepath.Join(repoDir, "botfleet.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"botfleet.yaml":      string(settings),
		"pkg/go.mod":         "module example.com/fleet/pkg\n\ngo 1.26.0\n",
		"pkg/lib/lib.go":     "package lib\n\n// N is a number.\nconst N = 1\n",
		"pkg/other/other.go": "package other\n\n// N is a number.\nconst N = 2\n",
		"README.md":          "# fleet\n",
	}
	for bot, pkg := range map[string]string{"one": "lib", "two": "other"} {
		d := "bots/" + bot + "/"
		files[d+"go.mod"] = "module example.com/fleet/bots/" + bot + "\n\ngo 1.26.0\n\nrequire example.com/fleet/pkg v0.0.0\n\nreplace example.com/fleet/pkg => ../../pkg\n"
		files[d+"main.go"] = fmt.Sprintf("package main\n\nimport \"example.com/fleet/pkg/%s\"\n\nfunc main() { println(%s.N) }\n", pkg, pkg)
		files[d+"README.md"] = "# " + bot + "\n"
		files[d+"Dockerfile"] = "FROM golang:1.26 AS build\nCOPY pkg/ pkg/\nCOPY " + d + " " + d + "\n"
		files[d+"Dockerfile.dockerignore"] = "*\n!pkg/\n!" + d + "\n**/*.md\n" + d + "manifests/\n"
		for env, tag := range map[string]string{"dev": "2222222", "prd": "1111111"} {
			files[d+"manifests/envs/"+env+"/kustomization.yaml"] = "# " + bot + " in " + env + "\nimages:\n    -   name: " + bot + "\n        newName: x/" + bot + "\n        newTag: \"" + tag + "\"   # the commit\n"
		}
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git(t, dir, "init", "-q", "-b", "main")
	commit(t, dir)
	return dir
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func commit(t *testing.T, dir string) {
	t.Helper()
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "change")
}

func appendTo(t *testing.T, name, s string) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestChanged(t *testing.T) {
	dir := newGitRepo(t)
	base := git(t, dir, "rev-parse", "HEAD")
	appendTo(t, filepath.Join(dir, "pkg/lib/lib.go"), "// changed\n")
	appendTo(t, filepath.Join(dir, "bots/two/README.md"), "more\n")
	commit(t, dir)

	tests := []struct {
		name       string
		args       []string
		out, errIs string
	}{
		{"json", []string{"changed", "--base", base}, "[\"one\"]\n", ""},
		{"lines and head", []string{"changed", "--base", base, "--head", "HEAD", "--format", "lines"}, "one\n", ""},
		{"explain", []string{"changed", "--base", base, "--explain"}, "[\"one\"]\n", "one: pkg/lib/lib.go (package example.com/fleet/pkg/lib)\n"},
		{"none", []string{"changed", "--base", "HEAD"}, "[]\n", ""},
		{"none as lines", []string{"changed", "--base", "HEAD", "--format", "lines"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := run(t, append([]string{"--repo", dir}, tt.args...)...)
			if code != exitOK || out != tt.out || errs != tt.errIs {
				t.Errorf("exit %d, stdout %q, stderr %q; want 0, %q, %q", code, out, errs, tt.out, tt.errIs)
			}
		})
	}
}

func TestSetImage(t *testing.T) {
	dir := newGitRepo(t)
	dev := filepath.Join(dir, "bots/one/manifests/envs/dev/kustomization.yaml")
	before := readFile(t, dev)

	code, out, errs := run(t, "--repo", dir, "set-image", "one", "--env", "dev", "--tag", "1234567")
	if code != exitOK || out != "bots/one/manifests/envs/dev/kustomization.yaml: one 2222222 -> 1234567\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if want := strings.Replace(before, `"2222222"`, `"1234567"`, 1); readFile(t, dev) != want {
		t.Errorf("overlay:\n%s\nwant:\n%s", readFile(t, dev), want)
	}
	code, out, _ = run(t, "--repo", dir, "set-image", "one", "two", "--env", "dev", "--tag", "1234567")
	if code != exitOK || out != "bots/one/manifests/envs/dev/kustomization.yaml: one 1234567 unchanged\n"+
		"bots/two/manifests/envs/dev/kustomization.yaml: two 2222222 -> 1234567\n" {
		t.Errorf("second run: exit %d, stdout %q", code, out)
	}
}

func TestSetImageAllChanged(t *testing.T) {
	dir := newGitRepo(t)
	base := git(t, dir, "rev-parse", "HEAD")
	appendTo(t, filepath.Join(dir, "bots/two/main.go"), "// changed\n")
	commit(t, dir)
	code, out, errs := run(t, "--repo", dir, "set-image", "--all-changed", "--base", base, "--env", "dev", "--tag", "abc1234")
	if code != exitOK || out != "bots/two/manifests/envs/dev/kustomization.yaml: two 2222222 -> abc1234\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if got := readFile(t, filepath.Join(dir, "bots/one/manifests/envs/dev/kustomization.yaml")); !strings.Contains(got, `"2222222"`) {
		t.Errorf("one's overlay changed:\n%s", got)
	}
	code, out, _ = run(t, "--repo", dir, "set-image", "--all-changed", "--base", "HEAD", "--env", "dev", "--tag", "abc1234")
	if code != exitOK || !strings.HasPrefix(out, "no bot changed between") {
		t.Errorf("no change: exit %d, stdout %q", code, out)
	}
}

func TestPromote(t *testing.T) {
	dir := newGitRepo(t)
	prd := func(bot string) string {
		return readFile(t, filepath.Join(dir, "bots", bot, "manifests/envs/prd/kustomization.yaml"))
	}
	code, out, errs := run(t, "--repo", dir, "promote", "one", "--from", "dev", "--to", "prd")
	if code != exitOK || out != "bots/one/manifests/envs/prd/kustomization.yaml: one 1111111 -> 2222222\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if want := "# one in prd\nimages:\n    -   name: one\n        newName: x/one\n        newTag: \"2222222\"   # the commit\n"; prd("one") != want {
		t.Errorf("one's prd overlay:\n%s\nwant:\n%s", prd("one"), want)
	}
	// --all: only two still differs.
	code, out, _ = run(t, "--repo", dir, "promote", "--all", "--from", "dev", "--to", "prd")
	if code != exitOK || out != "bots/two/manifests/envs/prd/kustomization.yaml: two 1111111 -> 2222222\n" {
		t.Errorf("--all: exit %d, stdout %q", code, out)
	}
	code, out, _ = run(t, "--repo", dir, "promote", "--all", "--from", "dev", "--to", "prd")
	if code != exitOK || out != "every bot's prd tag is its dev tag already\n" {
		t.Errorf("--all again: exit %d, stdout %q", code, out)
	}
}

func TestImageErrors(t *testing.T) {
	dir := newGitRepo(t)
	// One overlay without the bot's image: set-image must refuse it.
	noImage := filepath.Join(dir, "bots/two/manifests/envs/prd/kustomization.yaml")
	if err := os.WriteFile(noImage, []byte("# two in prd\nimages:\n  - name: other\n    newTag: v1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	snapshot := func() string {
		var b strings.Builder
		for _, bot := range []string{"one", "two"} {
			for _, env := range []string{"dev", "prd"} {
				b.WriteString(readFile(t, filepath.Join(dir, "bots", bot, "manifests/envs", env, "kustomization.yaml")))
			}
		}
		return b.String()
	}
	before := snapshot()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no env", []string{"set-image", "one", "--tag", "v1"}, exitUsage, "--env is required"},
		{"no tag", []string{"set-image", "one", "--env", "dev"}, exitUsage, "--tag is required"},
		{"latest", []string{"set-image", "one", "--env", "dev", "--tag", "latest"}, exitUsage, `--tag: tag "latest"`},
		{"bad tag", []string{"set-image", "one", "--env", "dev", "--tag", "a/b"}, exitUsage, `--tag: tag "a/b": want`},
		{"no bots", []string{"set-image", "--env", "dev", "--tag", "v1"}, exitUsage, "name at least one bot, or use --all-changed"},
		{"bots and all-changed", []string{"set-image", "one", "--all-changed", "--base", "HEAD", "--env", "dev", "--tag", "v1"}, exitUsage, "not both"},
		{"all-changed without base", []string{"set-image", "--all-changed", "--env", "dev", "--tag", "v1"}, exitUsage, "--all-changed needs --base"},
		{"base without all-changed", []string{"set-image", "one", "--base", "HEAD", "--env", "dev", "--tag", "v1"}, exitUsage, "--base and --head go with --all-changed"},
		{"bad bot name", []string{"set-image", "One", "--env", "dev", "--tag", "v1"}, exitUsage, `bot name "One"`},
		{"unknown env", []string{"set-image", "one", "--env", "stg", "--tag", "v1"}, exitUsage, `environment "stg": want one of [dev prd]`},
		{"unknown bot", []string{"set-image", "one", "nope", "--env", "dev", "--tag", "v1"}, exitProblems, `nothing written:
unknown bot "nope": no directory bots/nope`},
		{"overlay without the image", []string{"set-image", "one", "two", "--env", "prd", "--tag", "v1"}, exitProblems,
			`bots/two/manifests/envs/prd/kustomization.yaml: images: no entry named "two"`},
		{"unknown base", []string{"set-image", "--all-changed", "--base", "nope", "--env", "dev", "--tag", "v1"}, exitProblems, "--base nope: no such commit"},
		{"changed without base", []string{"changed"}, exitUsage, "give one of --base, --deployed and --event-name"},
		{"changed with two bases", []string{"changed", "--base", "HEAD", "--deployed", "dev"}, exitUsage, "give one of --base, --deployed and --event-name"},
		{"changed deployed-at alone", []string{"changed", "--base", "HEAD", "--deployed-at", "HEAD"}, exitUsage, "--deployed-at goes with --deployed"},
		{"changed event without file", []string{"changed", "--event-name", "push"}, exitUsage, "--event-name and --event go together"},
		{"changed deployed unknown env", []string{"changed", "--deployed", "qa"}, exitUsage, `environment "qa"`},
		{"promote bad format", []string{"promote", "one", "--from", "dev", "--to", "prd", "--format", "yaml"}, exitUsage, "--format yaml: want text or json"},
		{"bump no tag", []string{"bump", "one", "--env", "dev"}, exitUsage, "--tag is required"},
		{"bump not a release tag", []string{"bump", "one", "--env", "dev", "--tag", "1234567"}, exitUsage, `--tag "1234567": want a release's tag`},
		{"bump bad failed name", []string{"bump", "one", "--env", "dev", "--tag", strings.Repeat("ab", 20), "--failed", "Two"}, exitUsage, `bot name "Two"`},
		{"bump unknown env", []string{"bump", "one", "--env", "qa", "--tag", strings.Repeat("ab", 20)}, exitUsage, `environment "qa"`},
		{"changed bad format", []string{"changed", "--base", "HEAD", "--format", "yaml"}, exitUsage, "--format yaml: want json or lines"},
		{"changed with args", []string{"changed", "one", "--base", "HEAD"}, exitUsage, `changed takes no arguments, got ["one"]`},
		{"promote same env", []string{"promote", "one", "--from", "dev", "--to", "dev"}, exitUsage, "--from and --to are both dev"},
		{"promote no to", []string{"promote", "one", "--from", "dev"}, exitUsage, "--from and --to are required"},
		{"promote bots and all", []string{"promote", "one", "--all", "--from", "dev", "--to", "prd"}, exitUsage, "not both"},
		{"promote unknown env", []string{"promote", "one", "--from", "qa", "--to", "prd"}, exitUsage, `environment "qa"`},
		{"promote overlay without the image", []string{"promote", "--all", "--from", "prd", "--to", "dev"}, exitProblems, `bots/two/manifests/envs/prd/kustomization.yaml: images: no entry named "two"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := run(t, append([]string{"--repo", dir}, tt.args...)...)
			if code != tt.code || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errs, tt.code, tt.want)
			}
			if after := snapshot(); after != before {
				t.Errorf("overlays changed:\n%s", after)
			}
		})
	}
}
