package scaffold

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/botfleet/botfleet/pkg/golden"
	"github.com/botfleet/botfleet/tools/internal/settings"
)

// TestHelloIsTemplateOutput is the proof that the templates produce a
// working bot: bots/hello, whose tests run in `make test`, must be exactly
// what `botctl new hello` writes, apart from the image tags releases set.
func TestHelloIsTemplateOutput(t *testing.T) {
	if golden.Updating() { // -update regenerates bots/hello in the repo, as `botctl new hello --force` does
		if _, err := New(t.Context(), repoDir, Options{Name: "hello", Force: true}); err != nil {
			t.Fatal(err)
		}
	}
	root := tempRepo(t, true)
	res, err := New(t.Context(), root, Options{Name: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	if res.GoWork {
		t.Error("go.work changed, but it lists ./bots/hello already")
	}
	got := snapshot(t, filepath.Join(root, "bots", "hello"))
	want := snapshot(t, filepath.Join(repoDir, "bots", "hello"))
	tag := regexp.MustCompile(`(?m)^(\s*newTag:).*$`)
	var diffs []string
	for _, p := range slices.Sorted(maps.Keys(mergeKeys(got, want))) {
		g, w := got[p], want[p]
		if filepath.Base(p) == "kustomization.yaml" && strings.HasPrefix(p, filepath.Join("manifests", "envs")) {
			g, w = tag.ReplaceAllString(g, "$1 <tag>"), tag.ReplaceAllString(w, "$1 <tag>")
		}
		if _, ok := got[p]; !ok {
			diffs = append(diffs, "bots/hello/"+p+": not written by the templates")
			continue
		}
		if _, ok := want[p]; !ok {
			diffs = append(diffs, "bots/hello/"+p+": written by the templates, missing in the repo")
			continue
		}
		if d := unifiedDiff("bots/hello/"+p, "botctl new hello: "+p, w, g); d != "" {
			diffs = append(diffs, d)
		}
	}
	if len(diffs) > 0 {
		t.Errorf("bots/hello is not what `botctl new hello` produces (image tags aside):\n%s\n"+
			"Fix: if the templates (tools/internal/scaffold/templates) are right, regenerate it from the repo root:\n"+
			"  go run ./tools/cmd/botctl new hello --force\n"+
			"else change the templates to produce the bots/hello you want.", strings.Join(diffs, "\n"))
	}
}

func mergeKeys(a, b map[string]string) map[string]string {
	m := maps.Clone(a)
	maps.Copy(m, b)
	return m
}

func TestCheckName(t *testing.T) {
	tests := []struct {
		name string
		want string // "" means valid
	}{
		{"hello", ""},
		{"deploy-bot", ""},
		{"a", ""},
		{"a1-2b", ""},
		{strings.Repeat("a", 40), ""},
		{"", "empty"},
		{strings.Repeat("a", 41), "41 characters, at most 40"},
		{"Hello", "must start with a lowercase letter"},
		{"1bot", "must start with a lowercase letter"},
		{"-bot", "must start with a lowercase letter"},
		{"../x", "must start with a lowercase letter"},
		{"bot-", "must not end in a dash"},
		{"foo_bar", `'_' not allowed: use lowercase letters, digits and dashes (e.g. "foo-bar")`},
		{"fooBar", `uppercase 'B' not allowed: use lowercase letters, digits and dashes (e.g. "foobar")`},
		{"a/b", `'/' not allowed`},
		{"a.b", `'.' not allowed`},
		{"héllo", `'é' not allowed`},
		// Every fault at once.
		{"Bad_Name", `bot name "Bad_Name": must start with a lowercase letter; uppercase 'B', 'N' not allowed; '_' not allowed: use lowercase letters, digits and dashes (e.g. "bad-name")`},
		{"_x-", `must start with a lowercase letter; '_' not allowed: use lowercase letters, digits and dashes; must not end in a dash (e.g. "x")`},
		{"pkg", "reserved"},
		{"tools", "reserved"},
		{"manifests", "reserved"},
		{"all", "reserved"},
		{"go", "reserved"},
		{"std", "reserved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckName(tt.name)
			var ne *NameError
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("CheckName(%q) = %v, want nil", tt.name, err)
			case tt.want != "" && (!errors.As(err, &ne) || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("CheckName(%q) = %v, want a NameError with %q", tt.name, err, tt.want)
			}
		})
	}
}

// TestNewRefuses: every refusal changes nothing, inside the repo or out.
func TestNewRefuses(t *testing.T) {
	write := func(t *testing.T, p, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	symlink := func(t *testing.T, target, p string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	replaceIn := func(t *testing.T, p, old, new string) {
		t.Helper()
		data, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(data), old) {
			t.Fatalf("%s lacks %q (%v)", p, old, err)
		}
		write(t, p, strings.Replace(string(data), old, new, 1))
	}
	tests := []struct {
		name    string
		bot     string
		force   bool
		fullPkg bool // tidy runs
		env     []string
		setup   func(t *testing.T, root, outside string)
		want    string
	}{
		{name: "bad name", bot: "Foo", want: `bot name "Foo": must start with a lowercase letter`},
		{name: "trailing dash", bot: "foo-", want: "must not end in a dash"},
		{name: "too long", bot: strings.Repeat("x", 41), want: "41 characters, at most 40"},
		{name: "path", bot: "../../etc", want: "must start with a lowercase letter"},
		{name: "reserved", bot: "tools", want: "reserved"},
		{name: "exists", bot: "foo", want: "bots/foo already exists",
			setup: func(t *testing.T, root, _ string) { write(t, filepath.Join(root, "bots/foo/foo.go"), "package main\n") }},
		{name: "exists as a file", bot: "foo", force: true, want: "bots/foo exists and is not a directory",
			setup: func(t *testing.T, root, _ string) { write(t, filepath.Join(root, "bots/foo"), "x") }},
		{name: "bot dir is a symlink out of the repo", bot: "foo", force: true, want: "bots/foo is a symlink",
			setup: func(t *testing.T, root, outside string) { symlink(t, outside, filepath.Join(root, "bots/foo")) }},
		{name: "bots is a symlink out of the repo", bot: "foo", want: "escapes",
			setup: func(t *testing.T, root, outside string) { symlink(t, outside, filepath.Join(root, "bots")) }},
		{name: "symlink to another bot inside", bot: "foo", force: true, want: "bots/foo/config is not a regular file",
			setup: func(t *testing.T, root, _ string) {
				write(t, filepath.Join(root, "bots/hello/config/local.yaml"), "greeting: Hi\n")
				symlink(t, "../hello/config", filepath.Join(root, "bots/foo/config"))
			}},
		{name: "symlinked file inside", bot: "foo", force: true, want: "bots/foo/main.go is not a regular file",
			setup: func(t *testing.T, root, outside string) {
				write(t, filepath.Join(outside, "main.go"), "package main\n")
				symlink(t, filepath.Join(outside, "main.go"), filepath.Join(root, "bots/foo/main.go"))
			}},
		{name: "no go.work", bot: "foo", want: "is not a botfleet repo root: it has no go.work",
			setup: func(t *testing.T, root, _ string) { os.Remove(filepath.Join(root, "go.work")) }},
		{name: "no pkg", bot: "foo", want: "it has no pkg/go.mod",
			setup: func(t *testing.T, root, _ string) { os.RemoveAll(filepath.Join(root, "pkg")) }},
		{name: "no settings", bot: "foo", want: "it has no botfleet.yaml",
			setup: func(t *testing.T, root, _ string) { os.Remove(filepath.Join(root, "botfleet.yaml")) }},
		{name: "bad settings", bot: "foo", want: "aws.region",
			setup: func(t *testing.T, root, _ string) {
				replaceIn(t, filepath.Join(root, "botfleet.yaml"), "region: eu-west-1", "region: Ireland")
			}},
		{name: "module prefix disagrees with pkg", bot: "foo", want: `pkg/go.mod declares module "github.com/botfleet/botfleet/pkg", but botfleet.yaml's git.modulePrefix makes it "example.com/other/pkg"`,
			setup: func(t *testing.T, root, _ string) {
				replaceIn(t, filepath.Join(root, "botfleet.yaml"), "modulePrefix: github.com/botfleet/botfleet", "modulePrefix: example.com/other")
			}},
		{name: "unclosed use block", bot: "foo", want: "go.work: a use block is not closed",
			setup: func(t *testing.T, root, _ string) {
				write(t, filepath.Join(root, "go.work"), "go 1.26.0\n\nuse (\n\t./pkg\n")
			}},
		{name: "tidy fails offline", bot: "foo", fullPkg: true, want: "go mod tidy (offline, from the module cache)",
			setup: func(t *testing.T, root, _ string) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, outside := tempRepo(t, tt.fullPkg), t.TempDir()
			env := tt.env
			if tt.fullPkg {
				// An empty module cache: tidy cannot find pkg's requirements.
				env = append(env, "GOMODCACHE="+t.TempDir())
			}
			if tt.setup != nil {
				tt.setup(t, root, outside)
			}
			before, beforeOut := snapshot(t, root), snapshot(t, outside)
			_, err := New(t.Context(), root, Options{Name: tt.bot, Force: tt.force, Env: env})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want an error with %q", err, tt.want)
			}
			if d := cmp.Diff(before, snapshot(t, root)); d != "" {
				t.Errorf("the repo changed (-before +after):\n%s", d)
			}
			if d := cmp.Diff(beforeOut, snapshot(t, outside)); d != "" {
				t.Errorf("a directory outside the repo changed (-before +after):\n%s", d)
			}
		})
	}
}

