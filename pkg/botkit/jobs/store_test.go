package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func open(t testing.TB, dir string, o StoreOptions) *Store {
	t.Helper()
	s, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func job(key, user string) Record {
	return Record{Kind: "deploy", Key: key, User: user, Title: "deploying `v2`"}
}

// TestBeginOnePerKey: a second job of a key is refused in the same Store
// and in another (another pod), naming the holder; other keys run; the
// holder's end frees the key, and numbers never repeat.
func TestBeginOnePerKey(t *testing.T) {
	dir := t.TempDir()
	a, b := open(t, dir, StoreOptions{}), open(t, dir, StoreOptions{})
	l1, _, err := a.Begin(t.Context(), job("eu-west-1/prod/api", "U1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := l1.Progress("3/4 running"); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*Store{"same store": a, "other store": b} {
		_, _, err := s.Begin(t.Context(), job("eu-west-1/prod/api", "U2"))
		var busy *BusyError
		if !errors.As(err, &busy) || busy.Holder == nil || busy.Holder.ID != 1 || busy.Holder.User != "U1" || busy.Holder.Progress != "3/4 running" {
			t.Errorf("%s: Begin = %v (%+v); want busy, held by #1 of U1 at 3/4", name, err, busy)
		}
	}
	l2, _, err := b.Begin(t.Context(), job("eu-west-1/prod/web", "U2"))
	if err != nil {
		t.Fatalf("another key: %v", err)
	}
	if got, _ := a.Running(); len(got) != 2 || got[0].ID != 1 || got[1].ID != 2 {
		t.Errorf("Running = %+v, want #1 and #2", got)
	}
	r := l1.Record()
	r.Status = Succeeded
	if err := l1.Finish(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	l3, _, err := b.Begin(t.Context(), job("eu-west-1/prod/api", "U2"))
	if err != nil {
		t.Fatalf("after the holder finished: %v", err)
	}
	if l3.Record().ID != 3 {
		t.Errorf("third job numbered %d", l3.Record().ID)
	}
	if got, _ := a.Running(); len(got) != 2 || got[0].ID != 2 || got[1].ID != 3 {
		t.Errorf("Running = %+v, want #2 and #3", got)
	}
	_ = l2
	if _, _, err := a.Begin(t.Context(), Record{Kind: "deploy"}); err == nil {
		t.Error("Begin without a key")
	}
}

// TestRedeliveredEvent: the event that began a job never begins another,
// in any process, even after the job ended.
func TestRedeliveredEvent(t *testing.T) {
	dir := t.TempDir()
	a, b := open(t, dir, StoreOptions{}), open(t, dir, StoreOptions{})
	r := job("k", "U1")
	r.Event = "Ev123"
	l, _, err := a.Begin(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	fin := l.Record()
	fin.Status = Failed
	if err := l.Finish(t.Context(), fin); err != nil {
		t.Fatal(err)
	}
	_, _, err = b.Begin(t.Context(), r)
	var dup *DuplicateError
	if !errors.As(err, &dup) || dup.ID != 1 {
		t.Errorf("redelivery: %v, want a duplicate of #1", err)
	}
	if hs, _ := b.History(10); len(hs) != 1 {
		t.Errorf("history after a redelivery: %+v", hs)
	}
}

func appendRaw(t testing.TB, s *Store, line string) {
	t.Helper()
	f, err := os.OpenFile(s.historyPath(), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line); err != nil {
		t.Fatal(err)
	}
}

func run(t testing.TB, s *Store, key string) Record {
	t.Helper()
	l, _, err := s.Begin(t.Context(), job(key, "U1"))
	if err != nil {
		t.Fatal(err)
	}
	r := l.Record()
	r.Status = Succeeded
	if err := l.Finish(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestDamagedHistory: torn, foreign and over-long lines, a lost counter:
// skipped or repaired, nothing else lost, no number repeated.
func TestDamagedHistory(t *testing.T) {
	s := open(t, t.TempDir(), StoreOptions{})
	run(t, s, "a")
	appendRaw(t, s, `{"id":7,"status":"succeeded","kind":"x","key":"k","created":"2025-01-01T00:00:00Z","error":"`+strings.Repeat("x", 3*maxLine)+"\"}\n")
	appendRaw(t, s, "not json\n{\"id\":8,\"status\":\"bogus\"}\n")
	run(t, s, "b")
	appendRaw(t, s, `{"id":99,"sta`) // a crash mid-write
	if err := os.Remove(s.seqPath()); err != nil {
		t.Fatal(err)
	}
	r := run(t, s, "c")
	if r.ID != 3 {
		t.Errorf("after a lost counter the next job is #%d, want 3", r.ID)
	}
	hs, err := s.History(10)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, h := range hs {
		ids = append(ids, h.ID)
		if h.Status != Succeeded {
			t.Errorf("#%d is %s", h.ID, h.Status)
		}
	}
	if fmt.Sprint(ids) != "[3 2 1]" {
		t.Errorf("history = %v, want [3 2 1]", ids)
	}
}

// TestRotation: past its size the history rotates; history and numbering
// go on across the two generations.
func TestRotation(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, StoreOptions{MaxHistoryBytes: 2000})
	for i := range 30 {
		run(t, s, fmt.Sprint("k", i%3))
	}
	fi, err := os.Stat(s.historyPath())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if fi != nil && fi.Size() > 2600 {
		t.Errorf("the history is %d bytes, over its limit", fi.Size())
	}
	if _, err := os.Stat(s.previousPath()); err != nil {
		t.Fatalf("no previous generation: %v", err)
	}
	os.Remove(s.seqPath())
	if r := run(t, s, "k0"); r.ID != 31 {
		t.Errorf("after rotation and a lost counter the next job is #%d, want 31", r.ID)
	}
	hs, err := s.History(8)
	if err != nil || len(hs) != 8 || hs[0].ID != 31 || hs[7].ID != 24 {
		t.Errorf("History(8) = %d records from #%d, %v", len(hs), hs[0].ID, err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "history*.jsonl"))
	if len(files) != 2 {
		t.Errorf("history files: %v", files)
	}
}

func TestEachLineBack(t *testing.T) {
	long := strings.Repeat("x", maxLine+1)
	mid := strings.Repeat("m", 3*tailBlock) // spans blocks
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a\nb", []string{"b", "a"}},
		{"a\n\nb\n", []string{"b", "a"}},
		{long + "\nok\n", []string{"ok"}},
		{"ok\n" + long, []string{"ok"}},
		{"y\n" + long + "\n" + mid + "\nz\n", []string{"z", mid, "y"}},
	}
	for i, tt := range tests {
		path := filepath.Join(t.TempDir(), "h")
		if err := os.WriteFile(path, []byte(tt.in), 0o600); err != nil {
			t.Fatal(err)
		}
		var got []string
		if err := eachLineBack(path, func(b []byte) bool { got = append(got, string(b)); return true }); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(tt.want) {
			t.Errorf("case %d: %d lines, want %d", i, len(got), len(tt.want))
			continue
		}
		for k := range got {
			if got[k] != tt.want[k] {
				t.Errorf("case %d: line %d is %.20q…, want %.20q…", i, k, got[k], tt.want[k])
			}
		}
	}
}

// writeHistory writes n finished jobs straight into the history file.
func writeHistory(t testing.TB, s *Store, n int) {
	t.Helper()
	f, err := os.Create(s.historyPath())
	if err != nil {
		t.Fatal(err)
	}
	enc := json.NewEncoder(f)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		r := Record{ID: int64(i), Status: Running, Kind: "deploy", Key: fmt.Sprintf("eu-west-1/prod/svc%d", i%50), User: "U0123456789",
			Title: "deploying `v1.2.3` to `svc` in prd", Event: fmt.Sprintf("Ev%08d", i), Channel: "C0123456789", Thread: "1700000000.000100",
			Instance: "ecs-7d9f-1-0a1b2c3d", Created: start.Add(time.Duration(i) * time.Minute), Started: start.Add(time.Duration(i) * time.Minute)}
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
		r.Status, r.Ended = Succeeded, r.Started.Add(90*time.Second)
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkHistory100k: `history` of a state dir holding 100,000 jobs (two
// lines each, 60 MB) reads only the tail.
func BenchmarkHistory100k(b *testing.B) {
	s := open(b, b.TempDir(), StoreOptions{MaxHistoryBytes: 1 << 30})
	writeHistory(b, s, 100_000)
	fi, _ := os.Stat(s.historyPath())
	for b.Loop() {
		hs, err := s.History(historyShown)
		if err != nil || len(hs) != historyShown || hs[0].ID != 100_000 {
			b.Fatalf("History = %d records, %v", len(hs), err)
		}
	}
	b.ReportMetric(float64(fi.Size())/1e6, "MB_history")
}
