package botbin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckConfig builds the real hello bot and checks files with its
// loader: a good file passes; a typo, a token and an access rule naming an
// unknown command fail with the file and line; a BOT_CFG_ variable in the
// caller's environment changes nothing.
func TestCheckConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a bot")
	}
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	// Files under the repo so that the loader's messages name them as the
	// repo does; removed after.
	dir, err := os.MkdirTemp(filepath.Join(root, "bots", "hello"), ".botbin-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	rel, _ := filepath.Rel(root, dir)
	t.Setenv("BOT_CFG_NOSUCHKEY", "x") // an unknown key: would fail every file if it leaked in

	c := &Checker{Root: root, Dir: t.TempDir()}
	tests := []struct {
		name, content, want string
	}{
		{"good", "greeting: Hi\n", ""},
		{"typo", "greting: Hi\n", ":1: key greting: unknown key"},
		{"token", "greeting: Hi\n# xoxb-12345-fakesecretvalue\n", ":2: holds what looks like a Slack token"},
		{"unknown command", "access:\n  rules:\n    - command: pnig\n      users: [U1]\n", `:3: key access.rules[0].command: unknown command "pnig"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(rel, tt.name+".yaml")
			if err := os.WriteFile(filepath.Join(root, file), []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			err := c.CheckConfig(t.Context(), "hello", "dev", file)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("a good file refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), file+tt.want)):
				t.Errorf("got %v, want %q", err, file+tt.want)
			case err != nil && strings.Contains(err.Error(), "secretvalue"):
				t.Errorf("the token is echoed: %v", err)
			}
		})
	}
	// A bot's directory with a module that does not build.
	broken, err := os.MkdirTemp(filepath.Join(root, "bots"), ".botbin-broken-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(broken) })
	os.WriteFile(filepath.Join(broken, "go.mod"), []byte("module example.com/broken\n"), 0o600)
	os.WriteFile(filepath.Join(broken, "main.go"), []byte("package main\n\nfunc main() { undefined() }\n"), 0o600)
	if err := c.CheckConfig(t.Context(), filepath.Base(broken), "dev", "x.yaml"); err == nil || !strings.Contains(err.Error(), "building bots/"+filepath.Base(broken)) || !strings.Contains(err.Error(), "undefined: undefined") || strings.Contains(err.Error(), "\n") {
		t.Errorf("a bot that does not build: %v", err)
	}
}
