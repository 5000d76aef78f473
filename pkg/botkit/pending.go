package botkit

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"regexp"
	"slices"
	"sync"
	"time"
)

// Kinds of interaction records.
const (
	interactionConfirm = "confirm"
	interactionApprove = "approve"
)

// Verdicts: what became of an interaction. Each record gets exactly one.
const (
	verdictConfirmed = "confirmed"
	verdictCancelled = "cancelled"
	verdictApproved  = "approved"
	verdictRejected  = "rejected"
	verdictWithdrawn = "withdrawn"
	verdictExpired   = "expired"
	verdictAbandoned = "abandoned" // the bot stopped, and the record could not outlive it
)

// keepDecided is how long a decided record is kept, so that a late click is
// told what became of it rather than that it is unknown. Past it the record
// is pruned: the audit log keeps the history.
const keepDecided = 24 * time.Hour

// interaction is a command waiting for a click: a confirmation or an
// approval. It holds everything needed to run the command in another
// process or after a restart, so it is all that is stored.
type interaction struct {
	ID      string    `json:"id"`
	Kind    string    `json:"kind"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	// Timeout is how long it was given, for the note when it expires.
	Timeout  time.Duration `json:"timeout"`
	Question string        `json:"question"`
	// Answerers may answer a confirmation; the requester first.
	Answerers []string `json:"answerers,omitempty"`
	// An approval's rule: members of Groups approve, Count of them.
	Rule   string   `json:"rule,omitempty"`
	Groups []string `json:"groups,omitempty"`
	Count  int      `json:"count,omitempty"`
	Run    runSpec  `json:"run"`
	// Posted are the messages that carry the buttons, edited when the
	// record is decided. Set after posting.
	Posted []postedRef `json:"posted,omitempty"`
}

// runSpec is the command an interaction runs: its text, canonical
// arguments and frozen details, who asked, and where.
type runSpec struct {
	Kind          Kind     `json:"kind"`
	Command       string   `json:"command"` // the pattern, which names one command
	Text          string   `json:"text"`
	Args          []string `json:"args"`
	Details       []Detail `json:"details,omitempty"`
	Defaulted     string   `json:"defaulted,omitempty"`
	User          string   `json:"user"`
	Channel       string   `json:"channel"`
	TS            string   `json:"ts,omitempty"`
	ThreadTS      string   `json:"thread_ts,omitempty"`
	EventID       string   `json:"event_id,omitempty"`
	CorrelationID string   `json:"correlation_id"`
	InChannel     bool     `json:"in_channel,omitempty"`
	ConfirmedBy   string   `json:"confirmed_by,omitempty"`
	// ResponseURL answers a slash command within 30 minutes of it. It is
	// a capability to post in the channel, so it is kept in memory only: a
	// command run from a stored record replies in the channel instead.
	ResponseURL string `json:"-"`
}

// thread is where the command's replies go, as Request.thread.
func (r runSpec) thread() string {
	if r.ThreadTS != "" {
		return r.ThreadTS
	}
	return r.TS
}

// postedRef is a message that carries an interaction's buttons.
type postedRef struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

// vote is one approver's click.
type vote struct {
	User string `json:"user"`
	// Click is the click's event id: when this vote makes the count, the
	// verdict names it.
	Click string    `json:"click,omitempty"`
	At    time.Time `json:"at"`
}

// verdict is what became of an interaction, who decided it and when.
type verdict struct {
	Outcome string `json:"outcome"`
	By      string `json:"by,omitempty"`
	// Click is the event id of the click that decided it (for an
	// approval, the click whose vote made the count, even when the sweep
	// counted it): a retry of that click, at any process, is told that it
	// decided, not that someone did before it.
	Click string    `json:"click,omitempty"`
	At    time.Time `json:"at"`
}

var (
	errTooManyForUser = errors.New("too many interactions open for this user")
	errTooMany        = errors.New("too many interactions open")
	errNoInteraction  = errors.New("no such interaction")
)

// interactionStore keeps the commands waiting for a click. Each record is
// decided exactly once: decide is a compare-and-set, and only the caller
// that wins acts on the verdict, so two clicks (or one delivered twice, or
// one delivered to two processes) decide once. Implementations are safe for
// concurrent use; the durable one also across processes sharing its
// directory.
type interactionStore interface {
	// add stores it unless its user, or everyone, is at the bound.
	add(it *interaction) error
	// setPosted records the messages that carry its buttons.
	setPosted(id string, refs []postedRef) error
	// get returns the record, or errNoInteraction.
	get(id string) (*interaction, error)
	// vote records user's approval once; it returns every vote so far and
	// whether this one is new.
	vote(id string, v vote) ([]vote, bool, error)
	// votes returns the votes so far.
	votes(id string) ([]vote, error)
	// decide sets the verdict unless one is set: won reports whether this
	// call set it; if not, the verdict returned is the one that was.
	decide(id string, v verdict) (won bool, got verdict, err error)
	// verdict returns the verdict, if one was set.
	verdict(id string) (verdict, bool, error)
	// open returns the undecided records.
	open() ([]*interaction, error)
	// waiting returns the undecided records of kind, each by its id and a
	// time that orders them by creation, without reading them: what
	// lists a few of many pending records reads, the rest it counts.
	waiting(kind string) ([]waitingRef, error)
	// prune removes records decided more than keepDecided before now.
	prune(now time.Time) error
	// durable reports whether records outlive the process.
	durable() bool
}

// waitingRef is an undecided record, by id, and when it was stored.
type waitingRef struct {
	ID    string
	Since time.Time
}

// Bounds on the interactions waiting at once. A waiting command holds no
// worker, only its record (a few hundred bytes), so the bounds are about
// abuse, not memory pressure: one user cannot park more than a handful, and
// all users together no more than a busy team would.
const (
	maxPendingPerUser = 5
	maxPending        = 1000
)

// interactionIDPattern is what a record's id looks like. A click's value is
// checked against it before it names anything on disk: a forged value such
// as "../x" is refused as unknown.
var interactionIDPattern = regexp.MustCompile(`^[ca][0-9a-f]{24}$`)

// newInteractionID returns a fresh, unguessable id: c… for a confirmation,
// a… for an approval.
func newInteractionID(kind string) string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return kind[:1] + hex.EncodeToString(b[:])
}

// userIDPattern is what a Slack user id looks like; a vote's file is named
// after its user, so nothing else may name one.
var userIDPattern = regexp.MustCompile(`^[UW][A-Z0-9]{1,30}$`)

// memInteractions keeps records in memory: for the console and tests, and
// for bots with no state directory. They die with the process.
type memInteractions struct {
	mu       sync.Mutex
	byID     map[string]*memRecord
	openUser map[string]int
}

type memRecord struct {
	it      *interaction
	votes   []vote
	verdict *verdict
}

func newMemInteractions() *memInteractions {
	return &memInteractions{byID: map[string]*memRecord{}, openUser: map[string]int{}}
}

func (m *memInteractions) durable() bool { return false }

func (m *memInteractions) add(it *interaction) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	open := 0
	for _, r := range m.byID {
		if r.verdict == nil {
			open++
		}
	}
	switch {
	case m.openUser[it.Run.User] >= maxPendingPerUser:
		return errTooManyForUser
	case open >= maxPending:
		return errTooMany
	}
	c := *it
	m.byID[it.ID] = &memRecord{it: &c}
	m.openUser[it.Run.User]++
	return nil
}

func (m *memInteractions) setPosted(id string, refs []postedRef) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.byID[id]
	if !ok {
		return errNoInteraction
	}
	c := *r.it
	c.Posted = slices.Clone(refs)
	r.it = &c
	return nil
}

func (m *memInteractions) get(id string) (*interaction, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.byID[id]
	if !ok {
		return nil, errNoInteraction
	}
	c := *r.it
	return &c, nil
}

func (m *memInteractions) vote(id string, v vote) ([]vote, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.byID[id]
	if !ok {
		return nil, false, errNoInteraction
	}
	if slices.ContainsFunc(r.votes, func(o vote) bool { return o.User == v.User }) {
		return slices.Clone(r.votes), false, nil
	}
	r.votes = append(r.votes, v)
	return slices.Clone(r.votes), true, nil
}

func (m *memInteractions) votes(id string) ([]vote, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.byID[id]
	if !ok {
		return nil, errNoInteraction
	}
	return slices.Clone(r.votes), nil
}

func (m *memInteractions) decide(id string, v verdict) (bool, verdict, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.byID[id]
	if !ok {
		return false, verdict{}, errNoInteraction
	}
	if r.verdict != nil {
		return false, *r.verdict, nil
	}
	r.verdict = &v
	// A decided record answers late clicks only: its command is dropped.
	c := *r.it
	c.Run = runSpec{User: c.Run.User, Command: c.Run.Command}
	r.it = &c
	if m.openUser[r.it.Run.User]--; m.openUser[r.it.Run.User] <= 0 {
		delete(m.openUser, r.it.Run.User)
	}
	return true, v, nil
}

func (m *memInteractions) verdict(id string) (verdict, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.byID[id]
	if !ok {
		return verdict{}, false, errNoInteraction
	}
	if r.verdict == nil {
		return verdict{}, false, nil
	}
	return *r.verdict, true, nil
}

func (m *memInteractions) open() ([]*interaction, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*interaction
	for _, r := range m.byID {
		if r.verdict == nil {
			c := *r.it
			out = append(out, &c)
		}
	}
	return out, nil
}

func (m *memInteractions) waiting(kind string) ([]waitingRef, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []waitingRef
	for id, r := range m.byID {
		if r.verdict == nil && r.it.Kind == kind {
			out = append(out, waitingRef{ID: id, Since: r.it.Created})
		}
	}
	return out, nil
}

func (m *memInteractions) prune(now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, r := range m.byID {
		if r.verdict != nil && now.Sub(r.verdict.At) > keepDecided {
			delete(m.byID, id)
		}
	}
	return nil
}
