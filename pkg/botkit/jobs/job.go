package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/botfleet/botfleet/pkg/botkit"
)

// StateSubdir is the directory, in the bot's state directory
// (BOT_STATE_DIR), that holds its jobs.
const StateSubdir = "jobs"

// Dir returns the jobs directory of a bot run in env: jobs need the bot's
// state directory, shared by every process of the bot.
func Dir(env botkit.Env) (string, error) {
	if env.StateDir == "" {
		return "", errors.New("jobs need a state directory: set BOT_STATE_DIR (in a pod it is /efs/state/<bot>; `make run` sets .local/<bot>/state)")
	}
	return filepath.Join(env.StateDir, StateSubdir), nil
}

// CancelledError is an error a job returns to be recorded as cancelled by
// By: a user ID, or a word such as "shutdown" when the bot stopped it.
type CancelledError struct {
	By  string
	Err error
}

func (e *CancelledError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return "cancelled by " + e.By
}

func (e *CancelledError) Unwrap() error { return e.Err }

// Record returns the job as last recorded.
func (j *Job) Record() Record {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.rec
}

// SetData keeps v, as JSON, in the job's record (Record.Data) and records
// it now: a process that finds the job after a crash reads it.
func (j *Job) SetData(ctx context.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("keeping the data of job #%d: %w", j.rec.ID, err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.rec.Data = b
	return j.lease.Update(ctx, j.rec)
}

// LockFile returns the open lock file of the job's key, to hand to a child
// process (as an inherited fd): the key stays locked while the child, or a
// fork of it that keeps the fd, runs, even if this process dies; a process
// that starts meanwhile leaves the job alone, or adopts it (Options.Orphan).
func (j *Job) LockFile() *os.File { return j.lease.LockFile() }

// LockFile returns the open lock file of the job's key (see Job.LockFile).
func (l *Lease) LockFile() *os.File { return l.lock.File() }

// Writer returns the job's log as a writer, for output taken as it is (a
// program's); Logf adds timestamped lines to the same log.
func (j *Job) Writer() io.Writer { return jobLog{j} }

type jobLog struct{ j *Job }

func (l jobLog) Write(p []byte) (int, error) {
	l.j.mu.Lock()
	defer l.j.mu.Unlock()
	if err := l.j.openLog(); err != nil {
		return 0, err
	}
	return l.j.log.Write(p)
}

// openLog opens the job's log once; the caller holds j.mu.
func (j *Job) openLog() error {
	if j.log != nil {
		return nil
	}
	if err := os.MkdirAll(j.m.st.JobDir(j.rec.ID), 0o750); err != nil {
		return err
	}
	f, err := os.OpenFile(j.m.st.LogPath(j.rec.ID), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return err
	}
	j.log = f
	return nil
}

// Cancel stops running job id for user by, without asking who may (the
// caller did): at once when this process runs or adopted it (local), else
// through a request in the state directory that its process polls.
func (m *Manager) Cancel(id int64, by string) (local bool, err error) {
	m.mu.Lock()
	j := m.active[id]
	m.mu.Unlock()
	if j != nil {
		j.cancel(&cancelled{by: by})
		return true, nil
	}
	return false, m.st.RequestCancel(id, by)
}

// Sweep records as interrupted the jobs of processes that died since this
// one started (another pod's) and edits their messages, as `status` does.
func (m *Manager) Sweep(ctx context.Context) error {
	stale, err := m.st.Recover(ctx)
	if err != nil {
		return fmt.Errorf("recovering the jobs of stopped processes: %w", err)
	}
	return m.notify(ctx, stale)
}

// Each calls fn with the latest state of each job, those that changed last
// first, until fn returns false.
func (s *Store) Each(fn func(Record) bool) error {
	seen := map[int64]bool{}
	return s.eachRecord(func(r Record) bool {
		if seen[r.ID] {
			return true
		}
		seen[r.ID] = true
		return fn(r)
	})
}
