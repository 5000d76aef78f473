package botkit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/botfleet/botfleet/pkg/atomicfile"
)

// jobStore keeps what the scheduler must know across restarts and across
// processes: which ticks are taken, and each job's last success.
type jobStore interface {
	// claim takes tick for job; false when another run (this process or
	// another) took it first.
	claim(job string, tick time.Time) (bool, error)
	// lastTick returns the latest tick claimed, or zero.
	lastTick(job string) (time.Time, error)
	// succeeded records a successful run of tick.
	succeeded(job string, tick time.Time) error
	// lastSuccess returns the latest tick that succeeded, else when the job
	// was first scheduled (first, set to now the first time), so that a job
	// that never succeeds still looks late.
	lastSuccess(job string, now time.Time) (time.Time, error)
}

// claimKeep is how long claims are kept past the newest: longer than any
// overlap of two processes' views of one tick. The newest claim is kept
// whatever its age: it is the job's last tick.
const claimKeep = 48 * time.Hour

// dirStore keeps job state in the bot's state directory, shared by every
// process of the bot (EFS, which is NFSv4):
//
//	schedule/<job>/claims/<unix seconds>   one empty file per tick taken, made with O_EXCL
//	schedule/<job>/last-success            the last successful tick (RFC 3339), replaced by rename
//	schedule/<job>/first                   when the job was first scheduled (RFC 3339)
//
// O_EXCL creation is atomic on NFSv4 and on local file systems, so of two
// processes claiming one tick exactly one succeeds, with no lock.
type dirStore struct{ dir string }

func (d dirStore) jobDir(job string) string { return filepath.Join(d.dir, "schedule", job) }

func (d dirStore) claim(job string, tick time.Time) (bool, error) {
	claims := filepath.Join(d.jobDir(job), "claims")
	if err := os.MkdirAll(claims, 0o750); err != nil {
		return false, fmt.Errorf("creating %s: %w", claims, err)
	}
	p := filepath.Join(claims, strconv.FormatInt(tick.Unix(), 10))
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claiming tick %s: %w", tick.UTC().Format(time.RFC3339), err)
	}
	if err := f.Close(); err != nil {
		return false, fmt.Errorf("claiming tick %s: %w", tick.UTC().Format(time.RFC3339), err)
	}
	d.prune(claims, tick)
	return true, nil
}

// prune removes claims older than claimKeep before tick, except the
// newest. A failure leaves old files behind, nothing worse.
func (d dirStore) prune(claims string, tick time.Time) {
	ticks, err := claimTicks(claims)
	if err != nil || len(ticks) < 2 {
		return
	}
	for _, t := range ticks[:len(ticks)-1] {
		if tick.Unix()-t > int64(claimKeep/time.Second) {
			_ = os.Remove(filepath.Join(claims, strconv.FormatInt(t, 10)))
		}
	}
}

// claimTicks returns the ticks claimed in dir, sorted, in Unix seconds.
func claimTicks(dir string) ([]int64, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	var ticks []int64
	for _, e := range entries {
		if t, err := strconv.ParseInt(e.Name(), 10, 64); err == nil {
			ticks = append(ticks, t)
		}
	}
	slices.Sort(ticks)
	return ticks, nil
}

func (d dirStore) lastTick(job string) (time.Time, error) {
	ticks, err := claimTicks(filepath.Join(d.jobDir(job), "claims"))
	if err != nil || len(ticks) == 0 {
		return time.Time{}, err
	}
	return time.Unix(ticks[len(ticks)-1], 0), nil
}

func (d dirStore) succeeded(job string, tick time.Time) error {
	if prev, err := readTime(filepath.Join(d.jobDir(job), "last-success")); err == nil && !prev.Before(tick) {
		return nil // another process recorded a later one
	}
	return writeTime(filepath.Join(d.jobDir(job), "last-success"), tick)
}

func (d dirStore) lastSuccess(job string, now time.Time) (time.Time, error) {
	t, err := readTime(filepath.Join(d.jobDir(job), "last-success"))
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return t, err
	}
	first := filepath.Join(d.jobDir(job), "first")
	if t, err := readTime(first); !errors.Is(err, fs.ErrNotExist) {
		return t, err
	}
	if err := os.MkdirAll(d.jobDir(job), 0o750); err != nil {
		return time.Time{}, fmt.Errorf("creating %s: %w", d.jobDir(job), err)
	}
	return now, writeTime(first, now)
}

func readTime(p string) (time.Time, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339, string(b))
	if err != nil {
		return time.Time{}, fmt.Errorf("reading %s: %w", p, err)
	}
	return t, nil
}

// writeTime replaces p's content with t, so a reader never sees half a
// file.
func writeTime(p string, t time.Time) error {
	if err := atomicfile.Write(p, []byte(t.UTC().Format(time.RFC3339)), 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	return nil
}

// memStore keeps job state in memory, for a bot with no state directory:
// one process, and nothing known across restarts.
type memStore struct {
	mu      sync.Mutex
	last    map[string]time.Time
	success map[string]time.Time
}

func newMemStore() *memStore {
	return &memStore{last: map[string]time.Time{}, success: map[string]time.Time{}}
}

func (m *memStore) claim(job string, tick time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !tick.After(m.last[job]) {
		return false, nil
	}
	m.last[job] = tick
	return true, nil
}

func (m *memStore) lastTick(job string) (time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last[job], nil
}

func (m *memStore) succeeded(job string, tick time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if tick.After(m.success[job]) {
		m.success[job] = tick
	}
	return nil
}

func (m *memStore) lastSuccess(job string, now time.Time) (time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.success[job]; !ok {
		m.success[job] = now
	}
	return m.success[job], nil
}
