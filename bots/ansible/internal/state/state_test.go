package state

import (
	"errors"
	"os"
	"sync"
	"testing"
	"time"
)

func TestLockAcrossStores(t *testing.T) {
	dir := t.TempDir()
	a, _ := Open(dir)
	b, _ := Open(dir) // a second instance (pod) on the same directory
	l, _, err := a.TryLock("deploy-api-dev")
	if err != nil {
		t.Fatal(err)
	}
	since := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := l.SetHolder(Holder{ID: 7, User: "U1", Branch: "main", Since: since}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Store{a, b} {
		_, h, err := s.TryLock("deploy-api-dev")
		if !errors.Is(err, ErrHeld) || h == nil || h.ID != 7 || h.User != "U1" || !h.Since.Equal(since) {
			t.Errorf("second TryLock = %+v, %v; want ErrHeld by deploy 7 of U1", h, err)
		}
	}
	if _, _, err := b.TryLock("deploy-api-prd"); err != nil {
		t.Errorf("another key: %v", err)
	}
	l.Release()
	l.Release()
	l2, _, err := b.TryLock("deploy-api-dev")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	l2.Release()
	if locked, _ := a.IsLocked("deploy-api-dev"); locked {
		t.Error("IsLocked after release")
	}
}

func TestHistoryConcurrentAppends(t *testing.T) {
	dir := t.TempDir()
	stores := []*Store{must(Open(dir)), must(Open(dir))}
	var wg sync.WaitGroup
	const n = 20
	for i := range n {
		wg.Go(func() {
			s := stores[i%2]
			r, err := s.Begin(t.Context(), Record{Status: Running, App: "api", Env: "dev", Started: time.Now()})
			if err != nil {
				t.Error(err)
				return
			}
			r.Status, r.Ended = Succeeded, time.Now()
			if err := s.Append(t.Context(), r); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	rs, err := stores[0].Records()
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != n {
		t.Fatalf("%d records, want %d", len(rs), n)
	}
	for i, r := range rs {
		if r.ID != int64(i+1) || r.Status != Succeeded {
			t.Errorf("record %d = id %d status %s", i, r.ID, r.Status)
		}
	}
	// A torn last line (a crash mid-write) is skipped, the rest survives.
	f, _ := os.OpenFile(stores[0].historyPath(), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"id":99,"sta`)
	f.Close()
	if rs, err := stores[1].Records(); err != nil || len(rs) != n {
		t.Errorf("after a torn line: %d records, %v", len(rs), err)
	}
}

func TestFirstEvent(t *testing.T) {
	dir := t.TempDir()
	a, b := must(Open(dir)), must(Open(dir))
	if ok, err := a.FirstEvent("Ev1", time.Hour); !ok || err != nil {
		t.Fatalf("first = %v, %v", ok, err)
	}
	if ok, _ := b.FirstEvent("Ev1", time.Hour); ok {
		t.Error("the same event was first twice")
	}
	if ok, _ := b.FirstEvent("Ev2", time.Hour); !ok {
		t.Error("another event was not first")
	}
	if ok, _ := b.FirstEvent("Ev1", 0); !ok {
		t.Error("an expired record blocked its id")
	}
}

func TestCancelRequest(t *testing.T) {
	s := must(Open(t.TempDir()))
	if _, ok := s.CancelRequested(3); ok {
		t.Error("cancel requested before any")
	}
	if err := s.RequestCancel(3, "U9"); err != nil {
		t.Fatal(err)
	}
	if by, ok := s.CancelRequested(3); !ok || by != "U9" {
		t.Errorf("CancelRequested = %q, %v", by, ok)
	}
}

func must(s *Store, err error) *Store {
	if err != nil {
		panic(err)
	}
	return s
}
