package proc

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestEnvIsExactlyWhatIsGiven(t *testing.T) {
	t.Setenv("SLACK_BOT_TOKEN", "xoxb-must-not-leak")
	var out strings.Builder
	code, err := Run(t.Context(), Cmd{Path: "/usr/bin/env", Env: []string{"A=1"}, Output: &out})
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v", code, err)
	}
	if out.String() != "A=1\n" {
		t.Errorf("environment = %q, want only A=1", out.String())
	}
}

func TestArgsReachNoShell(t *testing.T) {
	var lines []string
	code, err := Run(t.Context(), Cmd{Path: "/bin/echo", Args: []string{"$(reboot)", ";rm -rf /"}, Line: func(s string) { lines = append(lines, s) }})
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v", code, err)
	}
	if len(lines) != 1 || lines[0] != "$(reboot) ;rm -rf /" {
		t.Errorf("lines = %q", lines)
	}
}

func TestExitCode(t *testing.T) {
	code, err := Run(t.Context(), Cmd{Path: "/bin/sh", Args: []string{"-c", "exit 3"}})
	if err != nil || code != 3 {
		t.Errorf("Run = %d, %v; want 3, nil", code, err)
	}
	if _, err := Run(t.Context(), Cmd{Path: "/nonexistent/x"}); err == nil {
		t.Error("a missing program ran")
	}
}

// TestCancelKillsTheGroup cancels a program whose child ignores SIGINT and
// whose grandchild sleeps: the program stops at SIGINT, the rest of the
// group gets SIGKILL, and Run returns within the grace period.
func TestCancelKillsTheGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	script := `trap '' INT; sleep 60 & echo $! > ` + pidFile + `; echo started; wait`
	ctx, cancel := context.WithCancel(t.Context())
	started := make(chan struct{})
	done := make(chan int)
	go func() {
		code, _ := Run(ctx, Cmd{Path: "/bin/sh", Args: []string{"-c", script}, Env: []string{"PATH=/usr/bin:/bin"}, Grace: 300 * time.Millisecond,
			Line: func(s string) {
				if s == "started" {
					close(started)
				}
			}})
		done <- code
	}()
	<-started
	start := time.Now()
	cancel()
	select {
	case code := <-done:
		if code != -1 {
			t.Errorf("exit code %d, want -1 (killed)", code)
		}
		if d := time.Since(start); d < 300*time.Millisecond {
			t.Errorf("killed after %v, before the grace period", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(2 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("grandchild %d still alive", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive reports whether pid runs (a zombie waiting for its reaper does not).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z") && !strings.HasPrefix(rest, "X")
}
