package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/botfleet/botfleet/pkg/botkit/botkittest"
)

// TestMissingTools: where git or ansible-playbook cannot be run, a deploy
// says which program and that the bot's operators must install it, and
// nothing runs or is recorded. Not parallel: it sets PATH.
func TestMissingTools(t *testing.T) {
	repo := playbookRepo(t)
	ansible, err := exec.LookPath("ansible-playbook")
	if err != nil {
		t.Fatal(err)
	}
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    []string // the programs in PATH
		program string   // ansible_playbook, if set
		want    string
	}{
		{"no git", []string{ansible}, "", "I can't deploy: `git` is missing where the bot runs (it is not in the bot's PATH); the bot's operators must install it. Nothing was run."},
		{"no ansible-playbook", []string{gitPath}, "", "I can't deploy: `ansible-playbook` is missing where the bot runs (it is not in the bot's PATH); the bot's operators must install it. Nothing was run."},
		{"ansible_playbook names no file", []string{gitPath, ansible}, "/nonexistent/ansible-playbook", "`/nonexistent/ansible-playbook` is missing where the bot runs (there is no such file)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := t.TempDir()
			for _, p := range tt.path {
				if err := os.Symlink(p, filepath.Join(bin, filepath.Base(p))); err != nil {
					t.Fatal(err)
				}
			}
			t.Setenv("PATH", bin)
			stateDir := t.TempDir()
			cfg := testConfig(t, repo)
			if tt.program != "" {
				cfg.AnsiblePlaybook = tt.program
			}
			tr := newBot(t, stateDir, cfg)
			// -check-config and /readyz name it before anyone deploys.
			if err := tr.Bot().CheckRequirements(t.Context()); err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(strings.TrimSuffix(tt.want, ". Nothing was run."), "I can't deploy: ")) {
				t.Errorf("CheckRequirements = %v, want it to say %q", err, tt.want)
			}
			if got := botkittest.Texts(tr.Say(t, "deploy web main")); len(got) != 1 || !strings.Contains(got[0], tt.want) {
				t.Errorf("replies %q, want one with %q", got, tt.want)
			}
			if rs := records(t, stateDir); len(rs) != 0 {
				t.Errorf("recorded: %+v", rs)
			}
		})
	}
}
