package jobs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/botfleet/botfleet/pkg/atomicfile"
	"github.com/botfleet/botfleet/pkg/flock"
	"github.com/botfleet/botfleet/pkg/procs"
)

// DefaultMaxHistoryBytes is the size at which the history is rotated.
const DefaultMaxHistoryBytes = 64 << 20

// eventTTL is how long the id of an event that began a job is remembered:
// Slack retries an event for minutes; another process may get it at once.
const eventTTL = 24 * time.Hour

// lockPoll is how often a process waiting for the history lock tries again.
const lockPoll = 10 * time.Millisecond

// Store is a state directory of jobs, shared by every process of a bot (EFS
// in a pod). It is safe for concurrent use; two Stores on one directory,
// in one process or two, behave like two pods.
type Store struct {
	dir      string
	instance string
	log      *slog.Logger
	maxBytes int64
	proc     *procs.Held // procs/<instance>.lock, held while the Store is open
	locks    flock.Set
}

// StoreOptions tune a Store; the zero value is the default.
type StoreOptions struct {
	// Log gets repairs of damaged state and rotations; nil discards them.
	Log *slog.Logger
	// MaxHistoryBytes is the size at which the history is rotated;
	// default DefaultMaxHistoryBytes.
	MaxHistoryBytes int64
}

// Open creates the layout under dir if needed and takes this process's lock
// in it, which tells every other process that the jobs this Store runs may
// still run. Close the Store to release it.
func Open(dir string, o StoreOptions) (*Store, error) {
	for _, sub := range []string{"locks", "procs", "events", "jobs"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o750); err != nil {
			return nil, fmt.Errorf("creating the jobs state dir: %w", err)
		}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.MaxHistoryBytes <= 0 {
		o.MaxHistoryBytes = DefaultMaxHistoryBytes
	}
	s := &Store{dir: dir, log: o.Log, maxBytes: o.MaxHistoryBytes}
	proc, err := procs.Take(&s.locks, s.procsDir())
	if err != nil {
		return nil, err
	}
	s.proc, s.instance = proc, proc.Instance()
	s.prune()
	return s, nil
}

// Close releases the process lock: jobs this Store still runs are, for
// every other process, those of a dead one.
func (s *Store) Close() {
	s.proc.Release()
}

// Dir returns the state directory.
func (s *Store) Dir() string { return s.dir }

// Instance names this process in records.
func (s *Store) Instance() string { return s.instance }

func (s *Store) historyPath() string  { return filepath.Join(s.dir, "history.jsonl") }
func (s *Store) previousPath() string { return filepath.Join(s.dir, "history.1.jsonl") }
func (s *Store) seqPath() string      { return filepath.Join(s.dir, "seq") }
func (s *Store) procsDir() string     { return filepath.Join(s.dir, "procs") }
func (s *Store) lockPath(key string) string {
	return filepath.Join(s.dir, "locks", safeName(key)+".lock")
}
func (s *Store) holderPath(key string) string {
	return filepath.Join(s.dir, "locks", safeName(key)+".json")
}

// JobDir returns the directory of job id's files: its log and a cancel
// request.
func (s *Store) JobDir(id int64) string {
	return filepath.Join(s.dir, "jobs", strconv.FormatInt(id, 10))
}

// LogPath returns the path of job id's log.
func (s *Store) LogPath(id int64) string { return filepath.Join(s.JobDir(id), "log") }

// safeName makes a lock key a file name: "eu-west-1/prod/api" is
// "eu-west-1%2Fprod%2Fapi"; a very long key is hashed.
func safeName(key string) string {
	n := url.PathEscape(key)
	if n == "." || n == ".." {
		n = "%" + n
	}
	if len(n) > 200 {
		sum := sha256.Sum256([]byte(key))
		n = n[:100] + "-" + hex.EncodeToString(sum[:16])
	}
	return n
}

// historyLock takes the lock under which the history, the counter, the
// holder files and the event ids change.
func (s *Store) historyLock(ctx context.Context) (*flock.Lock, error) {
	return s.locks.Wait(ctx, filepath.Join(s.dir, "history.lock"), lockPoll)
}

