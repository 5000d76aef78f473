// Package state is the ansible bot's durable state in a directory shared by
// every instance (EFS in a pod): one lock per app and environment, the
// deploy history, the ids of handled events, cancel requests and run logs.
//
// Locks are flock(2) locks, which EFS (NFSv4) supports; a lock dies with
// the process that held it, so a crash never leaves one behind. The history
// is a JSONL file appended under a lock and fsynced, because appends from two
// NFS clients can interleave.
package state

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/botfleet/botfleet/bots/ansible/internal/playbook"
)

// Statuses of a deploy.
const (
	Running     = "running"
	Succeeded   = "ok"
	Failed      = "failed"
	Cancelled   = "cancelled"
	TimedOut    = "timeout"
	Interrupted = "interrupted" // its instance died during the run
	Errored     = "error"       // the bot could not run it (git, disk…)
)

// Record is one deploy, as the history keeps it. A deploy is written when
// it starts and again when it ends; the last line for an id wins.
type Record struct {
	ID       int64     `json:"id"`
	Status   string    `json:"status"`
	App      string    `json:"app"`
	Env      string    `json:"env"`
	Branch   string    `json:"branch"`
	User     string    `json:"user"`
	Channel  string    `json:"channel,omitempty"`
	Message  string    `json:"message_ts,omitempty"` // the progress message, for later edits
	Thread   string    `json:"thread_ts,omitempty"`
	Instance string    `json:"instance"` // host and pid that ran it
	Commit   string    `json:"commit,omitempty"`
	Started  time.Time `json:"started"`
	Ended    time.Time `json:"ended,omitzero"`
	// Task is the failing task, or the running one when it stopped.
	Task        string               `json:"task,omitempty"`
	Error       string               `json:"error,omitempty"`
	CancelledBy string               `json:"cancelled_by,omitempty"`
	Recap       []playbook.HostRecap `json:"recap,omitempty"`
	// Notified is set once the progress message of an interrupted deploy
	// was edited to say so.
	Notified bool `json:"notified,omitempty"`
}

// Duration is how long the deploy ran (so far, while it runs).
func (r Record) Duration(now time.Time) time.Duration {
	if r.Ended.IsZero() {
		return now.Sub(r.Started)
	}
	return r.Ended.Sub(r.Started)
}

// Holder is who holds a lock, as written into the lock file.
type Holder struct {
	ID       int64     `json:"id"`
	User     string    `json:"user"`
	Branch   string    `json:"branch"`
	Since    time.Time `json:"since"`
	Instance string    `json:"instance"`
}

// Store is the state directory. It is safe for concurrent use. Each
// instance of the bot opens its own Store; two Stores on one directory
// behave like two pods.
type Store struct {
	dir      string
	instance string

	mu   sync.Mutex
	held map[string]bool // locks this Store holds: flock over NFS is per process
}

// Open creates the layout under dir if needed.
func Open(dir string) (*Store, error) {
	for _, sub := range []string{"locks", "runs", "events"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o750); err != nil {
			return nil, fmt.Errorf("creating the state dir: %w", err)
		}
	}
	host, _ := os.Hostname()
	return &Store{dir: dir, instance: host + "/" + strconv.Itoa(os.Getpid()), held: map[string]bool{}}, nil
}

// Dir returns the state directory.
func (s *Store) Dir() string { return s.dir }

// Instance names this process in records and lock files.
func (s *Store) Instance() string { return s.instance }

// RunDir returns the directory of deploy id's files (log, extra vars).
func (s *Store) RunDir(id int64) string {
	return filepath.Join(s.dir, "runs", strconv.FormatInt(id, 10))
}

// Lock is a held lock. Release it when done.
type Lock struct {
	s   *Store
	key string
	f   *os.File
}

// ErrHeld is returned by TryLock when another holds the lock.
var ErrHeld = errors.New("lock held")

// TryLock takes the lock key (a file name, such as deploy-api-dev) without
// waiting. When another holds it, it returns ErrHeld and, if known, who.
func (s *Store) TryLock(key string) (*Lock, *Holder, error) {
	s.mu.Lock()
	if s.held[key] {
		s.mu.Unlock()
		h, _ := s.holder(key)
		return nil, h, ErrHeld
	}
	s.held[key] = true
	s.mu.Unlock()
	f, err := os.OpenFile(s.lockPath(key), os.O_RDWR|os.O_CREATE, 0o640)
	if err == nil {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != nil {
			f.Close()
		}
	}
	if err != nil {
		s.unhold(key)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			h, _ := s.holder(key)
			return nil, h, ErrHeld
		}
		return nil, nil, fmt.Errorf("locking %s: %w", key, err)
	}
	return &Lock{s: s, key: key, f: f}, nil, nil
}

// WaitLock takes the lock key, waiting for it until ctx is done.
func (s *Store) WaitLock(ctx context.Context, key string) (*Lock, error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		l, _, err := s.TryLock(key)
		if !errors.Is(err, ErrHeld) {
			return l, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for lock %s: %w", key, ctx.Err())
		case <-tick.C:
		}
	}
}

