package maketest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
