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

// clone clones the fixture into a temp dir of the test's.
func clone(t *testing.T, fixture string) string {
	t.Helper()
	repo := filepath.Join(t.TempDir(), "repo")
	run(t, filepath.Dir(repo), nil, "git", "clone", "-q", fixture, repo)
	return repo
}

// TestBotsPlatform checks that go list answers for the images' platform
// (linux/amd64, GOAMD64 v1), whatever the caller's: on an arm64 Mac a change
// to an x_amd64.go file still changes the images that link its package.
func TestBotsPlatform(t *testing.T) {
	fixture, _, env := newFixture(t)
	repo := clone(t, fixture)
	write(t, repo, map[string]string{
		"pkg/shout/arch_amd64.go": "package shout\n\nconst arch = \"amd64\"\n",
		"pkg/shout/arch_arm64.go": "package shout\n\nconst arch = \"arm64\"\n",
		"pkg/shout/os_linux.go":   "package shout\n\nconst goos = \"linux\"\n",
		"pkg/shout/os_darwin.go":  "package shout\n\nconst goos = \"darwin\"\n",
		"pkg/shout/fast.go":       "//go:build amd64.v3\n\npackage shout\n\nconst fast = true\n",
	})
	base := commitAll(t, repo, "platform files")
	callers := []struct{ goos, goarch, goamd64 string }{
		{"darwin", "arm64", ""},
		{"linux", "arm64", ""},
		{"linux", "amd64", "v3"},
	}
	tests := []struct {
		file string
		want []string
	}{
		{"pkg/shout/arch_amd64.go", []string{"b", "c"}},
		{"pkg/shout/arch_arm64.go", []string{}},
		{"pkg/shout/os_linux.go", []string{"b", "c"}},
		{"pkg/shout/os_darwin.go", []string{}},
		{"pkg/shout/fast.go", []string{}}, // amd64.v3 only; the images are v1
	}
	for _, caller := range callers {
		for _, tt := range tests {
			t.Run(caller.goos+"-"+caller.goarch+caller.goamd64+"/"+tt.file, func(t *testing.T) {
				t.Setenv("GOOS", caller.goos)
				t.Setenv("GOARCH", caller.goarch)
				t.Setenv("GOAMD64", caller.goamd64)
				run(t, repo, nil, "git", "reset", "-q", "--hard", base)
				p := filepath.Join(repo, filepath.FromSlash(tt.file))
				data, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, append(data, "\n// changed\n"...), 0o644); err != nil {
					t.Fatal(err)
				}
				commitAll(t, repo, "edit "+tt.file)
				res, err := Bots(t.Context(), Options{Repo: repo, Base: base, GoEnv: env})
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, res.Bots); diff != "" {
					t.Errorf("bots (-want +got):\n%s\nreasons: %v", diff, res.Reasons)
				}
			})
		}
	}
}

// TestBotsSettings checks that moving the images (account, region,
// registry, image prefix in botfleet.yaml) changes every bot, and that the
// file's other settings change none.
func TestBotsSettings(t *testing.T) {
	fixture, _, env := newFixture(t)
	repo := clone(t, fixture)
	const settingsFile = `# the repo's settings
aws:
  accountID: "123456789012"
  region: eu-west-1
  ecrRegistry: 123456789012.dkr.ecr.eu-west-1.amazonaws.com
  imagePrefix: botfleet
  roleARN: arn:aws:iam::{{account}}:role/botfleet-{{bot}}-{{env}}
  oidcProvider: oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF
  permissionsBoundary: arn:aws:iam::{{account}}:policy/botfleet-bot-boundary
kubernetes:
  version: "1.34"
`
	write(t, repo, map[string]string{"botfleet.yaml": settingsFile})
	base := commitAll(t, repo, "settings")
	all := []string{"a", "b", "c"}
	tests := []struct {
		name, old, new string
		want           []string
	}{
		{"registry", "ecrRegistry: 123456789012.dkr.ecr.eu-west-1", "ecrRegistry: 210987654321.dkr.ecr.eu-west-1", all},
		{"image prefix", "imagePrefix: botfleet", "imagePrefix: fleet", all},
		{"account", `accountID: "123456789012"`, `accountID: "210987654321"`, all},
		{"region", "eu-west-1", "eu-central-1", all}, // the registry and OIDC issuer move with it
		{"IRSA role pattern", "role/botfleet-{{bot}}", "role/botfleet-x-{{bot}}", []string{}},
		{"Kubernetes version", `version: "1.34"`, `version: "1.35"`, []string{}},
		{"comment", "# the repo's settings", "# settings", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(t, repo, nil, "git", "reset", "-q", "--hard", base)
			if !strings.Contains(settingsFile, tt.old) {
				t.Fatalf("settings lack %q", tt.old)
			}
			write(t, repo, map[string]string{"botfleet.yaml": strings.ReplaceAll(settingsFile, tt.old, tt.new)})
			commitAll(t, repo, tt.name)
			res, err := Bots(t.Context(), Options{Repo: repo, Base: base, GoEnv: env})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, res.Bots); diff != "" {
				t.Errorf("bots (-want +got):\n%s\nreasons: %v", diff, res.Reasons)
			}
			for _, b := range res.Bots {
				if !strings.HasPrefix(res.Reasons[b], "botfleet.yaml: aws.") {
					t.Errorf("bot %s: reason %q, want the setting that moved", b, res.Reasons[b])
				}
			}
		})
	}
}

