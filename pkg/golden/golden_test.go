package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	for _, tc := range []struct {
		name, want, got, diff string
	}{
		{"equal", "a\nb\n", "a\nb\n", ""},
		{"changed line", "a\nb\nc\n", "a\nB\nc\n", "@@ line 1 @@\n a\n-b\n+B\n c\n \n"},
		{"added line", "a\nc", "a\nb\nc", "@@ line 1 @@\n a\n+b\n c\n"},
		{"removed line", "1\n2\n3\n4\n5\n6\n7\n8\n9", "1\n2\n3\n4\n6\n7\n8\n9", "@@ line 2 @@\n 2\n 3\n 4\n-5\n 6\n 7\n 8\n"},
		{"two hunks", "x\n1\n2\n3\n4\n5\n6\n7\n8\ny", "X\n1\n2\n3\n4\n5\n6\n7\n8\nY",
			"@@ line 1 @@\n-x\n+X\n 1\n 2\n 3\n@@ line 7 @@\n 6\n 7\n 8\n-y\n+Y\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Diff(tc.want, tc.got); got != tc.diff {
				t.Errorf("Diff:\n%s\nwant:\n%s", got, tc.diff)
			}
		})
	}
}

// recorder is a testing.TB that keeps the failure instead of failing.
type recorder struct {
	testing.TB
	msgs []string
}

func (r *recorder) Helper()                   {}
func (r *recorder) Name() string              { return "TestX/sub" }
func (r *recorder) Errorf(f string, a ...any) { r.msgs = append(r.msgs, sprintf(f, a...)) }
func (r *recorder) Fatalf(f string, a ...any) { r.msgs = append(r.msgs, sprintf(f, a...)) }
func (r *recorder) Fatal(a ...any)            { r.msgs = append(r.msgs, sprintf("%v", a...)) }

func TestCheck(t *testing.T) {
	if Updating() {
		t.Skip("checks the failure report, which -update hides")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "x.golden")
	if err := os.WriteFile(path, []byte("one\ntwo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &recorder{TB: t}
	Check(r, path, "one\ntwo\n")
	Check(r, path, []byte("one\ntwo\n"))
	if len(r.msgs) != 0 {
		t.Fatalf("equal output reported: %q", r.msgs)
	}
	Check(r, path, "one\nthree\n")
	if len(r.msgs) != 1 || !strings.Contains(r.msgs[0], "-two\n+three\n") ||
		!strings.Contains(r.msgs[0], "go test ./golden -run '^TestX$' -update") {
		t.Errorf("mismatch report: %q", r.msgs)
	}
	r.msgs = nil
	Check(r, filepath.Join(dir, "missing.golden"), "x")
	if len(r.msgs) != 1 || !strings.Contains(r.msgs[0], "-update") {
		t.Errorf("missing file report: %q", r.msgs)
	}
}

var sprintf = fmt.Sprintf
