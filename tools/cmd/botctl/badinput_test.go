package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadInput is issue 19's "Bad input": a config with a token, an IAM
// declaration missing a called action, a Slack manifest lacking a scope the
// code needs, a bot name that collides. Each fails with a message that
// names the file (or the name) and says the fix, and changes nothing.
// (TestValidateIAM, TestNewRefuses and validate's TestProblems hold the
// finer cases of each.)
func TestBadInput(t *testing.T) {
	if testing.Short() {
		t.Skip("builds bots")
	}
	tests := []struct {
		name string
		bot  string // copied with the repo, and validated
		file string // changed: old replaced by new
		old  string
		new  string
		args []string // instead of validate
		code int
		// The message names this file (or name) and holds this fix.
		wantFile, wantFix string
	}{
		{name: "a config with a token", bot: "hello", file: "bots/hello/manifests/envs/dev/config.yaml",
			old: "greeting: Hello", new: "greeting: xoxb-0-not-a-real-token",
			code: exitProblems, wantFile: "bots/hello/manifests/envs/dev/config.yaml:4: ",
			wantFix: "secrets go in AWS Secrets Manager (`botctl secrets put`) or, locally, the environment, never in this file. Remove it, and rotate it if the file was shared"},
		{name: "an iam.yaml missing a called action", bot: "ecs", file: "bots/ecs/iam.yaml",
			old: "  - ecs:ListTasks\n", new: "",
			code: exitProblems, wantFile: "bots/ecs/iam.yaml: ecs:ListTasks missing: the code calls ecs.ListTasks",
			wantFix: "add it under actions"},
		{name: "a Slack manifest lacking a scope", bot: "hello", file: "bots/hello/slack-app.prd.yaml",
			old: "      - chat:write\n", new: "",
			code: exitProblems, wantFile: "bots/hello/slack-app.prd.yaml: lacks the scopes the code needs: chat:write",
			wantFix: "rewrite it with `botctl slack-app hello --env prd > bots/hello/slack-app.prd.yaml`"},
		{name: "a bot that exists", bot: "hello", args: []string{"new", "hello"},
			code: exitUsage, wantFile: "bots/hello already exists", wantFix: "pass --force to rewrite its template files"},
		{name: "a reserved name", args: []string{"new", "pkg"},
			code: exitUsage, wantFile: `bot name "pkg": reserved`, wantFix: `pick another name (e.g. "pkg-bot")`},
		{name: "the tools' name", args: []string{"new", "tools"},
			code: exitUsage, wantFile: `bot name "tools": reserved`, wantFix: `pick another name (e.g. "tools-bot")`},
		{name: "the External Secrets roles' name", args: []string{"new", "external-secrets"},
			code: exitUsage, wantFile: `bot name "external-secrets": reserved`, wantFix: `pick another name (e.g. "external-secrets-bot")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			paths := []string{"botfleet.yaml", "go.work", "pkg", "manifests", ".github"}
			if tt.bot != "" {
				paths = append(paths, filepath.Join("bots", tt.bot))
			}
			for _, p := range paths {
				copyPath(t, filepath.Join(repoDir, p), filepath.Join(root, p))
			}
			if tt.file != "" {
				data, err := os.ReadFile(filepath.Join(root, tt.file))
				if err != nil || !strings.Contains(string(data), tt.old) {
					t.Fatalf("%s lacks %q (%v)", tt.file, tt.old, err)
				}
				writeFile(t, filepath.Join(root, tt.file), strings.Replace(string(data), tt.old, tt.new, 1))
			}
			args := tt.args
			if args == nil {
				args = []string{"validate", tt.bot}
			}
			before := snapshot(t, root)
			code, out, errs := run(t, append([]string{"--repo", root}, args...)...)
			msg := out + errs
			if code != tt.code || !strings.Contains(msg, tt.wantFile) || !strings.Contains(msg, tt.wantFix) {
				t.Errorf("exit %d, output:\n%s\nwant exit %d, %q and %q", code, msg, tt.code, tt.wantFile, tt.wantFix)
			}
			for _, l := range strings.Split(msg, "\n") {
				if strings.Contains(l, tt.wantFile) && !strings.Contains(l, tt.wantFix) {
					t.Errorf("the line naming %q lacks the fix %q: %s", tt.wantFile, tt.wantFix, l)
				}
			}
			if snapshot(t, root) != before {
				t.Error("files changed")
			}
		})
	}
}
