// Command localrepo prepares the sample playbook repo that the ansible bot's
// config/local.yaml points at: a real git repo whose default branch is main,
// with a playbook that runs on this machine (connection: local). It leaves
// an existing repo alone.
//
//	cd bots/ansible && go run ./internal/cmd/localrepo [dir]
//
// The default dir is ../../.local/ansible/playbooks (the repo root's .local,
// which git ignores).
package main

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
)

//go:embed sample
var sample embed.FS

func main() {
	dir := filepath.Join("..", "..", ".local", "ansible", "playbooks")
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	if err := run(dir); err != nil {
		fmt.Fprintf(os.Stderr, "localrepo: %v\n", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
		return nil
	}
	root, err := fs.Sub(sample, "sample")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.CopyFS(dir, root); err != nil {
		return fmt.Errorf("writing the sample playbooks: %w", err)
	}
	for _, args := range [][]string{
		{"init", "--quiet", "--initial-branch=main"},
		{"add", "."},
		{"commit", "--quiet", "-m", "Sample playbooks for the ansible bot"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(),
			"GIT_AUTHOR_NAME=botfleet", "GIT_AUTHOR_EMAIL=botfleet@localhost",
			"GIT_COMMITTER_NAME=botfleet", "GIT_COMMITTER_EMAIL=botfleet@localhost")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %s: %v: %s", args[0], err, out)
		}
	}
	fmt.Printf("prepared the sample playbook repo in %s\n", dir)
	return nil
}
