package changed

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBots(t *testing.T) {
	fixture, base, env := newFixture(t)
	edit := func(name, old, new string) func(t *testing.T, repo string) {
		return func(t *testing.T, repo string) {
			p := filepath.Join(repo, name)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), old) {
				t.Fatalf("%s lacks %q", name, old)
			}
			if err := os.WriteFile(p, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	add := func(files map[string]string) func(t *testing.T, repo string) {
		return func(t *testing.T, repo string) { write(t, repo, files) }
	}
	remove := func(name string) func(t *testing.T, repo string) {
		return func(t *testing.T, repo string) {
			if err := os.RemoveAll(filepath.Join(repo, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	gitCmd := func(args ...string) func(t *testing.T, repo string) {
		return func(t *testing.T, repo string) { run(t, repo, nil, "git", args...) }
	}
	tidyAll := func(t *testing.T, repo string) { tidy(t, repo, env) }

	tests := []struct {
		name   string
		edits  []func(t *testing.T, repo string)
		want   []string
		broken bool // the bots are listed because they do not build
	}{
		{"nothing", nil, []string{}, false},
		{"one bot's source", []func(*testing.T, string){edit("bots/a/main.go", "func main() {", "func main() {\n\tprintln()")}, []string{"a"}, false},
		{"package two bots link", []func(*testing.T, string){edit("pkg/greet/greet.go", "greets.", "greets you.")}, []string{"a", "b"}, false},
		{"package no bot links", []func(*testing.T, string){edit("pkg/unused/unused.go", "Nothing()", "Nothing2()")}, []string{}, false},
		{"new file in a linked package", []func(*testing.T, string){add(map[string]string{"pkg/shout/whisper.go": "package shout\n"})}, []string{"b", "c"}, false},
		{"deleted file of a linked package", []func(*testing.T, string){gitCmd("rm", "-q", "pkg/shout/quiet.go")}, []string{"b", "c"}, false},
		{"deleted package", []func(*testing.T, string){remove("pkg/shout")}, []string{"b", "c"}, true},
		{"embedded file", []func(*testing.T, string){edit("pkg/greet/templates/hello.txt", "hello", "hallo")}, []string{"a", "b"}, false},
		{"deleted embedded file", []func(*testing.T, string){remove("pkg/greet/templates/bye.txt")}, []string{"a", "b"}, false},
		{"pkg test and README", []func(*testing.T, string){
			edit("pkg/greet/greet_test.go", "_ = Hello()", "_ = Hello() + \"\""),
			edit("pkg/greet/README.md", "greet", "greet!"),
		}, []string{}, false},
		{"dependency only one bot links (pkg/go.mod, go.sum)", []func(*testing.T, string){
			edit("pkg/go.mod", depPath+" v1.0.0", depPath+" v1.1.0"), tidyAll,
		}, []string{"a"}, false},
		{"go.sum lines only", []func(*testing.T, string){
			func(t *testing.T, repo string) {
				p := filepath.Join(repo, "bots/c/go.sum")
				if err := os.WriteFile(p, []byte(depPath+" v1.1.0/go.mod h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
		}, []string{}, false},
		{"docs, tools, workflows, go.work, cluster manifests", []func(*testing.T, string){
			edit("README.md", "fleet", "the fleet"),
			edit("docs/notes.md", "notes", "Notes"),
			edit("tools/main.go", "func main() {}", "func main() { println() }"),
			edit(".github/workflows/ci.yml", "push", "[push]"),
			edit("go.work", "./bots/c\n", "./bots/c\n\t./tools\n"),
			edit("manifests/namespace.yaml", "Namespace", "Namespace\nmetadata: {name: x}"),
		}, []string{}, false},
		{"bot README, config, manifests, tests, unlinked command", []func(*testing.T, string){
			edit("bots/a/README.md", "# a", "# A"),
			edit("bots/a/config/local.yaml", "hi", "hello"),
			edit("bots/b/manifests/envs/dev/kustomization.yaml", "0000000", "1234567"),
			edit("bots/c/main_test.go", "{}", "{ t.Log() }"),
			edit("bots/c/internal/cmd/seed/main.go", "{}", "{ println() }"),
		}, []string{}, false},
		{"Dockerfile", []func(*testing.T, string){edit("bots/b/Dockerfile", "golang:1.26", "golang:1.26.1")}, []string{"b"}, false},
		{"dockerignore", []func(*testing.T, string){edit("bots/c/Dockerfile.dockerignore", "**/*.md\n", "")}, []string{"c"}, false},
		{"file a Dockerfile copies from elsewhere", []func(*testing.T, string){edit("docs/guide.md", "guide", "Guide")}, []string{"c"}, false},
		{"bot's file a Dockerfile copies by name", []func(*testing.T, string){edit("bots/b/config/local.yaml", "hi", "hello")}, []string{"b"}, false},
		{"renamed and deleted bots", []func(*testing.T, string){
			gitCmd("mv", "bots/c", "bots/d"),
			edit("bots/d/Dockerfile", "bots/c/", "bots/d/"),
			remove("bots/b"),
		}, []string{"d"}, false},
		{"new bot", []func(*testing.T, string){add(botFiles("e", "shout")), tidyAll}, []string{"e"}, false},
		{"pkg go directive", []func(*testing.T, string){edit("pkg/go.mod", "go 1.26.0", "go 1.25.0")}, []string{"a", "b", "c"}, false},
		{"bot go.mod comment", []func(*testing.T, string){edit("bots/b/go.mod", "go 1.26.0\n", "go 1.26.0 // the language\n")}, []string{}, false},
		{"bot requirement", []func(*testing.T, string){edit("bots/c/go.mod", "/pkg v0.0.0", "/pkg v0.0.1")}, []string{"c"}, false},
		{"bot toolchain line", []func(*testing.T, string){edit("bots/c/go.mod", "go 1.26.0\n", "go 1.26.0\n\ntoolchain go1.26.8\n")}, []string{"c"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := filepath.Join(t.TempDir(), "repo")
			run(t, filepath.Dir(repo), nil, "git", "clone", "-q", fixture, repo)
			for _, e := range tt.edits {
				e(t, repo)
			}
			commitAll(t, repo, tt.name)
			res, err := Bots(t.Context(), Options{Repo: repo, Base: base, GoEnv: env})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, res.Bots); diff != "" {
				t.Errorf("bots (-want +got):\n%s\nreasons: %v", diff, res.Reasons)
			}
			for _, b := range res.Bots {
				r := res.Reasons[b]
				t.Logf("%s: %s", b, r)
				// Listing a bot because go could not answer is a fallback, never the point.
				if r == "" || (strings.Contains(r, "cannot list") || strings.Contains(r, "does not build")) != tt.broken {
					t.Errorf("bot %s: reason %q", b, r)
				}
			}
			if res.Base != base {
				t.Errorf("base %s, want %s", res.Base, base)
			}
		})
	}
}

// TestBotsRevisions checks which trees are compared: head's commit, not
// the work tree, and head against its merge base with base.
func TestBotsRevisions(t *testing.T) {
	fixture, _, env := newFixture(t)
	repo := filepath.Join(t.TempDir(), "repo")
	run(t, filepath.Dir(repo), nil, "git", "clone", "-q", fixture, repo)

	// main moves on with a change to c; the branch changes b only.
	write(t, repo, map[string]string{"bots/c/extra.go": "package main\n"})
	commitAll(t, repo, "c on main")
	run(t, repo, nil, "git", "switch", "-q", "-c", "feature", "HEAD~1")
	write(t, repo, map[string]string{"bots/b/extra.go": "package main\n"})
	commitAll(t, repo, "b on the branch")
	// Uncommitted: not part of HEAD, so not counted.
	write(t, repo, map[string]string{"pkg/greet/greet.go": "package greet\n\nfunc Hello() string { return \"\" }\n"})

	res, err := Bots(t.Context(), Options{Repo: repo, Base: "main", GoEnv: env})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"b"}, res.Bots); diff != "" {
		t.Errorf("bots (-want +got):\n%s\nreasons: %v", diff, res.Reasons)
	}

	// Head given: main, against the branch's merge base.
	res, err = Bots(t.Context(), Options{Repo: repo, Base: "feature", Head: "main", GoEnv: env})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"c"}, res.Bots); diff != "" {
		t.Errorf("head main: bots (-want +got):\n%s", diff)
	}
}

func TestBotsErrors(t *testing.T) {
	fixture, _, env := newFixture(t)
	tests := []struct {
		name       string
		base, head string
		want       string
	}{
		{"no base", "", "", "no base revision"},
		{"unknown base", "nope", "", "--base nope: no such commit"},
		{"unknown head", "main", "nope", "--head nope: no such commit"},
		{"option as revision", "--all", "", `--base "--all": not a revision`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Bots(t.Context(), Options{Repo: fixture, Base: tt.base, Head: tt.head, GoEnv: env})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}
