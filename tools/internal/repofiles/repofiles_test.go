package repofiles

import (
	"bytes"
	"encoding/binary"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// pe is the start of a Windows executable: a DOS header whose e_lfanew
// (at 0x3c) points at the PE signature.
func pe() []byte {
	b := make([]byte, 0x80)
	copy(b, "MZ")
	binary.LittleEndian.PutUint32(b[0x3c:], 0x40)
	copy(b[0x40:], "PE\x00\x00")
	return b
}

func TestCheck(t *testing.T) {
	big := bytes.Repeat([]byte("x"), MaxSize+1)
	fsys := fstest.MapFS{
		"bin/hello":                  {Data: []byte("\x7fELF\x02\x01\x01\x00rest of an executable")},
		"tools/botctl.macho":         {Data: []byte{0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1}},
		"tools/botctl.exe":           {Data: pe()},
		"docs/mz.txt":                {Data: []byte("MZ is how this note starts, and it is text\n")},
		".ci/run":                    {Data: []byte("#!/usr/bin/env bash\necho ok\n")},
		"notes.txt":                  {Data: []byte("not a script\n")},
		"data/big.bin":               {Data: big},
		"data/schemas/k8s.json.gz":   {Data: big},
		"bots/x/manual/secrets.yaml": {Data: []byte("kind: Secret\nstringData:\n  SLACK_BOT_TOKEN: xoxb-12345-notarealtoken\n")},
		"bots/x/example.yaml":        {Data: []byte("SLACK_BOT_TOKEN: xoxb-replace-me\n")},
		"bots/x/aws.ini":             {Data: []byte("[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n")},
		"pkg/x/x_test.go":            {Data: []byte("var key = \"AKIAIOSFODNN7EXAMPLE\"\n")},
		"image.png":                  {Data: []byte("\x89PNG\x00\x00 xoxb-12345-notarealtoken")},
		"link":                       {Data: []byte("bin/hello"), Mode: fs.ModeSymlink},
		"README.md":                  {Data: []byte("# fine\n")},
	}
	var files []File
	for _, p := range []string{"bin/hello", "tools/botctl.macho", "tools/botctl.exe", "docs/mz.txt", ".ci/run", "notes.txt",
		"data/big.bin", "data/schemas/k8s.json.gz", "bots/x/manual/secrets.yaml", "bots/x/example.yaml", "bots/x/aws.ini",
		"pkg/x/x_test.go", "image.png", "link", "README.md", "deleted.txt"} {
		files = append(files, File{Path: p, Executable: p == ".ci/run" || p == "notes.txt" || p == "bin/hello"})
	}
	allow, err := ParseAllowlist([]byte(`
large:
  - path: data/schemas/*.json.gz
    why: generated schemas
secrets:
  - values: [xoxb-replace-me]
    why: the example's placeholder
  - values: [AKIAIOSFODNN7EXAMPLE]
    paths: ["pkg/*/*_test.go"]
    why: a test's fake
`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Check(fsys, files, allow)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, p := range got {
		lines = append(lines, p.String())
	}
	want := []string{
		"bin/hello: an ELF executable: binaries are built, never committed: git rm --cached bin/hello, and ignore it in .gitignore",
		"tools/botctl.macho: a Mach-O executable: binaries are built, never committed: git rm --cached tools/botctl.macho, and ignore it in .gitignore",
		"tools/botctl.exe: a PE (Windows) executable: binaries are built, never committed: git rm --cached tools/botctl.exe, and ignore it in .gitignore",
		"notes.txt: executable, but not a script (no #! line): git update-index --chmod=-x notes.txt",
		"data/big.bin: 1.0 MiB, over 1.0 MiB: keep it out of git, or, if it must be committed, name it in lint-allow.yaml (large:)",
		"bots/x/manual/secrets.yaml:3: a Slack token: remove it (and revoke it, if real); a fake goes in lint-allow.yaml (secrets:)",
		"bots/x/aws.ini:2: an AWS access key id: remove it (and revoke it, if real); a fake goes in lint-allow.yaml (secrets:)",
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("Check (-want +got):\n%s", diff)
	}
	for _, l := range lines {
		if strings.Contains(l, "xoxb-12345") || strings.Contains(l, "AKIA") {
			t.Errorf("a problem shows the secret: %s", l)
		}
	}

	// Without an allowlist, the allowed ones are problems too.
	got, err = Check(fsys, files, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want)+3 {
		t.Errorf("without an allowlist: %d problems, want %d: %v", len(got), len(want)+3, got)
	}
}

func TestParseAllowlist(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"unknown key", "larges: []\n", `unknown field "larges"`},
		{"no why", "large:\n  - path: a/*.gz\n", "large[0] (a/*.gz): say why"},
		{"bad pattern", "large:\n  - path: \"a/[\"\n    why: x\n", `large[0]: path "a/["`},
		{"no values", "secrets:\n  - why: x\n", "secrets[0]: want values"},
		{"empty value", "secrets:\n  - values: [\"\"]\n    why: x\n", "secrets[0]: want values"},
		{"secret without why", "secrets:\n  - values: [a]\n", "secrets[0]: say why"},
		{"bad secret path", "secrets:\n  - values: [a]\n    paths: [\"[\"]\n    why: x\n", `secrets[0]: path "["`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseAllowlist([]byte(tt.yaml)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseAllowlist = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestParseStage(t *testing.T) {
	out := "100644 e69de29bb2d1d6434b8b29ae775ad8c2e48c5391 0\tREADME.md\x00" +
		"100755 e69de29bb2d1d6434b8b29ae775ad8c2e48c5391 0\t.ci/run\x00" +
		"120000 e69de29bb2d1d6434b8b29ae775ad8c2e48c5391 0\tlink\x00" +
		"160000 e69de29bb2d1d6434b8b29ae775ad8c2e48c5391 0\tvendor/sub\x00" +
		"100644 e69de29bb2d1d6434b8b29ae775ad8c2e48c5391 1\tconflict.go\x00" +
		"100644 e69de29bb2d1d6434b8b29ae775ad8c2e48c5391 2\tconflict.go\x00" +
		"100644 e69de29bb2d1d6434b8b29ae775ad8c2e48c5391 0\twith\ttab.txt\x00"
	got, err := parseStage([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	want := []File{{Path: "README.md"}, {Path: ".ci/run", Executable: true}, {Path: "link"}, {Path: "conflict.go"}, {Path: "with\ttab.txt"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseStage (-want +got):\n%s", diff)
	}
	if _, err := parseStage([]byte("garbage\x00")); err == nil {
		t.Error("parseStage of garbage: no error")
	}
}