// TestNewAndForce creates a bot, then rewrites it with Force: template
// files are restored, other files and the overlay's image tag kept.
func TestNewAndForce(t *testing.T) {
	root := tempRepo(t, true)
	ctx := t.Context()
	res, err := New(ctx, root, Options{Name: "foo"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"go.mod", "go.sum", "main.go", "foo.go", "foo_test.go", "e2e_test.go", "README.md",
		"slack-app.dev.yaml", "slack-app.prd.yaml", "manifests/envs/prd/kustomization.yaml", "testdata/help.golden"} {
		if !slices.Contains(res.Written, f) {
			t.Errorf("Written lacks %s: %v", f, res.Written)
		}
	}
	// In the use block, in order, whatever other bots the repo has.
	work, _ := os.ReadFile(filepath.Join(root, "go.work"))
	var uses []string
	for l := range strings.Lines(string(work)) {
		if strings.HasPrefix(l, "\t./") {
			uses = append(uses, strings.TrimSpace(l))
		}
	}
	if !res.GoWork || !slices.Contains(uses, "./bots/foo") || !slices.IsSorted(uses) {
		t.Errorf("go.work (changed %v):\n%s", res.GoWork, work)
	}
	first := snapshot(t, filepath.Join(root, "bots/foo"))
	if strings.Contains(first["go.mod"], "// indirect") == false || !strings.Contains(first["go.sum"], "github.com/slack-go/slack") {
		t.Errorf("go.mod/go.sum not tidied:\n%s", first["go.mod"])
	}
	entries, _ := os.ReadDir(filepath.Join(root, "bots"))
	if len(entries) != 1 {
		t.Errorf("bots/ holds %v, want only foo (no staging left)", entries)
	}

	if _, err := New(ctx, root, Options{Name: "foo"}); !errors.Is(err, ErrExists) {
		t.Fatalf("second New without Force = %v, want ErrExists", err)
	}

	botDir := filepath.Join(root, "bots/foo")
	os.WriteFile(filepath.Join(botDir, "foo.go"), []byte("package main // edited\n"), 0o644)
	os.WriteFile(filepath.Join(botDir, "NOTES.txt"), []byte("mine\n"), 0o644)
	os.MkdirAll(filepath.Join(botDir, "internal/x"), 0o755)
	os.WriteFile(filepath.Join(botDir, "internal/x/x.go"), []byte("package x\n"), 0o644)
	dev := filepath.Join(botDir, "manifests/envs/dev/kustomization.yaml")
	os.WriteFile(dev, []byte(strings.Replace(first["manifests/envs/dev/kustomization.yaml"], `newTag: "0000000"`, "newTag: 1a2b3c4", 1)), 0o644)

	res, err = New(ctx, root, Options{Name: "foo", Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"NOTES.txt", "internal/x/x.go"}; !slices.Equal(res.Kept, want) {
		t.Errorf("Kept = %v, want %v", res.Kept, want)
	}
	if res.GoWork {
		t.Error("go.work changed again")
	}
	second := snapshot(t, botDir)
	for p, want := range map[string]string{
		"foo.go":                                first["foo.go"],
		"NOTES.txt":                             "mine\n",
		"internal/x/x.go":                       "package x\n",
		"go.sum":                                first["go.sum"],
		"manifests/envs/dev/kustomization.yaml": strings.Replace(first["manifests/envs/dev/kustomization.yaml"], `newTag: "0000000"`, `newTag: "1a2b3c4"`, 1),
	} {
		if second[p] != want {
			t.Errorf("after --force, %s:\n%s\nwant:\n%s", p, second[p], want)
		}
	}
	work2, _ := os.ReadFile(filepath.Join(root, "go.work"))
	if string(work2) != string(work) {
		t.Errorf("go.work changed:\n%s", work2)
	}
}

// TestRenderFromSettings: what differs between repos comes from the
// settings, not from constants.
func TestRenderFromSettings(t *testing.T) {
	s, err := settings.Parse([]byte(`
aws:
  accountID: "210987654321"
  region: us-east-2
  ecrRegistry: 210987654321.dkr.ecr.us-east-2.amazonaws.com
  imagePrefix: chatops
  roleARN: arn:aws:iam::{{account}}:role/botfleet-{{env}}-{{bot}}
  oidcProvider: oidc.eks.us-east-2.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF
  permissionsBoundary: arn:aws:iam::{{account}}:policy/botfleet-bot-boundary
git:
  repoURL: https://git.example.com/acme/fleet.git
  revision: trunk
  modulePrefix: example.com/acme/fleet
kubernetes:
  version: "1.33"
argocd:
  namespace: argocd
  project: fleet
environments:
  dev:
    namespace: chat-dev
    efs: {fileSystemID: fs-0123456789abcdef0, accessPointID: fsap-0123456789abcdef0}
  prd:
    namespace: chat-prd
    efs: {fileSystemID: fs-0123456789abcdef0, accessPointID: fsap-0123456789abcdef1}
`))
	if err != nil {
		t.Fatal(err)
	}
	files, err := Render(NewData("deploy-bot", s, "1.26.0"))
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]string{}
	for _, f := range files {
		byPath[f.Path] = string(f.Data)
		if strings.Contains(byPath[f.Path], "botfleet/botfleet") || strings.Contains(byPath[f.Path], "123456789012") || strings.Contains(byPath[f.Path], "infra-bot-") {
			t.Errorf("%s holds a value of this repo's settings, not the given ones", f.Path)
		}
	}
	tests := []struct{ file, want string }{
		{"go.mod", "module example.com/acme/fleet/bots/deploy-bot\n\ngo 1.26.0\n\nrequire example.com/acme/fleet/pkg v0.0.0\n\nreplace example.com/acme/fleet/pkg => ../../pkg\n"},
		{"main.go", `import "example.com/acme/fleet/pkg/botkit/botmain"`},
		{"main.go", `botmain.Main("deploy-bot", setup)`},
		{"deploy-bot.go", `"example.com/acme/fleet/pkg/botkit"`},
		{"deploy-bot_test.go", `botkittest.WithName("deploy-bot")`},
		{"Dockerfile", "-X example.com/acme/fleet/pkg/botkit/botmain.Version="},
		{"Dockerfile", "COPY bots/deploy-bot/ bots/deploy-bot/"},
		{"manifests/envs/dev/kustomization.yaml", "namespace: chat-dev\n"},
		{"manifests/envs/prd/kustomization.yaml", "namespace: chat-prd\n"},
		{"manifests/envs/prd/kustomization.yaml", "newName: 210987654321.dkr.ecr.us-east-2.amazonaws.com/chatops/deploy-bot\n"},
		{"manifests/envs/prd/deployment-patch.yaml", "value: /efs/config/deploy-bot/prd.yaml\n"},
		{"manifests/envs/prd/external-secret.yaml", "        key: botfleet/prd/deploy-bot\n"},
		{"manifests/envs/prd/external-secret.yaml", "      region: us-east-2\n"},
		{"manifests/envs/prd/external-secret.yaml", "eks.amazonaws.com/role-arn: arn:aws:iam::210987654321:role/botfleet-external-secrets-prd\n"},
		{"slack-app.prd.yaml", "  name: deploy-bot (prd)\n"},
		{"slack-app.dev.yaml", "    - command: /deploy-bot-dev\n"},
		{"slack-app.prd.yaml", "    - command: /deploy-bot\n"},
		{"README.md", "`arn:aws:iam::210987654321:role/botfleet-dev-deploy-bot`"},
		// No iam.yaml: no role on the ServiceAccount (awsplatform.ServiceAccountPatch).
		{"manifests/envs/prd/serviceaccount-patch.yaml", "as\n# bots/deploy-bot/iam.yaml does not exist."},
		{"testdata/help.golden", "*deploy-bot* commands (mention me first, e.g. `@deploy-bot help`):"},
	}
	for _, tt := range tests {
		if got, ok := byPath[tt.file]; !ok || !strings.Contains(got, tt.want) {
			t.Errorf("%s lacks %q:\n%s", tt.file, tt.want, got)
		}
	}
}

func TestAddUse(t *testing.T) {
	tests := []struct {
		name, src, dir, want string
		changed              bool
	}{
		{"sorted block", "go 1.26.0\n\nuse (\n\t./bots/ansible\n\t./bots/hello\n\t./pkg\n\t./tools\n)\n", "./bots/foo",
			"go 1.26.0\n\nuse (\n\t./bots/ansible\n\t./bots/foo\n\t./bots/hello\n\t./pkg\n\t./tools\n)\n", true},
		{"last in block", "go 1.26.0\n\nuse (\n\t./a\n)\n", "./z", "go 1.26.0\n\nuse (\n\t./a\n\t./z\n)\n", true},
		{"already there", "use (\n\t./bots/foo\n)\n", "./bots/foo", "use (\n\t./bots/foo\n)\n", false},
		{"already there, spelled otherwise", "use (\n\t\"bots/foo\" // mine\n)\n", "./bots/foo", "use (\n\t\"bots/foo\" // mine\n)\n", false},
		{"comments kept", "use (\n\t// the framework\n\t./pkg // shared\n)\n", "./bots/foo",
			"use (\n\t// the framework\n\t./bots/foo\n\t./pkg // shared\n)\n", true},
		{"single-line uses", "go 1.26.0\n\nuse ./pkg\nuse ./tools\n\nreplace x => ./y\n", "./bots/foo",
			"go 1.26.0\n\nuse ./pkg\nuse ./tools\nuse ./bots/foo\n\nreplace x => ./y\n", true},
		{"single-line, already there", "use ./bots/foo\n", "./bots/foo", "use ./bots/foo\n", false},
		{"no use", "go 1.26.0", "./bots/foo", "go 1.26.0\n\nuse ./bots/foo\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed, err := AddUse([]byte(tt.src), tt.dir)
			if err != nil || string(got) != tt.want || changed != tt.changed {
				t.Errorf("AddUse = %q, %v, %v\nwant %q, %v", got, changed, err, tt.want, tt.changed)
			}
		})
	}
}

