package maketest

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pathWith makes a directory holding only links to the named programs, to
// be the whole PATH of a run.
func pathWith(t *testing.T, programs ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, p := range programs {
		target, err := exec.LookPath(p)
		if err != nil {
			t.Fatalf("%s is not on PATH", p)
		}
		if err := os.Symlink(target, filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestNeed runs .ci/need, the first step of make test, where it may not
// install: it passes when every command is there, and otherwise stops at
// once with the exact command to run. (Where it may, as root with apt-get
// or in CI with sudo, it installs; this test does not change the machine.)
func TestNeed(t *testing.T) {
	need(t, "bash")
	script, err := filepath.Abs(filepath.Join(repoDir, ".ci", "need"))
	if err != nil {
		t.Fatal(err)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal(err)
	}

	code, out, errs := runIn(t, t.TempDir(), nil, "", bash, script, "bash", "sh=dash")
	if code != 0 || out+errs != "" {
		t.Errorf("all there: exit %d, output %q", code, out+errs)
	}

	// No apt-get on PATH (nor git): name the packages, each once.
	noApt := []string{"PATH=" + pathWith(t, "id"), "CI="}
	code, _, errs = runIn(t, t.TempDir(), noApt, "", bash, script, "git", "ansible-playbook=ansible-core", "promtool=prometheus", "no-such-tool=ansible-core")
	if code != 1 || !strings.Contains(errs, "missing: git ansible-playbook promtool no-such-tool") ||
		!strings.Contains(errs, "Install the Debian/Ubuntu packages git ansible-core prometheus,") {
		t.Errorf("without apt-get: exit %d, stderr %q", code, errs)
	}

	// apt-get, but neither root nor CI: the exact command, and nothing run.
	if os.Geteuid() == 0 {
		setpriv, err := exec.LookPath("setpriv")
		if err != nil {
			t.Fatal("running as root, this test needs setpriv (util-linux) to run as another user")
		}
		code, _, errs = runIn(t, t.TempDir(), []string{"CI="}, "", setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", bash, script, "no-such-tool=ansible-core")
	} else {
		code, _, errs = runIn(t, t.TempDir(), []string{"CI="}, "", bash, script, "no-such-tool=ansible-core")
	}
	if code != 1 || !strings.Contains(errs, "Install with:\n  sudo apt-get update && sudo apt-get install -y --no-install-recommends ansible-core\n") {
		t.Errorf("not root: exit %d, stderr %q", code, errs)
	}
}

// TestImageTestOneRunAtATime: make image-test's directory (buildah's
// storage, the stand-in bases) is shared between runs, so a second run
// waits for the first, and says so, instead of sharing it.
func TestImageTestOneRunAtATime(t *testing.T) {
	need(t, "bash", "flock", "git", "go")
	dir := t.TempDir()
	lock, err := os.Create(filepath.Join(dir, ".lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", ".ci/image-test")
	cmd.Dir = repoDir
	cmd.Env = append(os.Environ(), "IMAGE_TEST_DIR="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// It waits: stop it, and the flock it runs, before the lock is let go.
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}()
	saw := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "another run is using") {
				saw <- sc.Text()
				return
			}
		}
		close(saw)
	}()
	select {
	case line, ok := <-saw:
		if !ok || !strings.Contains(line, dir+"; waiting for it") {
			t.Errorf("image-test did not say it waits: %q", line)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("image-test neither waited nor said so within 30s")
	}
}
