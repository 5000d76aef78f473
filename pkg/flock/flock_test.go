package flock

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestTryLock: a second TryLock of a held path is refused by its Set (which
// NFS would grant), another Set and another process; Release frees it.
func TestTryLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.lock")
	var set, other Set
	l, err := set.TryLock(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := set.TryLock(path); !errors.Is(err, ErrHeld) {
		t.Errorf("second TryLock of the Set = %v, want ErrHeld", err)
	}
	if _, err := other.TryLock(path); !errors.Is(err, ErrHeld) {
		t.Errorf("TryLock of another Set = %v, want ErrHeld", err)
	}
	if locked, err := set.IsLocked(path); !locked || err != nil {
		t.Errorf("IsLocked = %v, %v", locked, err)
	}
	// flock(1) from util-linux in another process is refused too.
	if _, err := exec.LookPath("flock"); err == nil {
		if err := exec.Command("flock", "-n", path, "true").Run(); err == nil {
			t.Error("another process took the held lock")
		}
	}
	l.Release()
	l.Release()
	if locked, _ := other.IsLocked(path); locked {
		t.Error("locked after Release")
	}
	if _, err := set.TryLock(filepath.Join(t.TempDir(), "no", "such", "dir")); err == nil || errors.Is(err, ErrHeld) {
		t.Errorf("TryLock in a missing dir = %v, want an error other than ErrHeld", err)
	}
	_ = os.Remove(path)
}
