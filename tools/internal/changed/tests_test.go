package changed

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testsFixture is the fixture with one more package, pkg/fake, which only
// bot b's tests link (as bots' tests link pkg/botkit/slacktest).
func testsFixture(t *testing.T) (repo, base string, env []string) {
	t.Helper()
	repo, _, env = newFixture(t)
	write(t, repo, map[string]string{
		"pkg/fake/fake.go":      "package fake\n\n// Slack is a fake.\nfunc Slack() string { return \"fake\" }\n",
		"bots/b/fake_test.go":   "package main\n\nimport (\n\t\"testing\"\n\n\t\"" + modPrefix + "/pkg/fake\"\n)\n\nfunc TestFake(t *testing.T) { _ = fake.Slack() }\n",
		"pkg/greet/testdata/x":  "data\n",
		"bots/a/testdata/x.txt": "data\n",
	})
	base = commitAll(t, repo, "a test-only package")
	return repo, base, env
}

func TestTests(t *testing.T) {
	fixture, base, env := testsFixture(t)
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
	tidyAll := func(t *testing.T, repo string) { tidy(t, repo, env) }
	all := []string{"bots/a", "bots/b", "bots/c", "pkg", "tools"}

	tests := []struct {
		name  string
		edits []func(t *testing.T, repo string)
		want  []string
	}{
		{"nothing", nil, []string{}},
		{"a bot's code", []func(*testing.T, string){edit("bots/a/main.go", "func main() {", "func main() {\n\tprintln()")}, []string{"bots/a"}},
		{"a bot's tests and test data", []func(*testing.T, string){
			edit("bots/a/main_test.go", "{}", "{ t.Log() }"),
			edit("bots/a/testdata/x.txt", "data", "Data"),
		}, []string{"bots/a"}},
		{"a bot's README and manifests, which tools' tests read", []func(*testing.T, string){
			edit("bots/c/README.md", "# c", "# C"),
			edit("bots/c/manifests/envs/dev/kustomization.yaml", "0000000", "1234567"),
		}, []string{"bots/c", "tools"}},
		{"a package two bots link", []func(*testing.T, string){edit("pkg/greet/greet.go", "greets.", "greets you.")}, []string{"bots/a", "bots/b", "pkg", "tools"}},
		{"a package only a bot's tests link", []func(*testing.T, string){edit("pkg/fake/fake.go", "a fake", "the fake")}, []string{"bots/b", "pkg", "tools"}},
		{"a package nothing links", []func(*testing.T, string){edit("pkg/unused/unused.go", "Nothing()", "Nothing2()")}, []string{"pkg", "tools"}},
		{"an embedded file", []func(*testing.T, string){edit("pkg/greet/templates/hello.txt", "hello", "hallo")}, []string{"bots/a", "bots/b", "pkg", "tools"}},
		{"pkg's tests and test data", []func(*testing.T, string){
			edit("pkg/greet/greet_test.go", "_ = Hello()", "_ = Hello() + \"\""),
			edit("pkg/greet/testdata/x", "data", "Data"),
		}, []string{"pkg"}},
		{"pkg's go.mod: every module that links pkg", []func(*testing.T, string){
			edit("pkg/go.mod", depPath+" v1.0.0", depPath+" v1.1.0"), tidyAll,
		}, []string{"bots/a", "bots/b", "bots/c", "pkg", "tools"}},
		{"docs, workflows, cluster manifests", []func(*testing.T, string){
			edit("README.md", "fleet", "the fleet"),
			edit(".github/workflows/ci.yml", "push", "[push]"),
			edit("manifests/namespace.yaml", "Namespace", "Namespace\nmetadata: {name: x}"),
		}, []string{"tools"}},
		{"tools", []func(*testing.T, string){edit("tools/main.go", "func main() {}", "func main() { println() }")}, []string{"tools"}},
		{"go.work", []func(*testing.T, string){edit("go.work", "./bots/c\n", "./bots/c\n\t./tools\n")}, all},
		{"the Makefile", []func(*testing.T, string){add(map[string]string{"Makefile": "test:\n"})}, all},
		{"a new bot", []func(*testing.T, string){add(botFiles("e", "shout")), tidyAll}, []string{"bots/e", "tools"}},
		{"a deleted bot", []func(*testing.T, string){remove("bots/c")}, []string{"tools"}},
		{"a package two bots need, deleted: they do not build", []func(*testing.T, string){remove("pkg/shout")}, []string{"bots/b", "bots/c", "pkg", "tools"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := filepath.Join(t.TempDir(), "repo")
			run(t, filepath.Dir(repo), nil, "git", "clone", "-q", fixture, repo)
			for _, e := range tt.edits {
				e(t, repo)
			}
			commitAll(t, repo, tt.name)
			res, err := Tests(t.Context(), Options{Repo: repo, Base: base, Head: "HEAD", GoEnv: env})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, res.Modules); diff != "" {
				t.Errorf("modules (-want +got):\n%s\nreasons: %v", diff, res.Reasons)
			}
			for _, m := range res.Modules {
				t.Logf("%s: %s", m, res.Reasons[m])
				if res.Reasons[m] == "" {
					t.Errorf("%s: no reason", m)
				}
			}
		})
	}
}

