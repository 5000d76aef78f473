package workflows

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/botfleet/botfleet/pkg/golden"
)

// Pins from the tagged releases the repo's workflows use.
const (
	checkout   = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1"
	setupGo    = "actions/setup-go@b7ad1dad31e06c5925ef5d2fc7ad053ef454303e"
	setupGoOld = "actions/setup-go@3d3c42e5aac5ba805825da76410c181273ba90b1" // a wrong commit, for the mismatch
)

func TestCheckUses(t *testing.T) {
	tests := []struct {
		name, uses, comment string
		want                string // a part of the message; "" means no problem
	}{
		{"pinned", checkout, "# v7.0.1", ""},
		{"version without v", checkout, "# 7.0.1", ""},
		{"comment with more words", checkout, "# v7.0.1 (node24)", ""},
		{"prerelease version", checkout, "# v7.1.0-rc.1", ""},
		{"local action", "./.github/actions/setup", "", ""},
		{"local reusable workflow", "./.github/workflows/build.yml", "", ""},
		{"image by digest", "docker://alpine@sha256:" + strings.Repeat("ab", 32), "", ""},
		{"tag", "actions/checkout@v7", "", "is a tag or branch"},
		{"tag with version comment", "actions/checkout@v7.0.1", "# v7.0.1", "is a tag or branch"},
		{"branch", "actions/checkout@main", "", "is a tag or branch"},
		{"short SHA", "actions/checkout@3d3c42e", "# v7.0.1", "not a full lowercase 40-hex commit SHA"},
		{"upper-case SHA", "actions/checkout@3D3C42E5AAC5BA805825DA76410C181273BA90B1", "# v7.0.1", "not a full lowercase"},
		{"41 hex", "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1a", "# v7.0.1", "not a full lowercase"},
		{"no ref", "actions/checkout", "", "no ref"},
		{"empty ref", "actions/checkout@", "", "no ref"},
		{"no owner", "checkout@3d3c42e5aac5ba805825da76410c181273ba90b1", "# v7.0.1", "want owner/repo"},
		{"no comment", checkout, "", "no version comment"},
		{"comment not a version", checkout, "# latest", "no version comment"},
		{"image by tag", "docker://alpine:3.22", "", "pin the image by digest"},
		{"image by short digest", "docker://alpine@sha256:abcd", "", "pin the image by digest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := checkUses(tt.uses, tt.comment)
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("checkUses(%q, %q) = %q, want a message with %q", tt.uses, tt.comment, got, tt.want)
			}
		})
	}
}

func TestCheckFileGolden(t *testing.T) {
	tests := []struct {
		file string
		want int // problems, so an -update that empties the golden file fails
	}{
		{"good.yml", 0},
		{"bad.yml", 10},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			problems, err := CheckFile(tt.file, data)
			if err != nil {
				t.Fatal(err)
			}
			if len(problems) != tt.want {
				t.Errorf("%d problems, want %d: %v", len(problems), tt.want, problems)
			}
			var got strings.Builder
			for _, p := range problems {
				got.WriteString(p.String() + "\n")
			}
			golden.Check(t, filepath.Join("testdata", strings.TrimSuffix(tt.file, ".yml")+".golden"), got.String())
		})
	}
}

func TestCheckFileShapes(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"empty file", "", nil},
		{"no jobs", "name: x\non: push\n", nil},
		{"action metadata", "runs:\n  using: composite\n  steps:\n    - uses: actions/checkout@v7\n", []string{"f.yml:4:13: uses: actions/checkout@v7: "}},
		{"anchor and alias", "jobs:\n  a:\n    steps:\n      - &co\n        uses: actions/checkout@v7\n  b:\n    steps:\n      - *co\n",
			[]string{"f.yml:5:15: uses: actions/checkout@v7: ", "f.yml:5:15: uses: actions/checkout@v7: "}},
		{"uses not a string", "jobs:\n  a:\n    steps:\n      - uses: [a, b]\n", []string{"f.yml:4:15: uses: : not a string"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problems, err := CheckFile("f.yml", []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if len(problems) != len(tt.want) {
				t.Fatalf("problems %v, want %d", problems, len(tt.want))
			}
			for i, p := range problems {
				if !strings.HasPrefix(p.String(), tt.want[i]) {
					t.Errorf("problem %q, want it to start with %q", p, tt.want[i])
				}
			}
		})
	}
}