// TestBotsBases checks bases per bot: each bot is compared with the commit
// its image was last built from, so one whose build failed stays changed
// after later commits that do not touch it, and an older head (a release run
// again after a newer one) changes nothing.
func TestBotsBases(t *testing.T) {
	fixture, base, env := newFixture(t)
	repo := clone(t, fixture)
	write(t, repo, map[string]string{"pkg/greet/greet.go": "package greet\n\nimport \"embed\"\n\n//go:embed templates\nvar templates embed.FS\n\n// Hello greets, again.\nfunc Hello() string { b, _ := templates.ReadFile(\"templates/hello.txt\"); return string(b) }\n"})
	greet := commitAll(t, repo, "greet: a and b") // a's image built; b's failed
	write(t, repo, map[string]string{"bots/c/extra.go": "package main\n"})
	later := commitAll(t, repo, "c only") // c's image built

	tests := []struct {
		name    string
		head    string
		bases   map[string]string
		want    []string
		reasons map[string]string // a part of each listed bot's reason
	}{
		{
			name:    "b's build failed at greet: still changed at later",
			bases:   map[string]string{"a": later, "b": base, "c": later},
			want:    []string{"b"},
			reasons: map[string]string{"b": "pkg/greet/greet.go"},
		},
		{
			name:  "every bot built at later",
			bases: map[string]string{"a": later, "b": later, "c": later},
			want:  []string{},
		},
		{
			name:  "an older head than every base: nothing",
			head:  greet,
			bases: map[string]string{"a": later, "b": later, "c": later},
			want:  []string{},
		},
		{
			name:    "bases unknown or no commit here",
			bases:   map[string]string{"a": later, "b": "", "c": strings.Repeat("ab", 20)},
			want:    []string{"b", "c"},
			reasons: map[string]string{"b": "no base known", "c": "is no commit here"},
		},
		{
			name:    "a bot missing from the bases",
			bases:   map[string]string{"a": later, "b": later},
			want:    []string{"c"},
			reasons: map[string]string{"c": "no base known"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Bots(t.Context(), Options{Repo: repo, Bases: tt.bases, Head: tt.head, GoEnv: env})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, res.Bots); diff != "" {
				t.Errorf("bots (-want +got):\n%s\nreasons: %v", diff, res.Reasons)
			}
			for b, want := range tt.reasons {
				if !strings.Contains(res.Reasons[b], want) {
					t.Errorf("bot %s: reason %q, want it to say %q", b, res.Reasons[b], want)
				}
			}
			if res.Base != "" {
				t.Errorf("Base %q with bases per bot, want none", res.Base)
			}
			if got := res.Bases["a"]; got != orDefault(tt.head, later) {
				t.Errorf("a compared with %s, want %s", got, orDefault(tt.head, later))
			}
		})
	}

	if _, err := Bots(t.Context(), Options{Repo: repo, Base: base, Bases: map[string]string{}, GoEnv: env}); err == nil || !strings.Contains(err.Error(), "give one") {
		t.Errorf("Base and Bases: error %v, want one that asks for one of them", err)
	}
}

func orDefault(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
