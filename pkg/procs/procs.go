// Package procs holds the per-process lock files by which processes sharing
// a state directory (EFS in a pod) tell whether another is alive: each
// process holds dir/<instance>.lock while it runs, and what a process left
// unfinished (a job, an acked event) is another's to recover once that lock
// is free.
//
// A lock is a flock.Set's, so the rules of package flock hold: one Set per
// process and directory, and never a second open of a lock file in one
// process (on NFS, closing it would drop the process's lock). A crashed
// client's lock on NFS is freed only when its lease expires.
package procs

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/botfleet/botfleet/pkg/flock"
)

// Held is this process's lock in a directory.
type Held struct {
	dir      string
	instance string
	lock     *flock.Lock
}

// Take creates dir if needed, names this process with a new instance name
// and takes its lock there, through locks. Release it when the process
// stops being responsible for what it recorded.
func Take(locks *flock.Set, dir string) (*Held, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	instance := newInstance()
	l, err := locks.TryLock(path(dir, instance))
	if err != nil {
		return nil, fmt.Errorf("taking this process's lock: %w", err)
	}
	return &Held{dir: dir, instance: instance, lock: l}, nil
}

// newInstance names a process. The host and pid alone would repeat: a
// restarted container is the same pod (host) and often pid 1 again, and
// would take itself for the process whose work it is to recover.
func newInstance() string {
	host, _ := os.Hostname()
	var nonce [4]byte
	_, _ = rand.Read(nonce[:])
	return fmt.Sprintf("%s-%d-%s", url.PathEscape(host), os.Getpid(), hex.EncodeToString(nonce[:]))
}

func path(dir, instance string) string { return filepath.Join(dir, instance+".lock") }

// Instance names this process in what it records.
func (h *Held) Instance() string { return h.instance }

// Release removes the lock file and frees the lock: what this process
// recorded is, for every other, a dead process's. It is safe to call twice.
func (h *Held) Release() {
	if h == nil || h.lock == nil {
		return
	}
	os.Remove(path(h.dir, h.instance))
	h.lock.Release()
	h.lock = nil
}

// Alive reports whether instance holds its lock in dir. It must not be asked
// of an instance of this process held through another Set (see the package
// comment); locks refuses those of its own.
func Alive(locks *flock.Set, dir, instance string) (bool, error) {
	if instance == "" || strings.ContainsAny(instance, `/\`) || instance == "." || instance == ".." {
		return false, errors.New("bad instance name " + fmt.Sprintf("%q", instance))
	}
	p := path(dir, instance)
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
		return false, nil // released, or pruned
	}
	return locks.IsLocked(p)
}

// Live returns how many processes hold their lock in dir, counting those
// held through locks, and removes the lock files of dead ones, as Prune. A
// process killed on NFS counts until its lease expires.
func Live(locks *flock.Set, dir string) (int, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.lock"))
	if err != nil {
		return 0, fmt.Errorf("listing the processes of %s: %w", dir, err)
	}
	n := 0
	for _, p := range paths {
		l, err := locks.TryLock(p)
		switch {
		case errors.Is(err, flock.ErrHeld):
			n++
		case err != nil:
			return 0, fmt.Errorf("telling whether %s is alive: %w", filepath.Base(p), err)
		default:
			os.Remove(p)
			l.Release()
		}
	}
	return n, nil
}

// Prune removes the lock files of dead processes in dir.
func Prune(locks *flock.Set, dir string) {
	paths, _ := filepath.Glob(filepath.Join(dir, "*.lock"))
	for _, p := range paths {
		if l, err := locks.TryLock(p); err == nil {
			os.Remove(p)
			l.Release()
		}
	}
}
