package maketest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// repoDir is the real repo; the tests only read it.
const repoDir = "../../.."

func need(t *testing.T, cmds ...string) {
	t.Helper()
	for _, c := range cmds {
		if _, err := exec.LookPath(c); err != nil {
			t.Fatalf("these tests run %s: it is not on PATH", c)
		}
	}
}

// runIn runs name in dir and returns its exit code, stdout and stderr.
func runIn(t *testing.T, dir string, env []string, stdin string, name string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return code, stdout.String(), stderr.String()
}

// TestHelpInAPipe: make's target list has colours only on a terminal.
func TestHelpInAPipe(t *testing.T) {
	need(t, "make")
	code, out, errs := runIn(t, repoDir, nil, "", "make", "--no-print-directory", "help")
	if code != 0 {
		t.Fatalf("make help: exit %d: %s", code, errs)
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("make help | … prints escape codes:\n%q", out)
	}
	for _, want := range []string{"  test          Run every check", "  test-changed  ", "  bot           Create a new bot"} {
		if !strings.Contains(out, want) {
			t.Errorf("make help lacks %q:\n%s", want, out)
		}
	}
}

// copyRepo copies what make bot reads into a temp dir: the Makefile, the
// settings, go.work, pkg/go.mod and bots/hello.
func copyRepo(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	for _, p := range []string{"Makefile", "botfleet.yaml", "go.work", "pkg/go.mod", "bots/hello/go.mod", "bots/hello/main.go"} {
		data, err := os.ReadFile(filepath.Join(repoDir, p))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, p), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// botctl builds botctl from the repo's tools module into a temp dir.
func botctl(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "botctl")
	if code, _, errs := runIn(t, filepath.Join(repoDir, "tools"), nil, "", "go", "build", "-o", bin, "./cmd/botctl"); code != 0 {
		t.Fatalf("go build botctl: %s", errs)
	}
	return bin
}

// TestMakeBotErrors: make bot's refusals end with botctl's one line, say
// what to type (FORCE=1, a valid name), and change nothing; no "Error 2"
// from make and no "botctl --help" (botctl is not on PATH).
func TestMakeBotErrors(t *testing.T) {
	need(t, "make", "go")
	root := copyRepo(t)
	bin := botctl(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"every fault of a name", []string{"NAME=Bad_Name"}, `*** bot name "Bad_Name": must start with a lowercase letter; uppercase 'B', 'N' not allowed; '_' not allowed: use lowercase letters, digits and dashes (e.g. "bad-name").  Stop.`},
		{"an existing bot", []string{"NAME=hello"}, "*** bots/hello already exists: make bot NAME=hello FORCE=1 rewrites its template files (and keeps its other files).  Stop."},
		{"no name", nil, "*** make bot: NAME is empty; e.g. make bot NAME=deploy-bot (a lowercase letter, then lowercase letters, digits and dashes).  Stop."},
		{"reserved", []string{"NAME=tools"}, `*** bot name "tools": reserved`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--no-print-directory", "bot", "BOTCTL=" + bin}, tt.args...)
			code, out, errs := runIn(t, root, nil, "", "make", args...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			lines := strings.Split(strings.TrimSpace(errs), "\n")
			if last := lines[len(lines)-1]; !strings.Contains(last, tt.want) {
				t.Errorf("the last line of stderr is\n%s\nwant it to hold\n%s", last, tt.want)
			}
			for _, noise := range []string{"Error 1", "Error 2", "--help", "exit status"} {
				if strings.Contains(out+errs, noise) {
					t.Errorf("output has %q:\n%s%s", noise, out, errs)
				}
			}
		})
	}
	entries, err := os.ReadDir(filepath.Join(root, "bots"))
	if err != nil || len(entries) != 1 {
		t.Errorf("bots/ after refusals: %v, %v; want hello alone", entries, err)
	}
}

// TestMakeRun: make run says it compiles before the silent first build, on
// stderr, so that `printf 'ping\n' | make run` still prints only the bot's
// answers on stdout.
func TestMakeRun(t *testing.T) {
	need(t, "make", "go")
	if testing.Short() {
		t.Skip("builds bots/hello")
	}
	code, out, errs := runIn(t, repoDir, []string{"BOT_HTTP_ADDR=127.0.0.1:0"}, "ping\n", "make", "--no-print-directory", "run")
	if code != 0 {
		t.Fatalf("make run: exit %d\n%s", code, errs)
	}
	if want := "hello> ping\n  ↳ pong\n"; out != want {
		t.Errorf("stdout %q, want %q", out, want)
	}
	if !strings.HasPrefix(errs, "make run: compiling bots/hello (the first time takes a minute or more)\n") {
		t.Errorf("stderr does not start with the compiling line:\n%s", errs)
	}
}
