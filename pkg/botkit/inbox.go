package botkit

import (
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/botfleet/botfleet/pkg/atomicfile"
	"github.com/botfleet/botfleet/pkg/flock"
	"github.com/botfleet/botfleet/pkg/procs"
)

// InboxDir is the directory, in the state directory, of the inbox: the
// record of every Events API event and webhook delivery a process took,
// written before the event is acknowledged. The layout:
//
//	inbox/procs/<instance>.lock  held by each running process (package procs)
//	inbox/<h>.json               the record of one event: its key, owner and
//	                             content; created whole, once (atomicfile.Create),
//	                             it is also the claim that dedupes the event
//	                             across processes
//	inbox/<h>.1, <h>.2 ...       what became of it, in order, each created
//	                             once: "take <instance>" (another process took
//	                             it over), "reply <channel>/<ts>" (a reply was
//	                             posted), "done"
//
// <h> is a hash of the event's key: channel and ts for a message (a retry,
// and the app_mention and message.im of one message, share it), the
// event_id for other events, the sender's delivery id for a webhook.
const InboxDir = "inbox"

const (
	// inboxKeep is how long the record of a handled event stays, to dedupe
	// retries: Slack retries for minutes; an hour leaves a margin.
	inboxKeep = time.Hour
	// inboxRunWithin is how old an event taken over from a dead process
	// may be and still run: older, its author is told to send it again (a
	// deploy run an hour late would surprise).
	inboxRunWithin = 10 * time.Minute
	// inboxScanEvery is how often a process looks for dead processes'
	// events.
	inboxScanEvery = 5 * time.Second
	// inboxTakeMax bounds the events one scan takes over.
	inboxTakeMax = 64
	// inboxRecorders bounds the recordings in flight; past it the
	// transport's read loop waits.
	inboxRecorders = 64
)

// errInboxTaken is record's error when the event is recorded already, by
// this process or another: a retry, or the other delivery of a message.
var errInboxTaken = errors.New("event recorded already")

// inbox is the durable record of the events a process acked. Its writes
// are exclusive creates, which NFSv4 decides at the server; its reads (a
// listing, a file, whether a process is alive) may lag behind other pods,
// and nothing it decides rests on a read alone.
type inbox struct {
	dir    string
	locks  flock.Set
	proc   *procs.Held
	now    func() time.Time
	logger *slog.Logger

	// What other pods' writes look like from here. Tests in this package
	// replace them to play NFS: a directory listing that lags, a lock still
	// held for a lease after its process died.
	readDir  func(dir string) ([]string, error)
	readFile func(path string) ([]byte, error)
	alive    func(instance string) (bool, error)
}

// newInbox opens the inbox under stateDir and takes this process's lock.
func newInbox(stateDir string, now func() time.Time, logger *slog.Logger) (*inbox, error) {
	dir := filepath.Join(stateDir, InboxDir)
	in := &inbox{dir: dir, now: now, logger: logger, readDir: listNames, readFile: os.ReadFile}
	proc, err := procs.Take(&in.locks, in.procsDir())
	if err != nil {
		return nil, fmt.Errorf("opening the inbox: %w", err)
	}
	in.proc = proc
	in.alive = func(instance string) (bool, error) { return procs.Alive(&in.locks, in.procsDir(), instance) }
	procs.Prune(&in.locks, in.procsDir())
	return in, nil
}

func listNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// close releases this process's lock: what it leaves unfinished is, from
// now on, another's to take over.
func (in *inbox) close() { in.proc.Release() }

func (in *inbox) procsDir() string              { return filepath.Join(in.dir, "procs") }
func (in *inbox) recordPath(name string) string { return filepath.Join(in.dir, name+".json") }
func (in *inbox) stepPath(name string, n int) string {
	return filepath.Join(in.dir, name+"."+strconv.Itoa(n))
}

// inboxKey is what identifies ev across deliveries and processes, "" when
// nothing does (the event is then not recorded).
func inboxKey(ev *Event) string {
	switch {
	case ev.Kind == KindMessage && ev.TS != "":
		return "msg:" + ev.Channel + "/" + ev.TS
	case ev.Kind == KindWebhook && ev.ID == "":
		// No delivery id: nothing to dedupe by, but the delivery is
		// kept all the same.
		var b [12]byte
		_, _ = rand.Read(b[:])
		return "hook:" + ev.Webhook.Path + ":" + hex.EncodeToString(b[:])
	}
	return ev.ID
}

