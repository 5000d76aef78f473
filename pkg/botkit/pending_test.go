package botkit

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// storeKinds are the interaction stores every test here runs against, like
// a conformance suite: what holds for one must hold for the other.
func storeKinds(t *testing.T) map[string]func() interactionStore {
	dir := t.TempDir()
	return map[string]func() interactionStore{
		"memory": func() interactionStore { return newMemInteractions() },
		// Each call is another process over the same directory.
		"dir": func() interactionStore {
			d, err := newDirInteractions(dir)
			if err != nil {
				t.Fatal(err)
			}
			return d
		},
	}
}

func record(user string) *interaction {
	now := time.Now()
	return &interaction{ID: newInteractionID(interactionApprove), Kind: interactionApprove, Created: now,
		Expires: now.Add(time.Hour), Timeout: time.Hour, Question: "Run?", Groups: []string{"S0LEADS"}, Count: 2,
		Run: runSpec{Command: "deploy {app:name}", Text: "deploy api", Args: []string{"api"}, User: user, Channel: "C1",
			TS: "1.2", CorrelationID: "abcd", Details: []Detail{{Key: "image", Value: "x@sha256:1"}}}}
}

func TestStoreDecidesOnce(t *testing.T) {
	for name, open := range storeKinds(t) {
		t.Run(name, func(t *testing.T) {
			first := open()
			it := record("U0REQ")
			if err := first.add(it); err != nil {
				t.Fatal(err)
			}
			stores := []interactionStore{first, open()}
			if name == "memory" {
				stores[1] = first // memory is one process's
			}
			var wins atomic.Int32
			var wg sync.WaitGroup
			for i := range 40 {
				wg.Go(func() {
					won, got, err := stores[i%2].decide(it.ID, verdict{Outcome: verdictApproved, By: "U0LEAD", At: time.Now()})
					if err != nil {
						t.Error(err)
					}
					if won {
						wins.Add(1)
					} else if got.Outcome != verdictApproved || got.By != "U0LEAD" {
						t.Errorf("a losing decide saw %+v", got)
					}
				})
			}
			wg.Wait()
			if n := wins.Load(); n != 1 {
				t.Errorf("%d decides won, want 1", n)
			}
			if open, _ := stores[1].open(); len(open) != 0 {
				t.Errorf("a decided record is still open: %+v", open)
			}
		})
	}
}