func TestNextSteps(t *testing.T) {
	s, err := settings.Load(os.DirFS(repoDir))
	if err != nil {
		t.Fatal(err)
	}
	got, err := NextSteps(NewData("foo", s, "1.26.0"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"make run BOT=foo", "bots/foo/foo.go", "`botctl slack-app apply foo --env <env>`", "`connections:write`",
		"`botctl secrets put foo --env <env>`",
		"`manifests/envs/<env>/config.yaml` (no secrets there): each\n   sync installs it on EFS",
		"arn:aws:iam::123456789012:role/botfleet-foo-dev", "Argo CD creates and syncs `foo-dev`",
		`manifests/README.md, "Each new bot, once"`, "`cd bots/foo && go test -run TestHelpGolden -update`",
		"`cd tools && go test ./internal/render -run TestGolden -update`",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("next steps lack %q:\n%s", want, got)
		}
	}
}

func TestUnifiedDiff(t *testing.T) {
	a := "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n"
	b := "1\n2\n3\n4\nfive\n6\n7\n8\n9\n10\n"
	want := "--- a\n+++ b\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"
	if got := unifiedDiff("a", "b", a, b); got != want {
		t.Errorf("unifiedDiff:\n%s\nwant:\n%s", got, want)
	}
	if got := unifiedDiff("a", "b", a, a); got != "" {
		t.Errorf("equal texts: %q", got)
	}
}
