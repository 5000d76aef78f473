package doccheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// repoDir is the real repo; the tests only read it.
const repoDir = "../../.."

func TestExtract(t *testing.T) {
	md := "# Title\n" +
		"\n" +
		"```go\n" +
		"func a() {}\n" +
		"```\n" +
		"\n" +
		"```sh\n" +
		"make test\n" +
		"```\n" +
		"- a list item:\n" +
		"\n" +
		"  ```go\n" +
		"  func b() {}\n" +
		"  ```\n" +
		"<!-- not compiled: a sketch -->\n" +
		"```go\n" +
		"deploy(everything)\n" +
		"```\n" +
		"````go\n" +
		"const fence = \"```\"\n" +
		"````\n"
	got, err := Extract("README.md", []byte(md))
	if err != nil {
		t.Fatal(err)
	}
	want := []Block{
		{File: "README.md", Line: 4, Code: "func a() {}\n"},
		{File: "README.md", Line: 13, Code: "func b() {}\n"},
		{File: "README.md", Line: 20, Code: "const fence = \"```\"\n"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Extract (-want +got):\n%s", diff)
	}

	bad := []struct{ name, md, want string }{
		{"marker without a reason", "<!-- not compiled -->\n```go\nx\n```\n", "README.md:1: say why"},
		{"marker before prose", "<!-- not compiled: x -->\ntext\n", "README.md:1: a not compiled marker must be right before"},
		{"marker before another language", "<!-- not compiled: x -->\n```sh\nx\n```\n", "README.md:1: a not compiled marker must be right before"},
		{"marker at the end", "<!-- not compiled: x -->\n", "README.md:1: a not compiled marker"},
		{"unclosed", "```go\nfunc a() {}\n", "README.md:1: code block not closed"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Extract("README.md", []byte(tt.md)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Extract = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// The README's sample before it was fixed: setup takes a *botkit.Live[Config].
const oldSample = "```go\n" +
	"func main() { botmain.Main(\"hello\", setup) }\n" +
	"\n" +
	"type Config struct{ botkit.Settings }\n" +
	"\n" +
	"func setup(ctx context.Context, b *botkit.Bot, cfg *Config, env botkit.Env) error {\n" +
	"\treturn nil\n" +
	"}\n" +
	"```\n"

func TestCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go vet")
	}
	pkgDir := filepath.Join(repoDir, "pkg")
	good := "# A bot\n\n" + strings.Replace(oldSample, "cfg *Config", "cfg *botkit.Live[Config]", 1) +
		"\nIts test uses the setup above:\n\n```go\n" +
		"func TestPing(t *testing.T) {\n" +
		"\ttr := botkittest.New(t)\n" +
		"\tif err := setup(t.Context(), tr.Bot(), botkit.NewLive(&Config{}), botkit.Env{Name: \"local\"}); err != nil {\n" +
		"\t\tt.Fatal(err)\n" +
		"\t}\n" +
		"\tstrings := []string{\"a local name like a package's\"}\n" +
		"\t_ = strings\n" +
		"}\n```\n" +
		"\n<!-- not compiled: pseudo-code -->\n```go\ndeploy everything\n```\n" +
		"\n```go\npackage other\n\nimport \"fmt\"\n\nfunc F() { fmt.Println() }\n```\n"
	tests := []struct {
		name string
		md   string
		want string // "" means it compiles
	}{
		{"good", good, ""},
		{"old signature", "# A bot\n\n" + oldSample, "README.md:4:37: in call to botmain.Main, type func(ctx context.Context, b *botkit.Bot, cfg *Config, env botkit.Env) error of setup does not match"},
		{"statements", "```go\ntr := botkittest.New(t)\n```\n", "README.md:2: expected declaration, found tr"},
		{"wrong method", "```go\nfunc f(b *botkit.Bot) { b.Comand(\"x\", nil) }\n```\n", "README.md:2:27: b.Comand undefined"},
		{"vet finding", "```go\nfunc f() { fmt.Printf(\"%d\", \"x\") }\n```\n", "README.md:2:24: fmt.Printf format %d has arg \"x\" of wrong type string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{"README.md": {Data: []byte(tt.md)}}
			err := Check(t.Context(), fsys, []string{"README.md"}, pkgDir)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Check: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Check = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestRepoDocs compiles the samples of the repo's own Markdown files.
func TestRepoDocs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go vet")
	}
	fsys := os.DirFS(repoDir)
	files, err := Files(fsys)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"README.md", "docs/architecture.md", "bots/hello/README.md"} {
		if !strings.Contains(strings.Join(files, " "), want) {
			t.Errorf("Files = %v, want %s among them", files, want)
		}
	}
	if err := Check(t.Context(), fsys, files, filepath.Join(repoDir, "pkg")); err != nil {
		t.Error(err)
	}
}

// TestRepoPointsInside: the repo's docs and code cite only what the repo
// holds; the team's own design and style notes are not in it.
func TestRepoPointsInside(t *testing.T) {
	out, err := exec.Command("git", "-C", repoDir, "grep", "-n", "-I", "-E", `\b(DESIGN|STYLE)\.md\b`, "--", ".", ":!tools/internal/doccheck").CombinedOutput()
	if err == nil {
		t.Errorf("files cite documents that are not in the repo (docs/architecture.md holds the contracts):\n%s", out)
	} else if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("git grep: %v\n%s", err, out)
	}
}

func TestCitations(t *testing.T) {
	text := "see manifests/README.md, \"Each new bot, once\" and\n" +
		"[docs/architecture.md](../docs/architecture.md#cluster-contract), \"Cluster contract\"; not \"this\".\n" +
		"# (NOTES.md, \"images\")\n"
	want := []Citation{
		{Line: 1, Target: "manifests/README.md", Section: "Each new bot, once"},
		{Line: 2, Target: "../docs/architecture.md", Section: "Cluster contract"},
		{Line: 3, Target: "NOTES.md", Section: "images"},
	}
	if diff := cmp.Diff(want, Citations([]byte(text))); diff != "" {
		t.Errorf("Citations (-want +got):\n%s", diff)
	}
	md := "# Title\n\n## One-time bootstrap ##\n\n```sh\n# not a heading\n```\n3. **IRSA**, for bots\n- **Deploy key.** a key\n### Each new bot, once\n"
	if diff := cmp.Diff([]string{"Title", "One-time bootstrap", "IRSA", "Deploy key", "Each new bot, once"}, Headings([]byte(md))); diff != "" {
		t.Errorf("Headings (-want +got):\n%s", diff)
	}
}

// TestRepoCitations: every `file.md, "Section"` the repo's files cite (docs,
// code, the scaffold's templates, settings) names a heading of that file.
func TestRepoCitations(t *testing.T) {
	out, err := exec.Command("git", "-C", repoDir, "ls-files", "-z").Output()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		if strings.HasPrefix(f, "tools/internal/doccheck/") {
			continue // the fixtures above
		}
		data, err := os.ReadFile(filepath.Join(repoDir, f))
		if err != nil {
			continue // deleted in the work tree
		}
		for _, c := range Citations(data) {
			n++
			target := ""
			for _, p := range []string{filepath.Join(filepath.Dir(f), c.Target), c.Target} {
				if _, err := os.Stat(filepath.Join(repoDir, p)); err == nil {
					target = p
					break
				}
			}
			if target == "" {
				t.Errorf("%s:%d: cites %s, which is not in the repo", f, c.Line, c.Target)
				continue
			}
			md, err := os.ReadFile(filepath.Join(repoDir, target))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(Headings(md), c.Section) {
				t.Errorf("%s:%d: cites %s, %q, which has no such heading (it has %q)", f, c.Line, c.Target, c.Section, Headings(md))
			}
		}
	}
	if n == 0 {
		t.Error("no citations found: the pattern is broken")
	}
}
