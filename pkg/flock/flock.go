// Package flock holds exclusive flock(2) locks on files: the locks that bot
// processes sharing a state directory (EFS in a pod) take to exclude each
// other.
//
// A flock belongs to the open file, not to the process: it is freed when the
// last process that has the file open exits, so a crash never leaves one
// behind, and a lock file handed to a child (Lock.File) stays locked while
// the child runs, even after its parent died. EFS (NFSv4) supports flock,
// but there it is a lock of the whole client process: a second open of the
// same file in one process would get it again. So locks are taken through a
// Set, which also refuses the paths it holds itself. A process keeps one Set
// per state directory; two Sets behave like two processes (exactly so on a
// local file system, which tests use to stand for two pods).
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

// Set is the locks one process takes in a state directory. Its zero value
// is ready to use; it is safe for concurrent use.
type Set struct {
	mu   sync.Mutex
	held map[string]bool // absolute paths
}

// Lock is a held lock. Release it when done.
type Lock struct {
	set  *Set
	path string
	f    *os.File
}

// TryLock takes the lock of path without waiting, creating the file if
// needed. When another process, or this Set, holds it, it returns ErrHeld.
func (s *Set) TryLock(path string) (*Lock, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	s.mu.Lock()
	if s.held[abs] {
		s.mu.Unlock()
		return nil, ErrHeld
	}
	if s.held == nil {
		s.held = map[string]bool{}
	}
	s.held[abs] = true
	s.mu.Unlock()
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o640)
	if err == nil {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != nil {
			f.Close()
		}
	}
	if err != nil {
		s.unhold(abs)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrHeld
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return &Lock{set: s, path: abs, f: f}, nil
}

// Wait takes the lock of path, trying every poll until ctx is done.
func (s *Set) Wait(ctx context.Context, path string, poll time.Duration) (*Lock, error) {
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		l, err := s.TryLock(path)
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

// IsLocked reports whether someone (this Set included) holds path.
func (s *Set) IsLocked(path string) (bool, error) {
	l, err := s.TryLock(path)
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
	l.set.unhold(l.path)
}

func (s *Set) unhold(path string) {
	s.mu.Lock()
	delete(s.held, path)
	s.mu.Unlock()
}
