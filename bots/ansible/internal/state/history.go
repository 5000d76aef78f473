package state

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/botfleet/botfleet/bots/ansible/internal/playbook"
	"github.com/botfleet/botfleet/pkg/atomicfile"
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

var statuses = []string{Running, Succeeded, Failed, Cancelled, TimedOut, Interrupted, Errored}

// Record is one deploy, as the history keeps it. A deploy is written when
// it starts and again as it goes and when it ends; the last line for an id
// wins.
type Record struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
	// Key is the lock the deploy holds while it runs.
	Key      string    `json:"key,omitempty"`
	App      string    `json:"app"`
	Env      string    `json:"env"`
	Branch   string    `json:"branch"`
	User     string    `json:"user"`
	Channel  string    `json:"channel,omitempty"`
	Message  string    `json:"message_ts,omitempty"` // the progress message, for later edits
	Thread   string    `json:"thread_ts,omitempty"`
	Instance string    `json:"instance"` // host and pid that ran it
	Owner    Owner     `json:"owner,omitzero"`
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

// Owner is where a deploy runs: the host and its boot, the bot process, and
// the deploy's own processes. A process is named by its pid and start time,
// so that a reused pid is never taken for it, and it is only ever looked at
// on the same host and boot: elsewhere a pid means nothing, and only the
// deploy's lock tells whether it may still run.
type Owner struct {
	Host string `json:"host"`
	Boot string `json:"boot"` // /proc/sys/kernel/random/boot_id
	// Bot is the bot process that started the deploy.
	Bot Process `json:"bot"`
	// Run is the deploy's program, the leader of its process group; zero
	// until it started.
	Run Process `json:"run,omitzero"`
	// Tag is in the environment of every process of the deploy.
	Tag string `json:"tag,omitempty"`
}

// Process is a process on the Owner's host.
type Process struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start"` // clock ticks after boot
}

// SameHost reports whether o and p are on one host, in one boot: only then
// can one look at the other's processes.
func (o Owner) SameHost(p Owner) bool {
	return o.Host != "" && o.Boot != "" && o.Host == p.Host && o.Boot == p.Boot
}

// Duration is how long the deploy ran (so far, while it runs).
func (r Record) Duration(now time.Time) time.Duration {
	if r.Ended.IsZero() {
		return now.Sub(r.Started)
	}
	return r.Ended.Sub(r.Started)
}

// valid reports whether r is a record this package writes: anything else in
// the history is a damaged or foreign line, skipped and never acted on.
func (r Record) valid() bool {
	return r.ID > 0 && slices.Contains(statuses, r.Status) && r.App != "" && r.Env != "" && !r.Started.IsZero()
}

// maxLine bounds a line of the history. Longer lines are skipped when read
// without being held in memory; appendLocked keeps records under it.
const maxLine = 4 << 20

const historyLock = "history"

func (s *Store) historyPath() string { return filepath.Join(s.dir, "history.jsonl") }

func (s *Store) seqPath() string { return filepath.Join(s.dir, "seq") }

// Begin starts deploy r. Under the history lock it takes the lock r.Key
// without waiting, gives r the next id, records it as running and writes it
// into the lock file as the holder; so whoever is refused the lock, in this
// process or another, learns who holds it and the deploy's number. When
// another holds the lock, it returns a *HeldError.
//
// Deploys of r.Key still recorded as running cannot be, as their lock was
// free: they are recorded as interrupted and returned, so that their
// messages can be edited.
func (s *Store) Begin(ctx context.Context, r Record) (Record, *Lock, []Record, error) {
	if r.Key == "" {
		return r, nil, nil, errors.New("beginning a deploy without a lock key")
	}
	hl, err := s.WaitLock(ctx, historyLock)
	if err != nil {
		return r, nil, nil, err
	}
	defer hl.Release()
	lock, holder, err := s.TryLock(r.Key)
	if errors.Is(err, ErrHeld) {
		return r, nil, nil, &HeldError{Key: r.Key, Holder: holder}
	}
	if err != nil {
		return r, nil, nil, err
	}
	recs, last, err := s.readHistory()
	if err == nil {
		r.ID, err = s.nextID(last)
	}
	if err != nil {
		lock.Release()
		return r, nil, nil, err
	}
	r.Instance = s.instance
	var stale []Record
	for _, old := range recs {
		if old.Status != Running || old.Key != r.Key {
			continue
		}
		old.Status, old.Ended = Interrupted, time.Now().UTC()
		old.Error = fmt.Sprintf("the bot instance running it (%s) stopped during the run; found when deploy #%d took its lock", old.Instance, r.ID)
		if err := s.appendLocked(old); err != nil {
			lock.Release()
			return r, nil, nil, err
		}
		stale = append(stale, old)
	}
	if err := s.appendLocked(r); err != nil {
		lock.Release()
		return r, nil, nil, err
	}
	if err := lock.SetHolder(Holder{ID: r.ID, User: r.User, Branch: r.Branch, Since: r.Started}); err != nil {
		lock.Release()
		return r, nil, nil, fmt.Errorf("writing the holder of %s: %w", r.Key, err)
	}
	return r, lock, stale, nil
}

