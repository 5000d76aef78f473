package state

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLockAcrossStores(t *testing.T) {
	dir := t.TempDir()
	a, b := must(Open(dir, nil)), must(Open(dir, nil)) // b: a second instance (pod) on the same directory
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

func rec(key string) Record {
	return Record{Status: Running, Key: key, App: "api", Env: "dev", Branch: "main", User: "U1", Started: time.Now()}
}

func TestHistoryConcurrentAppends(t *testing.T) {
	dir := t.TempDir()
	stores := []*Store{must(Open(dir, nil)), must(Open(dir, nil))}
	var wg sync.WaitGroup
	const n = 20
	for i := range n {
		wg.Go(func() {
			s := stores[i%2]
			r, l, _, err := s.Begin(t.Context(), rec("k"+strconv.Itoa(i)))
			if err != nil {
				t.Error(err)
				return
			}
			defer l.Release()
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
	appendRaw(t, stores[0], `{"id":99,"sta`)
	if rs, err := stores[1].Records(); err != nil || len(rs) != n {
		t.Errorf("after a torn line: %d records, %v", len(rs), err)
	}
	// The next record is not glued to the torn line.
	r, l, _, err := stores[1].Begin(t.Context(), rec("k"))
	if err != nil {
		t.Fatal(err)
	}
	l.Release()
	if got, ok, err := stores[0].Record(r.ID); !ok || err != nil || got.ID != n+1 {
		t.Errorf("the record after a torn line: %+v, %v, %v", got, ok, err)
	}
}

// TestBeginHolder: whoever is refused the lock, in this process or another,
// learns the holder and its deploy number; there is no moment when the
// lock is held and its holder unknown.
func TestBeginHolder(t *testing.T) {
	dir := t.TempDir()
	a, b := must(Open(dir, nil)), must(Open(dir, nil))
	r, l, _, err := a.Begin(t.Context(), rec("deploy.api.dev"))
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*Store{"same store": a, "other store": b} {
		second := rec("deploy.api.dev")
		second.User = "U2"
		_, _, _, err := s.Begin(t.Context(), second)
		var held *HeldError
		if !errors.As(err, &held) || !errors.Is(err, ErrHeld) || held.Holder == nil || held.Holder.ID != r.ID || held.Holder.User != "U1" {
			t.Errorf("%s: Begin = %v (%+v); want held by #%d of U1", name, err, held, r.ID)
		}
	}
	if rs, _ := a.Records(); len(rs) != 1 {
		t.Errorf("a refused deploy was recorded: %+v", rs)
	}
	l.Release()
	if _, _, _, err := b.Begin(t.Context(), Record{Status: Running, App: "api", Env: "dev", Started: time.Now()}); err == nil {
		t.Error("Begin without a key")
	}
}

// TestBeginInterruptsStale: a deploy recorded as running whose lock is free
// is over; the next deploy of its key records it as interrupted.
func TestBeginInterruptsStale(t *testing.T) {
	dir := t.TempDir()
	dead := must(Open(dir, nil)) // an instance that died during deploy #1
	r1, l, _, err := dead.Begin(t.Context(), rec("deploy.api.dev"))
	if err != nil {
		t.Fatal(err)
	}
	l.Release()
	other, _, _, err := dead.Begin(t.Context(), rec("deploy.web.dev"))
	if err != nil {
		t.Fatal(err)
	}
	s := must(Open(dir, nil))
	r3, l3, stale, err := s.Begin(t.Context(), rec("deploy.api.dev"))
	if err != nil {
		t.Fatal(err)
	}
	defer l3.Release()
	if len(stale) != 1 || stale[0].ID != r1.ID || stale[0].Status != Interrupted || !strings.Contains(stale[0].Error, fmt.Sprintf("found when deploy #%d took its lock", r3.ID)) {
		t.Errorf("stale = %+v", stale)
	}
	rs, _ := s.Records()
	if len(rs) != 3 || rs[0].Status != Interrupted || rs[1].ID != other.ID || rs[1].Status != Running || rs[2].Status != Running {
		t.Errorf("records = %+v", rs)
	}
}

// TestLongLineIsSkipped: a history line of any size is skipped, never
// held whole, and stops nothing.
func TestLongLineIsSkipped(t *testing.T) {
	s := must(Open(t.TempDir(), nil))
	begin(t, s)
	appendRaw(t, s, `{"id":2,"status":"ok","app":"x","env":"y","started":"2025-01-01T00:00:00Z","error":"`+strings.Repeat("x", 64<<20)+`"}`)
	begin(t, s)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rs, err := s.Records()
	runtime.ReadMemStats(&after)
	if err != nil || len(rs) != 2 || rs[0].ID != 1 || rs[1].ID != 2 {
		t.Fatalf("Records = %+v, %v; want #1 and #2 around the long line", rs, err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("reading the history with a 64 MiB line allocated %.1f MiB", float64(alloc)/(1<<20))
	if alloc > 4*maxLine {
		t.Errorf("reading a 64 MiB line allocated %d MiB", alloc>>20)
	}
}

func TestEachLine(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a\nb", []string{"a", "b"}},
		{"a\n\nb\n", []string{"a", "b"}},
		{strings.Repeat("x", 10) + "\nok\n", []string{"ok"}},
		{"ok\n" + strings.Repeat("x", 9), []string{"ok"}},
		{strings.Repeat("y", 8) + "\n" + strings.Repeat("x", 200<<10) + "\nz", []string{"yyyyyyyy", "z"}},
	}
	for _, tt := range tests {
		var got []string
		if err := eachLine(strings.NewReader(tt.in), 8, func(b []byte) { got = append(got, string(b)) }); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("eachLine(%.20q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// Lines that span the reader's buffer are whole.
	long := strings.Repeat("a", 100<<10)
	var got []string
	eachLine(strings.NewReader(long+"\n"+long), 200<<10, func(b []byte) { got = append(got, string(b)) })
	if len(got) != 2 || got[0] != long || got[1] != long {
		t.Errorf("long lines: %d of them", len(got))
	}
}

// TestForeignRecords: lines this package would not write are skipped:
// never listed, never taken for a running deploy, never sorted wrong.
func TestForeignRecords(t *testing.T) {
	s := must(Open(t.TempDir(), nil))
	for _, line := range []string{
		`{"id":-7,"status":"running"}`,
		`{"id":-5,"status":"running","app":"a","env":"e","started":"2025-01-01T00:00:00Z"}`,
		`{"id":0,"status":"running","app":"a","env":"e","started":"2025-01-01T00:00:00Z"}`,
		`{"id":3,"status":"weird","app":"a","env":"e","started":"2025-01-01T00:00:00Z"}`,
		`{"id":4,"status":"running","started":"2025-01-01T00:00:00Z"}`,
		`{"id":5,"status":"running","app":"a","env":"e"}`,
		`{"id":9223372036854775807,"status":"ok","app":"a","env":"e","started":"2025-01-01T00:00:00Z"}`,
		`{"id":1,"status":"running","app":"a","env":"e","started":"2025-01-01T00:00:00Z"}`,
		`[1,2]`, `null`, `"x"`, `{"id":"6"}`,
	} {
		appendRaw(t, s, line)
	}
	rs, err := s.Records()
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, r := range rs {
		ids = append(ids, r.ID)
	}
	if !slices.Equal(ids, []int64{1, math.MaxInt64}) {
		t.Errorf("ids = %v, want [1 %d]", ids, int64(math.MaxInt64))
	}
	// The largest id is taken: none is left to give.
	if _, _, _, err := s.Begin(t.Context(), rec("k")); err == nil || !strings.Contains(err.Error(), "deploy numbers are used up") {
		t.Errorf("Begin after id %d = %v", int64(math.MaxInt64), err)
	}
}

// TestCounterRepair: whatever the counter file holds, the next id follows
// the largest in the history; a counter that disagrees is logged and
// rewritten.
func TestCounterRepair(t *testing.T) {
	tests := []struct {
		name    string
		counter *string // nil: no file
		want    int64
		warn    string
	}{
		{"garbage", ptr("garbage\n"), 6, "the deploy counter is not a number"},
		{"empty", ptr(""), 6, "the deploy counter is not a number"},
		{"negative", ptr("-3"), 6, "the deploy counter is not a number"},
		{"beyond int64", ptr("99999999999999999999"), 6, "the deploy counter is not a number"},
		{"behind", ptr("2\n"), 6, "the deploy counter is behind the history"},
		{"missing", nil, 6, "the deploy counter is missing"},
		{"right", ptr("5\n"), 6, ""},
		{"ahead", ptr("100\n"), 101, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			s := must(Open(t.TempDir(), slog.New(slog.NewTextHandler(&log, nil))))
			for range 5 {
				begin(t, s)
			}
			os.Remove(s.seqPath())
			if tt.counter != nil {
				os.WriteFile(s.seqPath(), []byte(*tt.counter), 0o640)
			}
			log.Reset()
			if got := begin(t, s); got != tt.want {
				t.Errorf("next id = %d, want %d", got, tt.want)
			}
			if tt.warn == "" && log.Len() > 0 || !strings.Contains(log.String(), tt.warn) {
				t.Errorf("log = %q, want %q", log.String(), tt.warn)
			}
			if b, _ := os.ReadFile(s.seqPath()); string(b) != strconv.FormatInt(tt.want, 10)+"\n" {
				t.Errorf("counter after = %q", b)
			}
		})
	}
}

// FuzzHistory: whatever the history file holds, Records lists only valid
// deploys, each once, in order, and the next id is new.
func FuzzHistory(f *testing.F) {
	f.Add([]byte(`{"id":1,"status":"ok","app":"a","env":"e","started":"2025-01-01T00:00:00Z"}` + "\n"))
	f.Add([]byte(`{"id":-7,"status":"running"}` + "\n" + `{"id":9223372036854775806,"status":"failed","app":"a","env":"e","started":"2025-01-01T00:00:00Z"}`))
	f.Add([]byte("\n\n{\n"))
	f.Fuzz(func(t *testing.T, history []byte) {
		s := must(Open(t.TempDir(), nil))
		if err := os.WriteFile(s.historyPath(), history, 0o640); err != nil {
			t.Fatal(err)
		}
		rs, err := s.Records()
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range rs {
			if !r.valid() || i > 0 && rs[i-1].ID >= r.ID {
				t.Fatalf("record %d: %+v", i, r)
			}
		}
		r, l, _, err := s.Begin(t.Context(), rec("k"))
		if err != nil {
			if len(rs) > 0 && rs[len(rs)-1].ID == math.MaxInt64 {
				return
			}
			t.Fatal(err)
		}
		l.Release()
		for _, old := range rs {
			if old.ID >= r.ID {
				t.Fatalf("new id %d after %d", r.ID, old.ID)
			}
		}
		if got, ok, _ := s.Record(r.ID); !ok || got.Status != Running {
			t.Fatalf("the new record is lost: %+v", got)
		}
	})
}

func TestFirstEvent(t *testing.T) {
	dir := t.TempDir()
	a, b := must(Open(dir, nil)), must(Open(dir, nil))
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
	s := must(Open(t.TempDir(), nil))
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

// begin records a deploy and frees its lock, returning its id.
func begin(t *testing.T, s *Store) int64 {
	t.Helper()
	r, l, _, err := s.Begin(t.Context(), rec("k"))
	if err != nil {
		t.Fatal(err)
	}
	l.Release()
	return r.ID
}

func appendRaw(t *testing.T, s *Store, line string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(s.Dir(), "history.jsonl"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line + "\n"); err != nil {
		t.Fatal(err)
	}
}

func ptr(s string) *string { return &s }

func must(s *Store, err error) *Store {
	if err != nil {
		panic(err)
	}
	return s
}