func TestStoreKeepsEverythingToRun(t *testing.T) {
	for name, open := range storeKinds(t) {
		t.Run(name, func(t *testing.T) {
			s := open()
			it := record("U0REQ")
			if err := s.add(it); err != nil {
				t.Fatal(err)
			}
			if err := s.setPosted(it.ID, []postedRef{{Channel: "C1", TS: "1.3"}, {Channel: "C0APPROVERS", TS: "1.4"}}); err != nil {
				t.Fatal(err)
			}
			got, err := s.get(it.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Run.Text != "deploy api" || got.Run.Args[0] != "api" || got.Run.User != "U0REQ" || got.Run.Details[0].Value != "x@sha256:1" ||
				got.Count != 2 || got.Groups[0] != "S0LEADS" || len(got.Posted) != 2 || got.Posted[1].Channel != "C0APPROVERS" {
				t.Errorf("read back %+v", got)
			}
			for _, u := range []string{"U0A", "U0B", "U0A"} {
				if _, _, err := s.vote(it.ID, vote{User: u, At: time.Now()}); err != nil {
					t.Fatal(err)
				}
			}
			votes, fresh, _ := s.vote(it.ID, vote{User: "U0B", At: time.Now()})
			if fresh || len(votes) != 2 {
				t.Errorf("votes %+v (fresh %v), want two distinct approvers", votes, fresh)
			}
			if _, err := s.get(newInteractionID(interactionConfirm)); err != errNoInteraction {
				t.Errorf("unknown id: %v", err)
			}
		})
	}
}

func TestStoreBounds(t *testing.T) {
	for name, open := range storeKinds(t) {
		t.Run(name, func(t *testing.T) {
			s := open()
			for range maxPendingPerUser {
				if err := s.add(record("U0BUSY")); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.add(record("U0BUSY")); err != errTooManyForUser {
				t.Errorf("sixth record: %v, want %v", err, errTooManyForUser)
			}
			if err := s.add(record("U0OTHER")); err != nil {
				t.Errorf("another user: %v", err)
			}
		})
	}
}

// Decided records are pruned once old; open and recent ones stay, and so
// does nothing else of a half-written record once its writer is gone.
func TestDirPrune(t *testing.T) {
	dir := t.TempDir()
	s, err := newDirInteractions(dir)
	if err != nil {
		t.Fatal(err)
	}
	old, recent, open := record("U0A"), record("U0B"), record("U0C")
	for _, it := range []*interaction{old, recent, open} {
		if err := s.add(it); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	s.decide(old.ID, verdict{Outcome: verdictExpired, At: now.Add(-keepDecided - time.Minute)})
	s.decide(recent.ID, verdict{Outcome: verdictRejected, By: "U0LEAD", At: now.Add(-time.Minute)})
	stale := filepath.Join(dir, InteractionsDir, newPrefix+"c000000000000000000000000-1")
	if err := os.Mkdir(stale, 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(stale, now.Add(-2*staleNew), now.Add(-2*staleNew))
	if err := s.prune(now); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, InteractionsDir))
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if len(left) != 2 || !slices.Contains(left, recent.ID) || !slices.Contains(left, open.ID) {
		t.Errorf("after pruning: %q, want the recent and the open record", left)
	}
}

// BenchmarkDirClick is what a click costs the directory store: read the
// record and its verdict, vote, decide. BenchmarkDirAdd is parking a
// command with n others open (add reads the open records for its bounds).
func BenchmarkDirClick(b *testing.B) {
	s, err := newDirInteractions(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		it := record(fmt.Sprintf("U0R%d", rand.IntN(1000)))
		if err := s.add(it); err != nil {
			b.Fatal(err)
		}
		if _, err := s.get(it.ID); err != nil {
			b.Fatal(err)
		}
		s.verdict(it.ID)
		s.vote(it.ID, vote{User: "U0LEAD", At: time.Now()})
		if won, _, err := s.decide(it.ID, verdict{Outcome: verdictApproved, At: time.Now()}); !won || err != nil {
			b.Fatal(won, err)
		}
	}
}

func BenchmarkDirAdd(b *testing.B) {
	for _, n := range []int{0, 100, 999} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s, err := newDirInteractions(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			for i := range n {
				if err := s.add(record(fmt.Sprintf("U0R%d", i))); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				it := record("U0LAST")
				if err := s.add(it); err != nil {
					b.Fatal(err)
				}
				s.decide(it.ID, verdict{Outcome: verdictCancelled, At: time.Now()})
			}
		})
	}
}

// TestStoreWaiting: waiting lists the undecided records of a kind, in the
// order they were stored, without confirmations or decided ones.
func TestStoreWaiting(t *testing.T) {
	for name, open := range storeKinds(t) {
		t.Run(name, func(t *testing.T) {
			st := open()
			var want []string
			for i := range 4 {
				it := record(fmt.Sprintf("U%d", i))
				it.Created = it.Created.Add(time.Duration(i) * time.Second)
				if err := st.add(it); err != nil {
					t.Fatal(err)
				}
				want = append(want, it.ID)
				time.Sleep(10 * time.Millisecond) // the directory orders by mtime
			}
			c := record("U9")
			c.ID, c.Kind = newInteractionID(interactionConfirm), interactionConfirm
			if err := st.add(c); err != nil {
				t.Fatal(err)
			}
			if won, _, err := st.decide(want[1], verdict{Outcome: verdictRejected, At: time.Now()}); !won || err != nil {
				t.Fatalf("decide: %v %v", won, err)
			}
			want = slices.Delete(want, 1, 2)
			refs, err := st.waiting(interactionApprove)
			if err != nil {
				t.Fatal(err)
			}
			slices.SortFunc(refs, func(a, b waitingRef) int { return a.Since.Compare(b.Since) })
			var got []string
			for _, r := range refs {
				got = append(got, r.ID)
			}
			if !slices.Equal(got, want) {
				t.Errorf("waiting approvals %v, want %v", got, want)
			}
			if refs, _ := st.waiting(interactionConfirm); len(refs) != 1 || refs[0].ID != c.ID {
				t.Errorf("waiting confirmations %+v, want %s", refs, c.ID)
			}
		})
	}
}
