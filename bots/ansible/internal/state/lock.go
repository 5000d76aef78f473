package state

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/botfleet/botfleet/pkg/flock"
)

// Holder is who holds a lock, as written into the lock file.
type Holder struct {
	ID       int64     `json:"id"`
	User     string    `json:"user"`
	Branch   string    `json:"branch"`
	Since    time.Time `json:"since"`
	Instance string    `json:"instance"`
}

// Lock is a held lock. Release it when done.
type Lock struct {
	s  *Store
	lk *flock.Lock
}

// ErrHeld is returned by TryLock when another holds the lock.
var ErrHeld = flock.ErrHeld

// HeldError is Begin's error when another holds the lock. It wraps ErrHeld.
type HeldError struct {
	Key    string
	Holder *Holder // nil when the lock file does not say
}

func (e *HeldError) Error() string { return "lock " + e.Key + " held" }
func (e *HeldError) Unwrap() error { return ErrHeld }

// TryLock takes the lock key (a file name, such as deploy.api.dev) without
// waiting. When another holds it, it returns ErrHeld and, if known, who.
func (s *Store) TryLock(key string) (*Lock, *Holder, error) {
	lk, err := s.locks.TryLock(s.lockPath(key))
	if errors.Is(err, flock.ErrHeld) {
		h, _ := s.holder(key)
		return nil, h, ErrHeld
	}
	if err != nil {
		return nil, nil, err
	}
	return &Lock{s: s, lk: lk}, nil, nil
}

// WaitLock takes the lock key, waiting for it until ctx is done.
func (s *Store) WaitLock(ctx context.Context, key string) (*Lock, error) {
	lk, err := s.locks.Wait(ctx, s.lockPath(key), 50*time.Millisecond)
	if err != nil {
		return nil, err
	}
	return &Lock{s: s, lk: lk}, nil
}

func (s *Store) lockPath(key string) string { return filepath.Join(s.dir, "locks", key+".lock") }

// SetHolder writes who holds the lock into its file, for whoever is refused.
func (l *Lock) SetHolder(h Holder) error {
	if h.Instance == "" {
		h.Instance = l.s.instance
	}
	b, _ := json.Marshal(h)
	f := l.lk.File()
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt(b, 0); err != nil {
		return err
	}
	return f.Sync()
}

// File returns the lock's open file, to hand to a child process: the lock
// stays held while the child (or a fork of it) keeps the file open, even if
// this process dies. Release frees it for the child too.
func (l *Lock) File() *os.File { return l.lk.File() }

// Release clears the holder and frees the lock. It is safe to call twice,
// and on a nil Lock.
func (l *Lock) Release() {
	if l == nil || l.lk == nil {
		return
	}
	_ = l.lk.File().Truncate(0)
	l.lk.Release()
	l.lk = nil
}

func (s *Store) holder(key string) (*Holder, error) {
	b, err := os.ReadFile(s.lockPath(key))
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return nil, err
	}
	var h Holder
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, err
	}
	return &h, nil
}

// IsLocked reports whether someone (this Store included) holds key.
func (s *Store) IsLocked(key string) (bool, error) {
	l, _, err := s.TryLock(key)
	if errors.Is(err, ErrHeld) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	l.Release()
	return false, nil
}
