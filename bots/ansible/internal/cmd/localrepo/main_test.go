package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "playbooks")
	if err := run(dir); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("git", "-C", dir, "symbolic-ref", "--short", "HEAD").Output()
	if err != nil || strings.TrimSpace(string(out)) != "main" {
		t.Errorf("default branch = %q, %v; want main", out, err)
	}
	if out, err := exec.Command("git", "-C", dir, "status", "--porcelain").Output(); err != nil || len(out) != 0 {
		t.Errorf("uncommitted files: %q, %v", out, err)
	}
	// Running it again leaves the repo alone.
	os.WriteFile(filepath.Join(dir, "mine.txt"), []byte("x"), 0o644)
	if err := run(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "mine.txt")); err != nil {
		t.Error("a second run replaced the repo")
	}
	// The sample playbook is valid for the installed ansible (make test
	// installs it first, or says how: a missing one fails, never skips).
	cmd := exec.Command("ansible-playbook", "--syntax-check", "-i", "inventories/dev.ini", "deploy.yml")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("syntax check: %v\n%s", err, out)
	}
}