func inboxName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16])
}

// inboxRecord is an event's record, as stored.
type inboxRecord struct {
	Key      string      `json:"key"`
	Owner    string      `json:"owner"`
	Received time.Time   `json:"received"`
	Event    storedEvent `json:"event"`
}

// storedEvent is what a recorded event needs to run in another process:
// recorded kinds carry no interaction fields.
type storedEvent struct {
	Kind     string    `json:"kind"`
	ID       string    `json:"id,omitempty"`
	Text     string    `json:"text,omitempty"`
	User     string    `json:"user,omitempty"`
	Channel  string    `json:"channel,omitempty"`
	TS       string    `json:"ts,omitempty"`
	ThreadTS string    `json:"thread_ts,omitempty"`
	Raw      *RawEvent `json:"raw,omitempty"`
	Webhook  *Delivery `json:"webhook,omitempty"`
}

// recordable kinds: those Slack retries or a sender redelivers, and which
// carry no answer in their acknowledgement.
var recordable = map[Kind]string{KindMessage: "message", KindEvent: "event", KindWebhook: "webhook"}

func (se storedEvent) event() (Event, bool) {
	for k, name := range recordable {
		if name == se.Kind {
			return Event{Kind: k, ID: se.ID, Text: se.Text, User: se.User, Channel: se.Channel, TS: se.TS,
				ThreadTS: se.ThreadTS, Raw: se.Raw, Webhook: se.Webhook}, true
		}
	}
	return Event{}, false
}

// record writes ev's record, whole and synced, unless an event of its key
// is recorded already (errInboxTaken).
func (in *inbox) record(ev *Event) (*inboxEntry, error) {
	key := inboxKey(ev)
	rec := inboxRecord{Key: key, Owner: in.proc.Instance(), Received: in.now().UTC(), Event: storedEvent{
		Kind: recordable[ev.Kind], ID: ev.ID, Text: ev.Text, User: ev.User, Channel: ev.Channel, TS: ev.TS,
		ThreadTS: ev.ThreadTS, Raw: ev.Raw, Webhook: ev.Webhook}}
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("encoding the record of event %s: %w", key, err)
	}
	name := inboxName(key)
	err = atomicfile.Create(in.recordPath(name), data, 0o640)
	if errors.Is(err, fs.ErrExist) {
		return nil, errInboxTaken
	}
	if err != nil {
		return nil, fmt.Errorf("recording event %s: %w", key, err)
	}
	return &inboxEntry{in: in, name: name, key: key}, nil
}

// inboxEntry is a recorded event this process owns.
type inboxEntry struct {
	in   *inbox
	name string
	key  string

	mu      sync.Mutex
	step    int  // the last step of the record's history (0: the record)
	replied bool // a reply is noted
	over    bool // done, left, or found taken by another
}

// next appends a step to the entry's history. Failing to create it because
// it exists means another process took the event over, taking this one for
// dead (its NFS lease lapsed while it ran): both may have handled it.
func (e *inboxEntry) next(what string) error {
	if e.over {
		return nil
	}
	// Unsynced: a step lost with the machine (never with the process)
	// only makes a taker run or close the event again.
	err := atomicfile.CreateUnsynced(e.in.stepPath(e.name, e.step+1), []byte(what), 0o640)
	if errors.Is(err, fs.ErrExist) {
		e.over = true
		return fmt.Errorf("event %s was taken over by another process meanwhile", e.key)
	}
	if err != nil {
		return fmt.Errorf("noting %q for event %s: %w", what, e.key, err)
	}
	e.step++
	return nil
}

// noteReply notes the first reply posted for the event, so that a process
// taking it over does not answer again. Safe on a nil entry.
func (e *inboxEntry) noteReply(ref MessageRef) {
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.replied || e.over {
		return
	}
	e.replied = true
	what := "reply " + ref.Channel + "/" + ref.TS
	if ref.TS == "" {
		what = "reply" // through a response_url: no ts
	}
	if err := e.next(what); err != nil {
		e.in.logger.Error("noting a reply in the inbox", "err", err)
	}
}

// finish marks the event handled. Safe on a nil entry.
func (e *inboxEntry) finish() {
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.next("done"); err != nil {
		e.in.logger.Error("marking an event done in the inbox", "err", err)
	}
	e.over = true
}

// discard removes the record of an event this process could not take (a
// webhook refused as busy), so that the sender's retry is taken.
func (e *inboxEntry) discard() {
	e.mu.Lock()
	defer e.mu.Unlock()
	os.Remove(e.in.recordPath(e.name))
	e.over = true
}