// BusyError is Begin's error when another job holds the key.
type BusyError struct {
	Key string
	// Holder is the running job; nil in the moment between another
	// taking the lock and saying who it is.
	Holder *Record
}

func (e *BusyError) Error() string { return "job lock " + e.Key + " is held" }

// DuplicateError is Begin's error when a job was begun for the same event
// already: a redelivery.
type DuplicateError struct {
	Event string
	ID    int64
}

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("event %s began job #%d already", e.Event, e.ID)
}

// Lease is a running job's hold on its key. Finish it.
type Lease struct {
	s    *Store
	lock *flock.Lock
	rec  Record
}

// Record returns the job as last recorded.
func (l *Lease) Record() Record { return l.rec }

// Begin records job r as running and takes its key, without waiting: one
// job per key runs at a time across every process sharing the directory.
// Under the history lock it checks r.Event, takes the key, gives r the next
// number, records it and writes it as the key's holder; so whoever is
// refused, in this process or another, learns who holds the key. It returns
// a *BusyError when another job holds the key, and a *DuplicateError when
// a job was begun for r.Event already.
//
// A job recorded as the key's holder whose lock was free is over: its
// process died. It is recorded as interrupted and returned in stale, so
// that its message can be edited.
func (s *Store) Begin(ctx context.Context, r Record) (lease *Lease, stale []Record, err error) {
	if r.Key == "" || r.Kind == "" {
		return nil, nil, errors.New("beginning a job without a key or a kind")
	}
	hl, err := s.historyLock(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer hl.Release()
	if r.Event != "" {
		if id, ok := s.eventJob(r.Event); ok {
			return nil, nil, &DuplicateError{Event: r.Event, ID: id}
		}
	}
	lock, err := s.locks.TryLock(s.lockPath(r.Key))
	if errors.Is(err, flock.ErrHeld) {
		h, _ := s.readHolder(r.Key)
		return nil, nil, &BusyError{Key: r.Key, Holder: h}
	}
	if err != nil {
		return nil, nil, err
	}
	ok := false
	defer func() {
		if !ok {
			lock.Release()
		}
	}()
	if old, _ := s.readHolder(r.Key); old != nil {
		if s.adopted(*old) {
			return nil, nil, &BusyError{Key: r.Key, Holder: old}
		}
		if st, err := s.interruptLocked(*old, fmt.Sprintf("found when a job of %s began", r.Key)); err != nil {
			return nil, nil, err
		} else if st != nil {
			stale = append(stale, *st)
		}
	}
	if r.ID, err = s.nextID(); err != nil {
		return nil, nil, err
	}
	now := time.Now().UTC()
	r.Status, r.Instance = Running, s.instance
	if r.Created.IsZero() {
		r.Created = now
	}
	r.Started = now
	if err := s.appendLocked(r); err != nil {
		return nil, nil, err
	}
	if err := s.writeHolder(r); err != nil {
		return nil, nil, err
	}
	if r.Event != "" {
		s.recordEvent(r.Event, r.ID)
	}
	ok = true
	return &Lease{s: s, lock: lock, rec: r}, stale, nil
}

// interruptLocked records job h, found as the holder of a key whose lock
// is free, as interrupted (unless its end was recorded already, by a
// process that died before clearing the holder), and clears the holder.
// It returns the record when it changed it.
func (s *Store) interruptLocked(h Record, why string) (*Record, error) {
	cur, found, err := s.recordOf(h.ID)
	if err != nil {
		return nil, err
	}
	if found && cur.Status.Final() {
		return nil, os.Remove(s.holderPath(h.Key))
	}
	h.Progress = ""
	h.Status, h.Ended = Interrupted, time.Now().UTC()
	h.Error = fmt.Sprintf("the process running it (%s) stopped during the run; %s", h.Instance, why)
	if err := s.appendLocked(h); err != nil {
		return nil, err
	}
	s.log.Warn("job interrupted", "job", h.ID, "kind", h.Kind, "key", h.Key, "instance", h.Instance)
	if err := os.Remove(s.holderPath(h.Key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return &h, nil
}

// Update records a later state of the running job (its message, say).
func (l *Lease) Update(ctx context.Context, r Record) error {
	hl, err := l.s.historyLock(ctx)
	if err != nil {
		return err
	}
	defer hl.Release()
	if err := l.s.appendLocked(r); err != nil {
		return err
	}
	if r.Progress == "" {
		r.Progress = l.rec.Progress
	}
	l.rec = r
	return l.s.writeHolder(r)
}

// Progress keeps text as the job's latest progress in the holder file, for
// whoever is refused the key; the history does not keep it.
func (l *Lease) Progress(text string) error {
	l.rec.Progress = text
	return l.s.writeHolder(l.rec)
}

// Finish records the job's end, as r says, and frees its key. The record
// is written before the key is freed, so a job begun next sees it over.
func (l *Lease) Finish(ctx context.Context, r Record) error {
	if l.lock == nil {
		return errors.New("finishing a job twice")
	}
	defer func() {
		l.lock.Release()
		l.lock = nil
		os.Remove(filepath.Join(l.s.JobDir(r.ID), "cancel"))
	}()
	if r.Ended.IsZero() {
		r.Ended = time.Now().UTC()
	}
	hl, err := l.s.historyLock(ctx)
	if err != nil {
		return err
	}
	defer hl.Release()
	if err := l.s.appendLocked(r); err != nil {
		return err
	}
	l.rec = r
	if err := os.Remove(l.s.holderPath(r.Key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("clearing the holder of %s: %w", r.Key, err)
	}
	return nil
}

func (s *Store) writeHolder(r Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(s.holderPath(r.Key), b, 0o640); err != nil {
		return fmt.Errorf("writing the holder of %s: %w", r.Key, err)
	}
	return nil
}

func (s *Store) readHolder(key string) (*Record, error) {
	return readHolderFile(s.holderPath(key))
}

func readHolderFile(path string) (*Record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil || !r.valid() {
		return nil, fmt.Errorf("%s holds no job", filepath.Base(path))
	}
	return &r, nil
}

// Running returns the jobs that hold their keys now, in every process, by
// number.
func (s *Store) Running() ([]Record, error) {
	paths, err := filepath.Glob(filepath.Join(s.dir, "locks", "*.json"))
	if err != nil {
		return nil, err
	}
	var out []Record
	for _, p := range paths {
		r, err := readHolderFile(p)
		if err != nil {
			continue
		}
		if locked, err := s.locks.IsLocked(strings.TrimSuffix(p, ".json") + ".lock"); err == nil && locked {
			out = append(out, *r)
		}
	}
	sortByID(out)
	return out, nil
}

// Recover records as interrupted every job whose process is dead: the job
// is its key's holder, the key's lock is free and so is the lock of the
// process that ran it. It returns them, so that their messages can be
// edited. A job whose key is still locked (by its process, or a child that
// outlived it) or whose process still holds its lock is left alone.
func (s *Store) Recover(ctx context.Context) ([]Record, error) {
	others, err := s.othersHolders()
	if err != nil {
		return nil, err
	}
	var out []Record
	for _, h := range others {
		r, err := s.recoverOne(ctx, h)
		if err != nil {
			return out, err
		}
		if r != nil {
			out = append(out, *r)
		}
	}
	s.pruneProcs()
	return out, nil
}

func (s *Store) recoverOne(ctx context.Context, h Record) (*Record, error) {
	hl, err := s.historyLock(ctx)
	if err != nil {
		return nil, err
	}
	defer hl.Release()
	lock, err := s.locks.TryLock(s.lockPath(h.Key))
	if errors.Is(err, flock.ErrHeld) {
		return nil, nil // it runs, or a child of its process does
	}
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	if alive, err := procs.Alive(&s.locks, s.procsDir(), h.Instance); err != nil || alive {
		return nil, err
	}
	if cur, _ := s.readHolder(h.Key); cur == nil || cur.ID != h.ID {
		return nil, nil // another recovered it meanwhile
	}
	return s.interruptLocked(h, "found when a process started")
}

// pruneProcs removes the lock files of dead processes.
func (s *Store) pruneProcs() { procs.Prune(&s.locks, s.procsDir()) }

// Record returns job id's latest state.
func (s *Store) Record(id int64) (Record, bool, error) {
	return s.recordOf(id)
}

func (s *Store) recordOf(id int64) (Record, bool, error) {
	var found Record
	ok := false
	err := s.eachRecord(func(r Record) bool {
		if r.ID == id {
			found, ok = r, true
			return false
		}
		return true
	})
	return found, ok, err
}

// History returns the latest state of the n jobs that changed last, the
// latest first. It reads the history from its end, as far back as those n
// jobs go.
func (s *Store) History(n int) ([]Record, error) {
	seen := map[int64]bool{}
	var out []Record
	err := s.eachRecord(func(r Record) bool {
		if !seen[r.ID] {
			seen[r.ID] = true
			out = append(out, r)
		}
		return len(out) < n
	})
	return out, err
}

// MarkNotified records that the message of ended job r says how it ended.
func (s *Store) MarkNotified(ctx context.Context, r Record) error {
	hl, err := s.historyLock(ctx)
	if err != nil {
		return err
	}
	defer hl.Release()
	r.Notified = true
	return s.appendLocked(r)
}

// nextID returns the number after the larger of the counter and the
// largest in the history's last block, and writes it to the counter: a
// counter lost, damaged or set back never makes a number repeat. The caller
// holds the history lock.
func (s *Store) nextID() (int64, error) {
	var last int64
	lines := 0
	err := s.eachRecord(func(r Record) bool {
		last = max(last, r.ID)
		lines++
		return lines < 200
	})
	if err != nil {
		return 0, err
	}
	b, err := os.ReadFile(s.seqPath())
	var seq int64
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if last > 0 {
			s.log.Warn("the job counter is missing; numbering on from the history", "file", s.seqPath(), "last_id", last)
		}
	case err != nil:
		return 0, fmt.Errorf("reading the job counter: %w", err)
	default:
		v, perr := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
		if perr != nil || v < last {
			s.log.Warn("the job counter is damaged or behind the history; repaired from it", "file", s.seqPath(), "last_id", last)
		} else {
			seq = v
		}
	}
	n := max(seq, last)
	if n == math.MaxInt64 {
		return 0, fmt.Errorf("job numbers are used up: %s or the history holds %d", s.seqPath(), n)
	}
	n++
	if err := atomicfile.Write(s.seqPath(), []byte(strconv.FormatInt(n, 10)+"\n"), 0o640); err != nil {
		return 0, fmt.Errorf("writing the job counter: %w", err)
	}
	return n, nil
}

func (s *Store) eventPath(event string) string {
	sum := sha256.Sum256([]byte(event))
	return filepath.Join(s.dir, "events", hex.EncodeToString(sum[:16]))
}

// eventJob returns the job that event began, if any.
func (s *Store) eventJob(event string) (int64, bool) {
	b, err := os.ReadFile(s.eventPath(event))
	if err != nil {
		return 0, false
	}
	id, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
	return id, err == nil
}

func (s *Store) recordEvent(event string, id int64) {
	if err := atomicfile.Write(s.eventPath(event), []byte(strconv.FormatInt(id, 10)+"\n"), 0o640); err != nil {
		s.log.Warn("recording the event of a job", "job", id, "err", err)
	}
}

// prune removes event ids older than eventTTL.
func (s *Store) prune() {
	dir := filepath.Join(s.dir, "events")
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > eventTTL {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// RequestCancel asks whichever process runs job id to stop it; the owner
// polls for the request.
func (s *Store) RequestCancel(id int64, by string) error {
	if err := os.MkdirAll(s.JobDir(id), 0o750); err != nil {
		return fmt.Errorf("asking to cancel job #%d: %w", id, err)
	}
	if err := atomicfile.Write(filepath.Join(s.JobDir(id), "cancel"), []byte(by+"\n"), 0o640); err != nil {
		return fmt.Errorf("asking to cancel job #%d: %w", id, err)
	}
	return nil
}

// CancelRequested reports whether someone asked to stop job id, and who.
func (s *Store) CancelRequested(id int64) (string, bool) {
	b, err := os.ReadFile(filepath.Join(s.JobDir(id), "cancel"))
	if err != nil {
		return "", false
	}
	return string(bytes.TrimSpace(b)), true
}
