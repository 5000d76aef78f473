package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/botkittest"
	"github.com/botfleet/botfleet/pkg/flock"
)

// orphanIn leaves in dir what a process leaves that died during job #1 of
// key a, while a child it handed the key's lock to runs on: the child's
// lock is returned.
func orphanIn(t *testing.T, dir string) *flock.Lock {
	t.Helper()
	dead, err := Open(dir, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l, _, err := dead.Begin(t.Context(), Record{Kind: "work", Key: "a", User: "U1", Title: "working on a", Channel: botkittest.Channel, Thread: "1.1"})
	if err != nil {
		t.Fatal(err)
	}
	r := l.Record()
	r.Message, r.Data = "1.2", json.RawMessage(`{"pid":42}`)
	if err := l.Update(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	l.lock.Release()
	var child flock.Set // another open file of the lock: the child's
	cl, err := child.TryLock(dead.lockPath("a"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Release)
	dead.Close()
	return cl
}

// adoptWorld is a bot that adopts the orphans Options.Orphan is offered,
// watching them until gone is closed.
func adoptWorld(t *testing.T, dir string, offered chan<- Record, gone <-chan struct{}) (*botkittest.Transport, *Manager) {
	t.Helper()
	tr := botkittest.New(t)
	m, err := New(tr.Bot(), Options{Dir: dir, Poll: 10 * time.Millisecond, Noun: "task",
		EndText: func(r Record) string { return "ended " + string(r.Status) + ": " + r.Error + " by " + r.CancelledBy },
		Orphan: func(r Record) func(ctx context.Context) error {
			offered <- r
			return func(ctx context.Context) error {
				select {
				case <-gone:
					return errors.New("what it started is gone")
				case <-ctx.Done():
					return nil
				}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	tr.Start()
	return tr, m
}

// TestAdoptOrphan: a job of a dead process whose child still runs is
// adopted: its key stays busy, for other processes too, also once the
// child let the lock go, until the watch returns; then the job is recorded
// as interrupted with the watch's reason, its message edited, its key free.
func TestAdoptOrphan(t *testing.T) {
	dir := t.TempDir()
	child := orphanIn(t, dir)
	offered, gone := make(chan Record, 1), make(chan struct{})
	tr, m := adoptWorld(t, dir, offered, gone)
	if r := <-offered; r.ID != 1 || string(r.Data) != `{"pid":42}` {
		t.Errorf("offered %+v", r)
	}
	other := open(t, dir, StoreOptions{})
	busy := func(when string) {
		t.Helper()
		_, _, err := other.Begin(t.Context(), job("a", "U2"))
		var be *BusyError
		if !errors.As(err, &be) || be.Holder == nil || be.Holder.ID != 1 || !strings.Contains(be.Holder.Progress, "still runs") {
			t.Errorf("%s: Begin = %v (%+v), want busy with job #1", when, err, be)
		}
		if rs, _ := other.Recover(t.Context()); len(rs) != 0 {
			t.Errorf("%s: another process recovered %+v", when, rs)
		}
	}
	busy("while the child holds the lock")
	child.Release()
	waitFor(t, "the adopter to take the lock", func() bool { rs, _ := other.Running(); return len(rs) == 1 && rs[0].ID == 1 })
	busy("once the adopter holds the lock")
	close(gone)
	waitFor(t, "the job's end", func() bool { r, _, _ := m.Store().Record(1); return r.Status == Interrupted })
	waitFor(t, "the message edit", func() bool {
		for _, r := range tr.Replies() {
			if r.Update && r.TS == "1.2" && r.Text == "ended interrupted: what it started is gone by " {
				return true
			}
		}
		return false
	})
	if r, _, _ := m.Store().Record(1); string(r.Data) != `{"pid":42}` {
		t.Errorf("the adopted job lost its data: %+v", r)
	}
	if l, _, err := other.Begin(t.Context(), job("a", "U2")); err != nil || l.Record().ID != 2 {
		t.Errorf("the key after the adopted job: %v", err)
	}
}

// TestCancelAdopted: a cancel, here or from another process, ends the
// watch; the job is recorded as cancelled by whoever asked.
func TestCancelAdopted(t *testing.T) {
	for _, here := range []bool{true, false} {
		dir := t.TempDir()
		child := orphanIn(t, dir)
		offered := make(chan Record, 1)
		_, m := adoptWorld(t, dir, offered, nil)
		<-offered
		if here {
			if local, err := m.Cancel(1, "U9"); !local || err != nil {
				t.Errorf("Cancel here: %v, %v", local, err)
			}
		} else if err := open(t, dir, StoreOptions{}).RequestCancel(1, "U9"); err != nil {
			t.Fatal(err)
		}
		child.Release() // the watch stopped it
		waitFor(t, "the cancel", func() bool { r, _, _ := m.Store().Record(1); return r.Status == Cancelled })
		if r, _, _ := m.Store().Record(1); r.CancelledBy != "U9" {
			t.Errorf("here=%v: %+v", here, r)
		}
	}
}

// TestJobData: a job keeps data of its own, recorded as it goes; a
// CancelledError ends it as cancelled by whom it names; EndText writes
// its last message and Noun names it.
func TestJobData(t *testing.T) {
	tr := botkittest.New(t)
	m, err := New(tr.Bot(), Options{Dir: t.TempDir(), Noun: "deploy", EndText: func(r Record) string {
		return "the end of " + string(r.Data) + ", " + string(r.Status) + " by " + r.CancelledBy
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	tr.Bot().Command("stop", func(ctx context.Context, req *botkit.Request) error {
		return m.Run(ctx, req, Spec{Kind: "stop", Key: "k", Title: "stopping"}, func(ctx context.Context, j *Job) error {
			j.Progress(ctx, "going")
			if err := j.SetData(ctx, map[string]int{"step": 2}); err != nil {
				return err
			}
			if r, _, _ := m.Store().Record(j.ID()); string(r.Data) != `{"step":2}` {
				t.Errorf("recorded while running: %+v", r)
			}
			j.Writer().Write([]byte("raw output\n"))
			return &CancelledError{By: "shutdown"}
		})
	})
	tr.Start()
	replies := botkittest.Texts(tr.Say(t, "stop"))
	joined := strings.Join(replies, "\n")
	for _, want := range []string{`the end of {"step":2}, cancelled by shutdown`, "Full log of deploy #1", "raw output", "⏹ Deploy #1 was cancelled by shutdown after "} {
		if !strings.Contains(joined, want) {
			t.Errorf("replies lack %q:\n%s", want, joined)
		}
	}
	if r, _, _ := m.Store().Record(1); r.Status != Cancelled || r.CancelledBy != "shutdown" {
		t.Errorf("record %+v", r)
	}
}

// TestImport: a history kept before jobs is imported once; invalid
// records are skipped; numbers go on after the old counter.
func TestImport(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, StoreOptions{})
	old := []Record{
		{ID: 3, Status: Succeeded, Kind: "deploy", Key: "a", User: "U1", Created: time.Unix(1e9, 0)},
		{ID: 1, Status: Failed, Kind: "deploy", Key: "b", User: "U1", Created: time.Unix(1e9, 0)},
		{ID: -2, Status: Failed, Kind: "deploy", Key: "b"},
	}
	if ok, err := s.Import(t.Context(), "old", old, 7); !ok || err != nil {
		t.Fatalf("Import = %v, %v", ok, err)
	}
	if ok, err := open(t, dir, StoreOptions{}).Import(t.Context(), "old", old, 7); ok || err != nil {
		t.Errorf("the second Import = %v, %v; want nothing done", ok, err)
	}
	rs, err := s.History(10)
	if err != nil || len(rs) != 2 || rs[0].ID != 3 || rs[1].ID != 1 {
		t.Errorf("history = %+v, %v", rs, err)
	}
	if r := run(t, s, "a"); r.ID != 8 {
		t.Errorf("the next job is #%d, want #8", r.ID)
	}
}
