package botkit

import (
	"runtime/debug"
	"sync"
	"time"
)

// work is one item for a worker: an event to dispatch, or the answer to a
// pending confirmation (answer set; ev is the click).
type work struct {
	ev      Event
	answer  *answer
	tooLong bool // ev's text was over maxCommandText and was dropped
	// inChannel makes a slash command's replies visible to its channel.
	inChannel bool
	received  time.Time // when deliver took it
}

// itemOverhead is what a queued item costs besides its strings: the work
// struct and its slot, rounded up.
const itemOverhead = 256

// size is what w holds in memory, for the queue's byte bound.
func (w *work) size() int {
	ev := &w.ev
	n := itemOverhead + len(ev.ID) + len(ev.Text) + len(ev.User) + len(ev.Channel) + len(ev.TS) + len(ev.ThreadTS)
	if ev.Webhook != nil {
		n += len(ev.Webhook.Body)
	}
	return n
}

// queue holds the work waiting for a worker. Unlike a buffered channel it
// takes memory only for what it holds, so a deep bound (a burst of mentions
// from one user must get through) costs nothing while the bot is idle. It
// is bounded twice: by count, and by the bytes its items hold.
type queue struct {
	mu       sync.Mutex
	cond     sync.Cond
	items    []work
	head     int
	max      int
	maxBytes int
	bytes    int // held by the items waiting
	closed   bool
	busy     int // items taken and not yet finished
	idle     int // workers waiting in pop that no push has claimed yet
	served   int // items finished since the last memory release
}

func newQueue(max, maxBytes int) *queue {
	q := &queue{max: max, maxBytes: maxBytes}
	q.cond.L = &q.mu
	return q
}

// push adds w unless the queue is closed, or full (by count or bytes) with
// no idle worker to take it at once (so a bound of 0 means: run only when a
// worker is free).
func (q *queue) push(w work) bool {
	return q.add(w, false)
}

// pushAnswer adds the answer to a pending confirmation past the bounds: it
// was counted when its command was parked (pending confirmations are capped
// per user), and dropping it would lose a click.
func (q *queue) pushAnswer(w work) bool {
	return q.add(w, true)
}

func (q *queue) add(w work, force bool) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := w.size()
	switch {
	case q.closed:
		return false
	case q.idle > 0:
		q.idle--
	case force:
	case len(q.items)-q.head >= q.max, q.bytes+n > q.maxBytes:
		return false
	}
	q.items = append(q.items, w)
	q.bytes += n
	q.cond.Signal()
	return true
}

// pop waits for work; false once the queue is closed and empty.
func (q *queue) pop() (work, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.head == len(q.items) && !q.closed {
		q.idle++ // claimed (and taken back) by the push that wakes us
		q.cond.Wait()
	}
	if q.head == len(q.items) {
		return work{}, false
	}
	w := q.items[q.head]
	q.items[q.head] = work{}
	q.head++
	q.bytes -= w.size()
	if q.head == len(q.items) {
		// Drained: drop a large backing array instead of keeping the
		// burst's peak forever.
		if cap(q.items) > 1024 {
			q.items = nil
		} else {
			q.items = q.items[:0]
		}
		q.head = 0
	}
	q.busy++
	return w, true
}

// drain removes and returns the work no worker has taken yet.
func (q *queue) drain() []work {
	q.mu.Lock()
	defer q.mu.Unlock()
	left := append([]work(nil), q.items[q.head:]...)
	q.items, q.head, q.bytes = nil, 0, 0
	return left
}

// finish marks an event taken by pop as handled.
func (q *queue) finish() {
	q.mu.Lock()
	q.busy--
	q.served++
	q.mu.Unlock()
}

func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.cond.Broadcast()
	q.mu.Unlock()
}

// releaseAfter is how many commands the bot must have served since the last
// release before an idle moment gives memory back to the OS.
const releaseAfter = 200

// releaseIdle returns a burst's memory to the OS once the bot is idle again.
// Go's scavenger would return it too, but over minutes; a bot spends most
// of its life idle, and on Fargate its memory is what the pod is billed and
// limited by. It checks every interval until stop is closed.
func (q *queue) releaseIdle(interval time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		q.mu.Lock()
		idle := q.busy == 0 && q.head == len(q.items) && q.served >= releaseAfter
		if idle {
			q.served = 0
		}
		q.mu.Unlock()
		if idle {
			debug.FreeOSMemory()
		}
	}
}
