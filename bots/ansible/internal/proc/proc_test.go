package proc

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	// The test binary doubles as a program that calls Subreap (see
	// TestSubreap): it must not make the test process a subreaper.
	if dir := os.Getenv("PROC_TEST_SUBREAPER_DIR"); dir != "" {
		if err := subreaper(dir); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println("ok")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

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

// TestCancelReachesWhatLeftTheGroup cancels a program that started two
// processes in sessions of their own (setsid), one of them with an empty
// environment: both are killed with the rest of the run.
func TestCancelReachesWhatLeftTheGroup(t *testing.T) {
	dir := t.TempDir()
	script := `trap '' INT
setsid sleep 60 >/dev/null 2>&1 & echo $! > ` + dir + `/tagged
env -i /usr/bin/setsid /bin/sleep 61 >/dev/null 2>&1 & echo $! > ` + dir + `/bare
echo started; wait`
	ctx, cancel := context.WithCancel(t.Context())
	started := make(chan struct{})
	done := make(chan struct{})
	var leader ID
	go func() {
		defer close(done)
		Run(ctx, Cmd{Path: "/bin/sh", Args: []string{"-c", script}, Env: []string{"PATH=/usr/bin:/bin"}, Grace: 200 * time.Millisecond, Tag: NewTag(),
			Started: func(id ID) { leader = id },
			Line: func(s string) {
				if s == "started" {
					close(started)
				}
			}})
	}()
	<-started
	pids := []int{readPid(t, dir+"/tagged"), readPid(t, dir+"/bare")}
	for _, pid := range pids {
		// $! is known before the child has called setsid.
		if err := within(5*time.Second, func() bool { p, err := stat(pid); return err == nil && p.pgid == pid }); err != nil {
			t.Fatalf("process %d did not leave the group %d", pid, leader.PID)
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	for _, pid := range pids {
		waitDead(t, pid)
	}
}

// TestExitKillsTheRestOfTheGroup: when the program exits by itself, what it
// left in its group goes; a daemon (setsid, its parent gone) stays.
func TestExitKillsTheRestOfTheGroup(t *testing.T) {
	dir := t.TempDir()
	script := `sleep 60 >/dev/null 2>&1 & echo $! > ` + dir + `/worker
(setsid sleep 62 >/dev/null 2>&1 & echo $! > ` + dir + `/daemon)
d=$(cat ` + dir + `/daemon)
until [ "$(cut -d' ' -f5 /proc/$d/stat)" = "$d" ]; do sleep 0.01; done  # it left the group
exit 0`
	code, err := Run(t.Context(), Cmd{Path: "/bin/sh", Args: []string{"-c", script}, Env: []string{"PATH=/usr/bin:/bin"}, Tag: NewTag()})
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v", code, err)
	}
	waitDead(t, readPid(t, dir+"/worker"))
	daemon := readPid(t, dir+"/daemon")
	t.Cleanup(func() { syscall.Kill(daemon, syscall.SIGKILL) })
	if !alive(daemon) {
		t.Error("the daemon was killed with the group")
	}
}

// TestStop stops a run that is not its caller's child, as a restarted bot
// stops its predecessor's playbook: SIGINT first, then after the grace
// period SIGKILL to the group and to what carries the tag.
func TestStop(t *testing.T) {
	dir := t.TempDir()
	tag := NewTag()
	cmd := exec.Command("/bin/sh", "-c", `trap '' INT; setsid sleep 60 >/dev/null 2>&1 & echo $! > `+dir+`/escaped; sleep 61 & echo started; wait`)
	cmd.Env = []string{"PATH=/usr/bin:/bin", TagVar + "=" + tag}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go cmd.Wait()
	buf := make([]byte, 8)
	if _, err := out.Read(buf); err != nil {
		t.Fatal(err)
	}
	p, err := stat(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	escaped := readPid(t, dir+"/escaped")
	found, err := Find(p.id, tag)
	if err != nil || len(found) != 3 || !slices.ContainsFunc(found, func(id ID) bool { return id.PID == escaped }) {
		t.Fatalf("Find = %v, %v; want the shell and both sleeps (%d escaped)", found, err, escaped)
	}
	start := time.Now()
	if err := Stop(t.Context(), p.id, tag, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("stopped after %v, before the grace period", d)
	}
	for _, id := range found {
		if id.Alive() {
			t.Errorf("%+v survived Stop", id)
		}
	}
	if left, _ := Find(p.id, tag); len(left) != 0 {
		t.Errorf("Find after Stop = %v", left)
	}
}

// TestMembers checks which processes Find takes for a run's, on a made-up
// process table: pid reuse, a tag, descendants, and what is not the run's.
func TestMembers(t *testing.T) {
	self := os.Getpid()
	leader := ID{PID: 100, Start: 5000}
	tag := "T1"
	env := map[int]string{
		300:  "A=1\x00" + TagVar + "=T1\x00",
		301:  TagVar + "=T1",           // unterminated last entry
		302:  TagVar + "=T10\x00",      // another tag
		303:  "X" + TagVar + "=T1\x00", // another variable
		304:  TagVar + "=T1\x00",       // started before the leader
		self: TagVar + "=T1\x00",       // never this process
	}
	environ := func(pid int) []byte { return []byte(env[pid]) }
	base := []info{
		{id: leader, ppid: 1, pgid: 100, state: 'S'},
		{id: ID{101, 5001}, ppid: 100, pgid: 100, state: 'S'}, // group member
		{id: ID{102, 5002}, ppid: 1, pgid: 100, state: 'S'},   // group member, parent gone
		{id: ID{103, 5003}, ppid: 102, pgid: 103, state: 'S'}, // left the group, parent in it
		{id: ID{104, 5004}, ppid: 103, pgid: 104, state: 'S'}, // its child
		{id: ID{105, 5005}, ppid: 1, pgid: 105, state: 'S'},   // not the run's
		{id: ID{106, 5006}, ppid: 100, pgid: 100, state: 'Z'}, // exited
		{id: ID{300, 5010}, ppid: 1, pgid: 300, state: 'S'},   // tagged
		{id: ID{301, 5011}, ppid: 1, pgid: 301, state: 'S'},   // tagged
		{id: ID{302, 5012}, ppid: 1, pgid: 302, state: 'S'},
		{id: ID{303, 5013}, ppid: 1, pgid: 303, state: 'S'},
		{id: ID{304, 4000}, ppid: 1, pgid: 304, state: 'S'},
		{id: ID{305, 5014}, ppid: 300, pgid: 300, state: 'R'}, // child of a tagged one
		{id: ID{self, 5020}, ppid: 1, pgid: 100, state: 'R'},
	}
	pids := func(ids []ID) []int {
		var out []int
		for _, id := range ids {
			out = append(out, id.PID)
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		name   string
		ps     []info
		leader ID
		tag    string
		want   []int
	}{
		{"leader, group, descendants, tagged", base, leader, tag, []int{100, 101, 102, 103, 104, 300, 301, 305}},
		{"no tag", base, leader, "", []int{100, 101, 102, 103, 104}},
		{"leader unknown", base, ID{}, tag, []int{300, 301, 304, 305}},
		{"leader gone, group left", slices.Delete(slices.Clone(base), 0, 1), leader, "", []int{101, 102, 103, 104}},
		{"leader's pid reused: the group is another's", append(slices.Delete(slices.Clone(base), 0, 1), info{id: ID{100, 9000}, ppid: 1, pgid: 100, state: 'S'}), leader, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pids(members(tt.ps, tt.leader, tt.tag, environ)); !slices.Equal(got, tt.want) {
				t.Errorf("members = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseStat(t *testing.T) {
	p, err := parseStat(42, []byte("42 (a) b (c)) S 7 42 42 0 -1 4194304 1 0 0 0 0 0 0 0 20 0 1 0 123456 1000 10 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"))
	if err != nil || p != (info{id: ID{42, 123456}, ppid: 7, pgid: 42, state: 'S'}) {
		t.Errorf("parseStat = %+v, %v", p, err)
	}
	for _, bad := range []string{"", "42 (x", "42 (x) S 1 2", "42 (x) S a 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20"} {
		if _, err := parseStat(42, []byte(bad)); err == nil {
			t.Errorf("parseStat(%q) = nil error", bad)
		}
	}
	self, err := Self()
	if err != nil || self.PID != os.Getpid() || self.Start == 0 || !self.Alive() {
		t.Errorf("Self = %+v, %v", self, err)
	}
	if (ID{PID: self.PID, Start: self.Start + 1}).Alive() {
		t.Error("a pid with another start time is alive")
	}
	if id, err := BootID(); err != nil || len(id) != 36 {
		t.Errorf("BootID = %q, %v", id, err)
	}
}

// FuzzParseStat: no content of a stat file makes parseStat panic, and what
// it accepts has a state and a start time from the fields after the name.
func FuzzParseStat(f *testing.F) {
	f.Add([]byte("42 (a) b (c)) S 7 42 42 0 -1 4194304 1 0 0 0 0 0 0 0 20 0 1 0 123456 1000 10"))
	f.Add([]byte("1 ()) R 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parseStat(1, b)
		if err != nil {
			return
		}
		if p.id.PID != 1 || p.state == 0 || !strings.Contains(string(b), strconv.FormatUint(p.id.Start, 10)) {
			t.Fatalf("parseStat(%q) = %+v", b, p)
		}
	})
}

// TestSubreap runs the test binary as a program that calls Subreap (see
// subreaper): a daemon its run leaves behind becomes its child, and is
// reaped once the cancelled run killed it.
func TestSubreap(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PROC_TEST_SUBREAPER_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Errorf("subreaper: %v\n%s", err, out)
	}
}

func subreaper(dir string) error {
	if err := Subreap(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, Cmd{Path: "/bin/sh", Args: []string{"-c", `(setsid sleep 60 >/dev/null 2>&1 & echo $! > ` + dir + `/pid); echo started; exec sleep 61`},
			Env: []string{"PATH=/usr/bin:/bin"}, Grace: 200 * time.Millisecond, Tag: NewTag(),
			Line: func(s string) {
				if s == "started" {
					close(started)
				}
			}})
	}()
	<-started
	b, err := os.ReadFile(dir + "/pid")
	if err != nil {
		return err
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if err := within(2*time.Second, func() bool { p, err := stat(pid); return err == nil && p.ppid == os.Getpid() }); err != nil {
		p, _ := stat(pid)
		return fmt.Errorf("the daemon was not adopted: its parent is %d, not %d", p.ppid, os.Getpid())
	}
	cancel()
	<-done
	// A zombie still has its /proc entry: gone means killed and reaped.
	if err := within(2*time.Second, func() bool { _, err := os.Stat("/proc/" + strconv.Itoa(pid)); return os.IsNotExist(err) }); err != nil {
		p, _ := stat(pid)
		return fmt.Errorf("the daemon is still there after the cancel: state %c", p.state)
	}
	return nil
}

func within(d time.Duration, ok func() bool) error {
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v", d)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	var pid int
	if err := within(5*time.Second, func() bool {
		b, err := os.ReadFile(path)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid > 0
	}); err != nil {
		t.Fatalf("no pid in %s", path)
	}
	return pid
}

func waitDead(t *testing.T, pid int) {
	t.Helper()
	if err := within(2*time.Second, func() bool { return !alive(pid) }); err != nil {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("process %d still alive", pid)
	}
}
