package botkit

import (
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// testClock is a clock tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openInbox(t testing.TB, dir string, clock *testClock) *inbox {
	t.Helper()
	in, err := newInbox(dir, clock.now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.close)
	return in
}

func mention(id, ts string) Event {
	return Event{Kind: KindMessage, ID: id, Text: "<@UBOT> deploy", User: "U1", Channel: "C1", TS: ts}
}

// TestInboxRecordOnce: of the deliveries of one event, to one process or
// two sharing the state directory, the first is recorded and the others
// are refused: a retry (same event_id), the message.im twin of an
// app_mention (same channel and ts), a webhook redelivered with its id.
// A webhook without an id is never refused.
func TestInboxRecordOnce(t *testing.T) {
	hook := func(id string) Event {
		ev := Event{Kind: KindWebhook, Webhook: &Delivery{Path: "/hooks/gh", ID: id, Body: []byte(`{}`)}}
		if id != "" {
			ev.ID = "hook:/hooks/gh:" + id
		}
		return ev
	}
	tests := []struct {
		name          string
		first, second Event
		wantTaken     bool
	}{
		{"retry", mention("Ev1", "1.1"), mention("Ev1", "1.1"), true},
		{"app_mention and message.im of one message", mention("Ev1", "1.1"), mention("Ev2", "1.1"), true},
		{"two messages", mention("Ev1", "1.1"), mention("Ev2", "1.2"), false},
		{"event redelivered", Event{Kind: KindEvent, ID: "Ev9", Raw: &RawEvent{Type: "reaction_added"}}, Event{Kind: KindEvent, ID: "Ev9", Raw: &RawEvent{Type: "reaction_added"}}, true},
		{"webhook redelivered", hook("d1"), hook("d1"), true},
		{"webhooks without an id", hook(""), hook(""), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, clock := t.TempDir(), &testClock{t: time.Now()}
			a, b := openInbox(t, dir, clock), openInbox(t, dir, clock)
			if _, err := a.record(&tc.first); err != nil {
				t.Fatal(err)
			}
			for _, in := range []*inbox{a, b} {
				_, err := in.record(&tc.second)
				if got := errors.Is(err, errInboxTaken); got != tc.wantTaken || err != nil && !got {
					t.Errorf("second record = %v, want taken %v", err, tc.wantTaken)
				}
				if !tc.wantTaken {
					break
				}
			}
		})
	}
}

// nfs plays, for one inbox, what NFS shows a pod of other pods' writes: a
// dead process's lock still held until its lease expires, a directory
// listing that lags, step files not seen yet (a negative lookup cached).
type nfs struct {
	clock   *testClock
	lease   time.Duration
	mu      sync.Mutex
	deadAt  map[string]time.Time // instance: when the test saw it die
	listing []string             // non-nil: the lagging listing
	hide    bool                 // step files read as absent
}

func (n *nfs) apply(in *inbox) {
	realAlive, realReadDir, realReadFile := in.alive, in.readDir, in.readFile
	in.alive = func(instance string) (bool, error) {
		alive, err := realAlive(instance)
		n.mu.Lock()
		defer n.mu.Unlock()
		if d, ok := n.deadAt[instance]; ok && !alive && n.clock.now().Sub(d) < n.lease {
			return true, nil // the server keeps the lock until the lease expires
		}
		return alive, err
	}
	in.readDir = func(dir string) ([]string, error) {
		n.mu.Lock()
		l := n.listing
		n.mu.Unlock()
		if l != nil {
			return l, nil
		}
		return realReadDir(dir)
	}
	in.readFile = func(p string) ([]byte, error) {
		n.mu.Lock()
		hide := n.hide
		n.mu.Unlock()
		if hide && !strings.HasSuffix(p, ".json") {
			return nil, fs.ErrNotExist
		}
		return realReadFile(p)
	}
}

func (n *nfs) kill(in *inbox) {
	n.mu.Lock()
	n.deadAt[in.proc.Instance()] = n.clock.now()
	n.mu.Unlock()
	in.close()
}

