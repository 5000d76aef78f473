// Package state is the ansible bot's durable state in a directory shared by
// every instance (EFS in a pod): one lock per app and environment, the
// deploy history, the ids of handled events, cancel requests and run logs.
//
// Locks are flock(2) locks (package flock), which EFS (NFSv4) supports: a
// crash never leaves one behind, and a lock file handed to a child
// (Lock.File) stays locked while the child runs, even after its parent died. The history is a JSONL file appended under a lock
// and fsynced, because appends from two NFS clients can interleave.
//
// Apart from the recap of a deploy's hosts, the package knows nothing of
// ansible: it can move into the framework as it is.
package state

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"

	"github.com/botfleet/botfleet/pkg/flock"
)

// Store is the state directory. It is safe for concurrent use. Each
// instance of the bot opens its own Store; two Stores on one directory
// behave like two pods.
type Store struct {
	dir      string
	instance string
	log      *slog.Logger
	locks    flock.Set // flock over NFS is per process: the Set refuses what it holds
}

// Open creates the layout under dir if needed. Repairs of damaged state
// (see Begin) are logged to log; nil discards them.
func Open(dir string, log *slog.Logger) (*Store, error) {
	for _, sub := range []string{"locks", "runs", "events"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o750); err != nil {
			return nil, fmt.Errorf("creating the state dir: %w", err)
		}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	host, _ := os.Hostname()
	return &Store{dir: dir, instance: host + "/" + strconv.Itoa(os.Getpid()), log: log}, nil
}

// Dir returns the state directory.
func (s *Store) Dir() string { return s.dir }

// Instance names this process in records and lock files.
func (s *Store) Instance() string { return s.instance }

// RunDir returns the directory of deploy id's files (log, extra vars).
func (s *Store) RunDir(id int64) string {
	return filepath.Join(s.dir, "runs", strconv.FormatInt(id, 10))
}