func (s *Store) unhold(key string) {
	s.mu.Lock()
	delete(s.held, key)
	s.mu.Unlock()
}

func (s *Store) lockPath(key string) string { return filepath.Join(s.dir, "locks", key+".lock") }

// SetHolder writes who holds the lock into its file, for whoever is refused.
func (l *Lock) SetHolder(h Holder) error {
	h.Instance = l.s.instance
	b, _ := json.Marshal(h)
	if err := l.f.Truncate(0); err != nil {
		return err
	}
	if _, err := l.f.WriteAt(b, 0); err != nil {
		return err
	}
	return l.f.Sync()
}

// Release clears the holder and frees the lock. It is safe to call twice.
func (l *Lock) Release() {
	if l == nil || l.f == nil {
		return
	}
	_ = l.f.Truncate(0)
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
	l.f = nil
	l.s.unhold(l.key)
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

const historyLock = "history"

func (s *Store) historyPath() string { return filepath.Join(s.dir, "history.jsonl") }

// Begin gives r the next deploy id and appends it to the history.
func (s *Store) Begin(ctx context.Context, r Record) (Record, error) {
	l, err := s.WaitLock(ctx, historyLock)
	if err != nil {
		return r, err
	}
	defer l.Release()
	seqPath := filepath.Join(s.dir, "seq")
	b, err := os.ReadFile(seqPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return r, fmt.Errorf("reading the deploy counter: %w", err)
	}
	last, _ := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
	r.ID = last + 1
	if err := writeFileSync(seqPath, []byte(strconv.FormatInt(r.ID, 10)+"\n")); err != nil {
		return r, fmt.Errorf("writing the deploy counter: %w", err)
	}
	r.Instance = s.instance
	return r, s.appendLocked(r)
}

// Append adds r (a later state of a deploy) to the history.
func (s *Store) Append(ctx context.Context, r Record) error {
	l, err := s.WaitLock(ctx, historyLock)
	if err != nil {
		return err
	}
	defer l.Release()
	return s.appendLocked(r)
}

func (s *Store) appendLocked(r Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(s.historyPath(), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("opening the history: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("appending to the history: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("syncing the history: %w", err)
	}
	return f.Close()
}

// Records returns every deploy in the history, the latest state of each,
// oldest first. A torn or foreign line is skipped.
func (s *Store) Records() ([]Record, error) {
	f, err := os.Open(s.historyPath())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the history: %w", err)
	}
	defer f.Close()
	byID := map[int64]Record{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		var r Record
		if json.Unmarshal(sc.Bytes(), &r) != nil || r.ID == 0 {
			continue
		}
		byID[r.ID] = r
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the history: %w", err)
	}
	out := make([]Record, 0, len(byID))
	for _, r := range byID {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Record) int { return int(a.ID - b.ID) })
	return out, nil
}

// Record returns deploy id's latest state.
func (s *Store) Record(id int64) (Record, bool, error) {
	rs, err := s.Records()
	if err != nil {
		return Record{}, false, err
	}
	i := slices.IndexFunc(rs, func(r Record) bool { return r.ID == id })
	if i < 0 {
		return Record{}, false, nil
	}
	return rs[i], true, nil
}

// FirstEvent records the event id as handled and reports whether it was
// the first to: a Slack retry or a second instance given the same event
// gets false. Records older than ttl are removed as a side effect.
func (s *Store) FirstEvent(id string, ttl time.Duration) (bool, error) {
	sum := sha256.Sum256([]byte(id))
	path := filepath.Join(s.dir, "events", hex.EncodeToString(sum[:16]))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if errors.Is(err, fs.ErrExist) {
		if fi, err := os.Stat(path); err == nil && time.Since(fi.ModTime()) > ttl {
			// A stale record of a reused id: take it over.
			os.Remove(path)
			return s.FirstEvent(id, ttl)
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("recording event %s: %w", id, err)
	}
	fmt.Fprintf(f, "%s %s\n", time.Now().UTC().Format(time.RFC3339), s.instance)
	f.Close()
	return true, nil
}

// PruneEvents removes event records older than ttl.
func (s *Store) PruneEvents(ttl time.Duration) error {
	dir := filepath.Join(s.dir, "events")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > ttl {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	return nil
}

// RequestCancel asks whichever instance runs deploy id to stop it.
func (s *Store) RequestCancel(id int64, by string) error {
	dir := s.RunDir(id)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	return writeFileSync(filepath.Join(dir, "cancel"), []byte(by+"\n"))
}

// CancelRequested reports whether someone asked to stop deploy id, and who.
func (s *Store) CancelRequested(id int64) (string, bool) {
	b, err := os.ReadFile(filepath.Join(s.RunDir(id), "cancel"))
	if err != nil {
		return "", false
	}
	return string(bytes.TrimSpace(b)), true
}

func writeFileSync(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
