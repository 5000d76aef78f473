// Package flock holds exclusive flock(2) locks on files: the locks that bot
// processes sharing a state directory (EFS in a pod) take to exclude each
// other.
//
// A flock belongs to the open file, not to the process: it is freed when the
// last process that has the file open exits, so a crash never leaves one
// behind, and a lock file handed to a child (Lock.File) stays locked while
// the child runs, even after its parent died. EFS (NFSv4) supports flock,
// but there it is a lock of the whole client process: a second open of the
// same file in one process would get it again. So this package also keeps
// the paths this process holds, and refuses them to the process itself.
package flock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// ErrHeld is TryLock's error when another holds the lock.
var ErrHeld = errors.New("lock held")

// held is the set of paths this process holds: the process is one NFS
// client, whose flocks do not exclude each other.
var held = struct {
	sync.Mutex
	paths map[string]bool
}{paths: map[string]bool{}}

// Lock is a held lock. Release it when done.
type Lock struct {
	path string
	f    *os.File
}

// TryLock takes the lock of path without waiting, creating the file if
// needed. When another process, or this one, holds it, it returns ErrHeld.
func TryLock(path string) (*Lock, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	held.Lock()
	if held.paths[abs] {
		held.Unlock()
		return nil, ErrHeld
	}
	held.paths[abs] = true
	held.Unlock()
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o640)
	if err == nil {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != nil {
			f.Close()
		}
	}
	if err != nil {
		unhold(abs)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrHeld
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return &Lock{path: abs, f: f}, nil
}

// Wait takes the lock of path, trying every poll until ctx is done.
func Wait(ctx context.Context, path string, poll time.Duration) (*Lock, error) {
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		l, err := TryLock(path)
		if !errors.Is(err, ErrHeld) {
			return l, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for lock %s: %w", filepath.Base(path), ctx.Err())
		case <-tick.C:
		}
	}
}

// IsLocked reports whether someone (this process included) holds path.
func IsLocked(path string) (bool, error) {
	l, err := TryLock(path)
	if errors.Is(err, ErrHeld) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	l.Release()
	return false, nil
}

// File returns the lock's open file: to write into it, or to hand to a
// child process, which then holds the lock as long as it has it open.
func (l *Lock) File() *os.File { return l.f }

// Release frees the lock. It is safe to call twice, and on a nil Lock.
func (l *Lock) Release() {
	if l == nil || l.f == nil {
		return
	}
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
	l.f = nil
	unhold(l.path)
}

func unhold(path string) {
	held.Lock()
	delete(held.paths, path)
	held.Unlock()
}
