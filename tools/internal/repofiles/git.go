package repofiles

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Tracked lists the files git tracks in the work tree at root (its index:
// what the next commit holds), with their executable bit. Submodules are
// left out.
func Tracked(ctx context.Context, root string) ([]File, error) {
	cmd := exec.CommandContext(ctx, "git", "-C", root, "ls-files", "--stage", "-z")
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git ls-files in %s: %w: %s", root, err, strings.TrimSpace(stderr.String()))
	}
	return parseStage(out)
}

// parseStage parses `git ls-files --stage -z`: "<mode> <object> <stage>\t<path>\x00"
// per entry; a path in conflict appears once per stage, and once here.
func parseStage(out []byte) ([]File, error) {
	var files []File
	seen := map[string]bool{}
	for _, entry := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		if entry == "" {
			continue
		}
		meta, p, ok := strings.Cut(entry, "\t")
		mode, _, _ := strings.Cut(meta, " ")
		if !ok || mode == "" {
			return nil, fmt.Errorf("git ls-files: unexpected entry %q", entry)
		}
		if mode == "160000" || seen[p] { // a submodule: another repo's files
			continue
		}
		seen[p] = true
		files = append(files, File{Path: p, Executable: mode == "100755"})
	}
	return files, nil
}