// TestTestsWorkTree: without a head, uncommitted and untracked changes
// count; with one, only its commits do.
func TestTestsWorkTree(t *testing.T) {
	fixture, base, env := testsFixture(t)
	repo := filepath.Join(t.TempDir(), "repo")
	run(t, filepath.Dir(repo), nil, "git", "clone", "-q", fixture, repo)
	write(t, repo, map[string]string{"docs/notes.md": "committed\n"})
	commitAll(t, repo, "docs")
	write(t, repo, map[string]string{
		"bots/a/main_test.go": "package main\n\nimport \"testing\"\n\nfunc TestMain(t *testing.T) { t.Log() }\n", // modified
		"bots/c/extra.go":     "package main\n",                                                                  // untracked
		"bots/b/out.test":     "ignored\n",                                                                       // ignored
	})
	write(t, repo, map[string]string{".gitignore": "*.test\n"})
	run(t, repo, nil, "git", "add", ".gitignore")

	res, err := Tests(t.Context(), Options{Repo: repo, Base: base, GoEnv: env})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"bots/a", "bots/c", "tools"}, res.Modules); diff != "" {
		t.Errorf("work tree: modules (-want +got):\n%s\nreasons: %v", diff, res.Reasons)
	}
	if res.Head != "" {
		t.Errorf("work tree: head %q, want none", res.Head)
	}
	res, err = Tests(t.Context(), Options{Repo: repo, Base: base, Head: "HEAD", GoEnv: env})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"tools"}, res.Modules); diff != "" {
		t.Errorf("HEAD: modules (-want +got):\n%s\nreasons: %v", diff, res.Reasons)
	}
	if _, err := Tests(t.Context(), Options{Repo: repo, Base: "nope"}); err == nil || !strings.Contains(err.Error(), "--base nope: no such commit") {
		t.Errorf("unknown base: %v", err)
	}
}

func TestToolsRead(t *testing.T) {
	for p, want := range map[string]bool{
		"README.md":                            true,
		"botfleet.yaml":                        true,
		"pkg/botkit/bot.go":                    true, // a new bot's tests and the docs' samples build on it
		"pkg/botkit/bot_test.go":               false,
		"pkg/botkit/testdata/help.golden":      false,
		"bots/ecs/ecs.go":                      false,
		"bots/ecs/ecs_test.go":                 false,
		"bots/ecs/testdata/x.golden":           false,
		"bots/ecs/README.md":                   true,
		"bots/ecs/manifests/base/service.yaml": true,
		"bots/ecs/go.sum":                      true,
		"bots/hello/hello.go":                  true, // the reference bot
		"bots/hello/testdata/help.golden":      true,
		"tools/internal/render/testdata/x":     true,
	} {
		if got := toolsRead(p); got != want {
			t.Errorf("toolsRead(%s) = %v, want %v", p, got, want)
		}
	}
}

func TestModuleDirs(t *testing.T) {
	tree := t.TempDir()
	for _, f := range []string{"pkg/go.mod", "tools/go.mod", "bench/go.mod", "bots/x/go.mod", "bots/y/README.md", "docs/go.mod"} {
		write(t, tree, map[string]string{f: "module m\n"})
	}
	got, err := moduleDirs(tree)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"bench", "bots/x", "pkg", "tools"}; !cmp.Equal(got, want) {
		t.Errorf("moduleDirs = %q, want %q", got, want)
	}
}