// history is what a record's steps say.
type history struct {
	owner string
	steps int
	reply string // "" when no reply is noted
	done  bool
}

func (in *inbox) history(name string, rec *inboxRecord) (history, error) {
	h := history{owner: rec.Owner}
	for n := 1; ; n++ {
		b, err := in.readFile(in.stepPath(name, n))
		if errors.Is(err, fs.ErrNotExist) {
			return h, nil
		}
		if err != nil {
			return h, err
		}
		h.steps = n
		verb, arg, _ := strings.Cut(string(b), " ")
		switch verb {
		case "take":
			h.owner = arg
		case "reply":
			h.reply = cmp.Or(arg, "(response_url)")
		case "done":
			h.done = true
			return h, nil
		}
	}
}

// orphan is an unfinished event of a dead process, now this one's.
type orphan struct {
	ev       Event
	received time.Time
}

// takeover scans the inbox: it takes over the unfinished events of dead
// processes, up to max (each by creating the next step of its history, so
// that of the processes scanning at once one wins), closes those whose
// reply was noted, and prunes what is old. A lagging listing or read only
// delays a takeover: the exclusive create decides.
func (in *inbox) takeover(max int) []orphan {
	names, err := in.readDir(in.dir)
	if err != nil {
		in.logger.Error("reading the inbox", "err", err)
		return nil
	}
	self, now := in.proc.Instance(), in.now()
	var out []orphan
	records := map[string]bool{}
	for _, n := range names {
		if base, ok := strings.CutSuffix(n, ".json"); ok {
			records[base] = true
		}
	}
	for _, n := range names {
		base, ok := strings.CutSuffix(n, ".json")
		if !ok {
			in.pruneStray(n, records)
			continue
		}
		b, err := in.readFile(in.recordPath(base))
		if err != nil {
			continue // pruned meanwhile, or not visible yet
		}
		var rec inboxRecord
		if err := json.Unmarshal(b, &rec); err != nil {
			in.logger.Error("unreadable inbox record; left alone", "file", n, "err", err)
			continue
		}
		h, err := in.history(base, &rec)
		if err != nil {
			continue
		}
		if h.done {
			if now.Sub(rec.Received) > inboxKeep {
				in.remove(base, h.steps)
			}
			continue
		}
		if h.owner == self || len(out) >= max {
			continue
		}
		if alive, err := in.alive(h.owner); err != nil || alive {
			continue
		}
		err = atomicfile.Create(in.stepPath(base, h.steps+1), []byte("take "+self), 0o640)
		if err != nil {
			continue // another process took it, or it moved on since we read
		}
		if _, err := in.readFile(in.recordPath(base)); err != nil {
			os.Remove(in.stepPath(base, h.steps+1)) // pruned under us: it was done
			continue
		}
		e := &inboxEntry{in: in, name: base, key: rec.Key, step: h.steps + 1, replied: h.reply != ""}
		ev, ok := rec.Event.event()
		if !ok || h.reply != "" {
			in.logger.Info("took over an event already answered; closing it", "key", rec.Key, "reply", h.reply, "dead_instance", h.owner)
			e.finish()
			continue
		}
		in.logger.Info("took over an event of a dead process", "key", rec.Key, "event_id", ev.ID, "dead_instance", h.owner)
		ev.inbox = e
		out = append(out, orphan{ev: ev, received: rec.Received})
	}
	return out
}

// remove deletes a done record and its history, record first: a retry
// after it is recorded anew, which an hour after the event is no retry
// Slack makes.
func (in *inbox) remove(name string, steps int) {
	os.Remove(in.recordPath(name))
	for n := steps; n >= 1; n-- {
		os.Remove(in.stepPath(name, n))
	}
}

// pruneStray removes a temporary file a crash left, and steps whose record
// is gone (a crash while pruning), once old.
func (in *inbox) pruneStray(n string, records map[string]bool) {
	age := time.Minute
	if !strings.HasPrefix(n, ".") {
		base, _, ok := strings.Cut(n, ".")
		if !ok || records[base] {
			return
		}
		age = 2 * inboxKeep
	}
	p := filepath.Join(in.dir, n)
	if info, err := os.Lstat(p); err == nil && info.Mode().IsRegular() && in.now().Sub(info.ModTime()) > age {
		os.Remove(p)
	}
}