// TestInboxTakeover: an event recorded by a process that died is taken over
// by exactly one live process, once the dead one's lock is free, whatever
// the other pods' view lags; one whose reply was noted, or that was done,
// is never run again.
func TestInboxTakeover(t *testing.T) {
	const lease = 90 * time.Second
	tests := []struct {
		name string
		// before runs after the owner recorded the event and before it
		// died; after, after it died.
		before   func(e *inboxEntry)
		after    func(n *nfs, dir string)
		wantRun  bool // taken over to run
		wantDone bool // the record ends done
	}{
		{name: "unfinished", wantRun: true},
		{name: "reply noted", before: func(e *inboxEntry) { e.noteReply(MessageRef{Channel: "C1", TS: "9.9"}) }, wantDone: true},
		{name: "done", before: func(e *inboxEntry) { e.finish() }, wantDone: true},
		{name: "done, steps not seen yet", before: func(e *inboxEntry) { e.finish() },
			after: func(n *nfs, _ string) { n.hide = true }, wantDone: true},
		{name: "reply noted, steps not seen yet", before: func(e *inboxEntry) { e.noteReply(MessageRef{Channel: "C1", TS: "9.9"}) },
			after: func(n *nfs, _ string) { n.hide = true }, wantDone: true},
		{name: "listing lags", wantRun: true, after: func(n *nfs, dir string) { n.listing = []string{"procs"} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, clock := t.TempDir(), &testClock{t: time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)}
			owner := openInbox(t, dir, clock)
			n := &nfs{clock: clock, lease: lease, deadAt: map[string]time.Time{}}
			var takers []*inbox
			for range 3 {
				in := openInbox(t, dir, clock)
				n.apply(in)
				takers = append(takers, in)
			}
			ev := mention("Ev1", "1.1")
			e, err := owner.record(&ev)
			if err != nil {
				t.Fatal(err)
			}
			if tc.before != nil {
				tc.before(e)
			}
			n.kill(owner)
			if tc.after != nil {
				tc.after(n, dir)
			}
			scan := func() []orphan {
				var mu sync.Mutex
				var all []orphan
				var wg sync.WaitGroup
				for _, in := range takers {
					wg.Go(func() {
						got := in.takeover(inboxTakeMax)
						mu.Lock()
						all = append(all, got...)
						mu.Unlock()
					})
				}
				wg.Wait()
				return all
			}
			clock.add(lease / 2)
			if got := scan(); len(got) != 0 {
				t.Fatalf("taken over while the dead process's lease still held its lock: %d", len(got))
			}
			clock.add(lease)
			got := scan()
			n.mu.Lock()
			n.listing, n.hide = nil, false // the caches catch up
			n.mu.Unlock()
			got = append(got, scan()...)
			if tc.wantRun {
				if len(got) != 1 {
					t.Fatalf("taken over %d times, want once", len(got))
				}
				if got[0].ev.Text != ev.Text || got[0].ev.ID != "Ev1" {
					t.Errorf("taken over %+v, want the recorded event", got[0].ev)
				}
				got[0].ev.inbox.finish()
			} else if len(got) != 0 {
				t.Fatalf("taken over %d times, want never", len(got))
			}
			if got := scan(); len(got) != 0 {
				t.Errorf("taken over again after the takeover: %d", len(got))
			}
			name := inboxName(inboxKey(&ev))
			var rec inboxRecord
			b, _ := os.ReadFile(filepath.Join(dir, InboxDir, name+".json"))
			if err := json.Unmarshal(b, &rec); err != nil {
				t.Fatal(err)
			}
			h, err := owner.history(name, &rec)
			if err != nil {
				t.Fatal(err)
			}
			if want := tc.wantDone || tc.wantRun; h.done != want {
				t.Errorf("record done = %v, want %v (history %+v)", h.done, want, h)
			}
		})
	}
}

// TestInboxPrune: a done record is removed after inboxKeep, with its
// steps; an unfinished one of a live process stays however old.
func TestInboxPrune(t *testing.T) {
	dir, clock := t.TempDir(), &testClock{t: time.Now()}
	a, b := openInbox(t, dir, clock), openInbox(t, dir, clock)
	done, open := mention("Ev1", "1.1"), mention("Ev2", "1.2")
	e, err := a.record(&done)
	if err != nil {
		t.Fatal(err)
	}
	e.noteReply(MessageRef{Channel: "C1", TS: "2.2"})
	e.finish()
	if _, err := a.record(&open); err != nil {
		t.Fatal(err)
	}
	clock.add(inboxKeep + time.Minute)
	b.takeover(inboxTakeMax)
	left, _ := listNames(filepath.Join(dir, InboxDir))
	var files []string
	for _, f := range left {
		if f != "procs" {
			files = append(files, f)
		}
	}
	if want := []string{inboxName(inboxKey(&open)) + ".json"}; strings.Join(files, ",") != want[0] {
		t.Errorf("inbox after pruning: %v, want %v", files, want)
	}
	if _, err := b.record(&done); err != nil {
		t.Errorf("an event pruned is recorded anew: %v", err)
	}
}

// BenchmarkInboxRecord measures recording an event: the write, its fsync
// and the exclusive link, on the test's temporary directory.
func BenchmarkInboxRecord(b *testing.B) {
	clock := &testClock{t: time.Now()}
	in := openInbox(b, b.TempDir(), clock)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		ev := mention("Ev"+strconv.Itoa(i), "1."+strconv.Itoa(i))
		if _, err := in.record(&ev); err != nil {
			b.Fatal(err)
		}
	}
}