func TestCheckFileBadYAML(t *testing.T) {
	_, err := CheckFile("broken.yml", []byte("jobs: [\n"))
	if err == nil || !strings.Contains(err.Error(), "parsing broken.yml") {
		t.Errorf("err = %v, want one naming the file", err)
	}
}

func TestCheckRepo(t *testing.T) {
	wf := func(lines ...string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte("jobs:\n  a:\n    steps:\n" + strings.Join(lines, ""))}
	}
	step := func(uses, comment string) string { return "      - uses: " + uses + " " + comment + "\n" }
	tests := []struct {
		name    string
		fsys    fstest.MapFS
		want    []string
		wantErr string
	}{
		{
			name: "consistent across files and a local action",
			fsys: fstest.MapFS{
				".github/workflows/a.yml":            wf(step(checkout, "# v7.0.1"), step(setupGo, "# v7.0.0")),
				".github/workflows/b.yaml":           wf(step(checkout, "# v7.0.1")),
				".github/actions/setup/action.yml":   {Data: []byte("runs:\n  steps:\n    - uses: " + setupGo + " # v7.0.0\n")},
				".github/workflows/notes/readme.yml": {Data: []byte("not: [checked\n")}, // not a workflow: GitHub reads no subdirectories
			},
		},
		{
			name: "another commit of the same action",
			fsys: fstest.MapFS{
				".github/workflows/a.yml": wf(step(setupGo, "# v7.0.0")),
				".github/workflows/b.yml": wf(step(setupGoOld, "# v6.0.0")),
			},
			want: []string{".github/workflows/b.yml:4:15: uses: " + setupGoOld + ": actions/setup-go is pinned to b7ad1dad31e06c5925ef5d2fc7ad053ef454303e (# v7.0.0) at .github/workflows/a.yml:4; pin one commit everywhere"},
		},
		{
			name: "one commit, two versions",
			fsys: fstest.MapFS{
				".github/workflows/a.yml": wf(step(checkout, "# v7.0.1"), step(checkout, "# v7")),
			},
			want: []string{".github/workflows/a.yml:5:15: uses: " + checkout + ": the same commit is commented # v7.0.1 at .github/workflows/a.yml:4; one commit has one version"},
		},
		{
			name: "an action's unpinned use, sorted by file",
			fsys: fstest.MapFS{
				".github/workflows/z.yml":          wf(step("actions/checkout@v7", "")),
				".github/actions/build/action.yml": {Data: []byte("runs:\n  steps:\n    - uses: actions/setup-go@v7\n")},
			},
			want: []string{
				".github/actions/build/action.yml:3:13: uses: actions/setup-go@v7: ",
				".github/workflows/z.yml:4:15: uses: actions/checkout@v7: ",
			},
		},
		{
			name:    "no workflows: the wrong root",
			fsys:    fstest.MapFS{"README.md": {Data: []byte("hi")}},
			wantErr: "no workflow files in .github/workflows",
		},
		{
			name:    "a broken workflow",
			fsys:    fstest.MapFS{".github/workflows/a.yml": {Data: []byte("jobs: [\n")}},
			wantErr: "parsing .github/workflows/a.yml",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problems, err := CheckRepo(tt.fsys)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(problems) != len(tt.want) {
				t.Fatalf("problems %v, want %d", problems, len(tt.want))
			}
			for i, p := range problems {
				if !strings.HasPrefix(p.String(), tt.want[i]) {
					t.Errorf("problem\n%q\nwant it to start with\n%q", p, tt.want[i])
				}
			}
		})
	}
}

// TestRepoWorkflowsPinned is the check `make lint` runs on the repo itself.
func TestRepoWorkflowsPinned(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	if _, err := os.Stat(filepath.Join(root, "botfleet.yaml")); err != nil {
		t.Fatalf("not at the repo root: %v", err)
	}
	problems, err := CheckRepo(os.DirFS(root))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s", p)
	}
	for _, wf := range []string{"ci.yml", "release.yml", "promote.yml"} {
		if _, err := os.Stat(filepath.Join(root, ".github", "workflows", wf)); err != nil {
			t.Errorf("workflow missing: %v", err)
		}
	}
}
