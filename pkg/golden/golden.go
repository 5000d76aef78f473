// Package golden compares test output with a file under testdata and, run
// with -update, rewrites that file. It is the one golden-file helper of the
// repository: every module's tests import it instead of writing their own
// comparison and flag. It uses only the standard library, so a bot built
// offline with GOWORK=off needs no extra go.sum line to run its tests.
package golden

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// update is registered once here, so `go test ./x -update` works in every
// package whose tests import golden.
var update = flag.Bool("update", false, "rewrite golden files (testdata/*.golden) from the current output")

// Updating reports whether the test binary runs with -update, for tests that
// regenerate something other than a file Check writes.
func Updating() bool { return *update }

// Check compares got with the file at path (relative to the package
// directory, usually testdata/<name>.golden). With -update it writes got
// there first, creating missing directories. On a mismatch it reports a
// line diff and the command that rewrites the file.
func Check[T string | []byte](t testing.TB, path string, got T) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v\n%s", err, updateCommand(t))
		return
	}
	if string(want) != string(got) {
		t.Errorf("%s differs (-want +got):\n%s%s", path, Diff(string(want), string(got)), updateCommand(t))
	}
}

// updateCommand is the exact command that rewrites t's golden files: from
// the module root, the package directory and the top-level test (a
// subtest's name is not always a valid -run pattern).
func updateCommand(t testing.TB) string {
	name, _, _ := strings.Cut(t.Name(), "/")
	pkg := "."
	dir, err := os.Getwd()
	if err == nil {
		for root := dir; ; root = filepath.Dir(root) {
			if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
				if rel, err := filepath.Rel(root, dir); err == nil && rel != "." {
					pkg = "./" + filepath.ToSlash(rel)
				}
				return fmt.Sprintf("if the new output is right: cd %s && go test %s -run '^%s$' -update\n", root, pkg, name)
			}
			if filepath.Dir(root) == root {
				break
			}
		}
	}
	return fmt.Sprintf("if the new output is right: go test %s -run '^%s$' -update\n", pkg, name)
}
