package jobs

import (
	"context"
	"errors"
	"path/filepath"
	"time"

	"github.com/botfleet/botfleet/pkg/flock"
	"github.com/botfleet/botfleet/pkg/procs"
)

// adopted reports whether h, the holder of a key whose lock is free, was
// adopted by a live process (this one included) that waits for the lock:
// its job goes on, the key is not free. The caller holds the history lock.
func (s *Store) adopted(h Record) bool {
	alive, err := procs.Alive(&s.locks, s.procsDir(), h.Instance)
	return err == nil && alive
}

// orphans returns the running jobs of dead processes: holders whose
// process lock is free, whether their key is still locked (by a child the
// job handed its lock file to) or not.
func (s *Store) orphans() ([]Record, error) {
	others, err := s.othersHolders()
	var out []Record
	for _, h := range others {
		if alive, err := procs.Alive(&s.locks, s.procsDir(), h.Instance); err == nil && !alive {
			out = append(out, h)
		}
	}
	return out, err
}

// othersHolders returns the jobs recorded as their keys' holders by other
// processes, by number; unreadable holder files are skipped.
func (s *Store) othersHolders() ([]Record, error) {
	paths, err := filepath.Glob(filepath.Join(s.dir, "locks", "*.json"))
	if err != nil {
		return nil, err
	}
	var out []Record
	for _, p := range paths {
		if h, err := readHolderFile(p); err == nil && h.Instance != s.instance {
			out = append(out, *h)
		}
	}
	sortByID(out)
	return out, nil
}

// claim makes this process the holder of orphan h, unless another claimed
// it or it ended meanwhile; it returns the record as claimed.
func (s *Store) claim(ctx context.Context, h Record) (Record, bool, error) {
	hl, err := s.historyLock(ctx)
	if err != nil {
		return h, false, err
	}
	defer hl.Release()
	cur, err := s.readHolder(h.Key)
	if err != nil || cur.ID != h.ID || cur.Instance != h.Instance {
		return h, false, nil
	}
	s.log.Warn("job adopted: its process stopped, what it started still runs here", "job", h.ID, "key", h.Key, "instance", h.Instance)
	h.Instance = s.instance
	if err := s.appendLocked(h); err != nil {
		return h, false, err
	}
	// Said to whoever is refused the key meanwhile.
	h.Progress = "the process that ran it stopped, but what it started still runs here; the key stays locked until that ends"
	return h, true, s.writeHolder(h)
}

// adoptOrphans offers each running job of a dead process to
// Options.Orphan; those it takes are adopted: this process becomes their
// holder, so that no process records them as interrupted, nor begins
// another job of their key, while the watch Options.Orphan returned runs.
func (m *Manager) adoptOrphans(ctx context.Context) error {
	if m.opts.Orphan == nil {
		return nil
	}
	orphans, err := m.st.orphans()
	if err != nil {
		return err
	}
	for _, h := range orphans {
		watch := m.opts.Orphan(h)
		if watch == nil {
			continue
		}
		rec, ok, err := m.st.claim(ctx, h)
		if err != nil {
			return err
		}
		if ok {
			m.adopt(rec, watch)
		}
	}
	return nil
}

// adopt runs watch as job r, which this process claimed: watch's context
// ends on a cancel, from any process, and watch returns once what the job
// left running is gone. Meanwhile the job holds its key's lock as soon as
// the child that held it lets it go. The job ends as cancelled, when it
// was, or else as interrupted with watch's error, and its message is
// edited.
func (m *Manager) adopt(r Record, watch func(ctx context.Context) error) {
	ctx, cancel := context.WithCancelCause(context.Background())
	j := &Job{m: m, cancel: cancel, rec: r}
	m.mu.Lock()
	m.active[r.ID] = j
	m.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- watch(ctx) }()
	go func() {
		defer cancel(nil)
		var lock *flock.Lock
		var err error
		tick := time.NewTicker(m.opts.Poll)
		defer tick.Stop()
	wait:
		for {
			select {
			case err = <-done:
				break wait
			case <-tick.C:
			}
			if by, ok := m.st.CancelRequested(r.ID); ok {
				cancel(&cancelled{by: by})
			}
			if lock == nil {
				lock, _ = m.st.locks.TryLock(m.st.lockPath(r.Key))
			}
		}
		final, cancelFinal := context.WithTimeout(context.Background(), finalTimeout)
		defer cancelFinal()
		if lock == nil {
			// What held the key is gone with what watch waited for.
			if lock, err = m.st.locks.Wait(final, m.st.lockPath(r.Key), lockPoll); err != nil {
				m.log.Error("taking the key of an adopted job", "job", r.ID, "err", err)
				return
			}
		}
		rec := r
		var c *cancelled
		if errors.As(context.Cause(ctx), &c) {
			rec.Status, rec.CancelledBy = Cancelled, c.by
		} else {
			rec.Status, rec.Error = Interrupted, "its process stopped during the run"
			if err != nil {
				rec.Error = err.Error()
			}
		}
		rec.Ended = time.Now().UTC()
		l := &Lease{s: m.st, lock: lock, rec: r}
		if err := l.Finish(final, rec); err != nil {
			m.log.Error("recording the end of an adopted job", "job", r.ID, "err", err)
		}
		m.mu.Lock()
		delete(m.active, r.ID)
		m.mu.Unlock()
		m.log.Warn("adopted job ended", "job", r.ID, "status", rec.Status)
		if err := m.notify(final, []Record{rec}); err != nil {
			m.log.Warn("editing the message of an adopted job", "job", r.ID, "err", err)
		}
	}()
}