// nextID returns the id after the larger of the counter and the last id in
// the history, and writes it to the counter: a counter lost, damaged or set
// back never makes an id repeat one in the history. A counter that
// disagrees with the history is logged, and repaired by the write.
func (s *Store) nextID(last int64) (int64, error) {
	path := s.seqPath()
	b, err := os.ReadFile(path)
	var seq int64
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if last > 0 {
			s.log.Warn("the deploy counter is missing; numbering on from the history", "file", path, "last_id", last)
		}
	case err != nil:
		return 0, fmt.Errorf("reading the deploy counter: %w", err)
	default:
		v, perr := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
		switch {
		case perr != nil || v < 0:
			s.log.Warn("the deploy counter is not a number; repaired from the history", "file", path, "content", strconv.Quote(string(b[:min(len(b), 40)])), "last_id", last)
		case v < last:
			s.log.Warn("the deploy counter is behind the history; repaired from it", "file", path, "counter", v, "last_id", last)
		default:
			seq = v
		}
	}
	n := max(seq, last)
	if n == math.MaxInt64 {
		return 0, fmt.Errorf("deploy numbers are used up: %s or the history holds %d", path, n)
	}
	n++
	if err := atomicfile.Write(path, []byte(strconv.FormatInt(n, 10)+"\n"), 0o640); err != nil {
		return 0, fmt.Errorf("writing the deploy counter: %w", err)
	}
	return n, nil
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
	if err == nil && len(b) >= maxLine {
		// Only a recap of thousands of hosts gets there; it is in the log.
		r.Recap = nil
		b, err = json.Marshal(r)
	}
	if err != nil {
		return err
	}
	if len(b) >= maxLine {
		return fmt.Errorf("recording deploy #%d: the record is %d bytes, over the history's %d", r.ID, len(b), maxLine)
	}
	f, err := os.OpenFile(s.historyPath(), os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("opening the history: %w", err)
	}
	// A write torn by a crash leaves a line without its newline: end it,
	// or this record would be glued to it and lost with it.
	line := append(b, '\n')
	if fi, err := f.Stat(); err == nil && fi.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, fi.Size()-1); err == nil && last[0] != '\n' {
			line = append([]byte{'\n'}, line...)
		}
	}
	if _, err := f.Write(line); err != nil {
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
// oldest first. A torn, foreign or over-long line is skipped.
func (s *Store) Records() ([]Record, error) {
	recs, _, err := s.readHistory()
	return recs, err
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

// readHistory returns the latest state of every deploy, oldest first, and
// the largest id.
func (s *Store) readHistory() ([]Record, int64, error) {
	f, err := os.Open(s.historyPath())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("reading the history: %w", err)
	}
	defer f.Close()
	byID := map[int64]Record{}
	err = eachLine(f, maxLine, func(line []byte) {
		var r Record
		if json.Unmarshal(line, &r) == nil && r.valid() {
			byID[r.ID] = r
		}
	})
	if err != nil {
		return nil, 0, fmt.Errorf("reading the history: %w", err)
	}
	out := make([]Record, 0, len(byID))
	var last int64
	for _, r := range byID {
		out = append(out, r)
		last = max(last, r.ID)
	}
	slices.SortFunc(out, func(a, b Record) int { return cmp.Compare(a.ID, b.ID) })
	return out, last, nil
}

// eachLine calls fn with every line of r (without its newline) of at most
// limit bytes. A longer line is skipped as it is read, never held whole. fn
// must not keep the slice.
func eachLine(r io.Reader, limit int, fn func([]byte)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var line []byte
	skipping := false
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			switch n := len(line) + len(chunk); {
			case skipping:
			case n > limit:
				skipping, line = true, line[:0]
			default:
				if n > cap(line) {
					// Double (append grows large slices by a quarter,
					// allocating five times the line on the way).
					grown := make([]byte, len(line), min(limit, max(2*cap(line), n)))
					line = append(grown[:0], line...)
				}
				line = append(line, chunk...)
			}
			continue
		}
		chunk = bytes.TrimSuffix(chunk, []byte{'\n'})
		switch {
		case skipping:
		case len(line) > 0:
			if len(line)+len(chunk) <= limit {
				fn(append(line, chunk...))
			}
		case len(chunk) > 0 && len(chunk) <= limit:
			fn(chunk)
		}
		line, skipping = line[:0], false
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
