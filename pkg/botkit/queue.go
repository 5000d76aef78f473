package botkit

import (
	"runtime/debug"
	"sync"
	"time"
)

// queue holds the events waiting for a worker. Unlike a buffered channel it
// takes memory only for what it holds, so a deep bound (a burst of mentions
// from one user must get through) costs nothing while the bot is idle.
type queue struct {
	mu     sync.Mutex
	cond   sync.Cond
	items  []Event
	head   int
	max    int
	closed bool
	busy   int // events taken and not yet finished
	idle   int // workers waiting in pop that no push has claimed yet
	served int // events finished since the last memory release
}

func newQueue(max int) *queue {
	q := &queue{max: max}
	q.cond.L = &q.mu
	return q
}

// push adds ev unless the queue is closed, or full with no idle worker to
// take it at once (so a bound of 0 means: run only when a worker is free).
func (q *queue) push(ev Event) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.closed:
		return false
	case q.idle > 0:
		q.idle--
	case len(q.items)-q.head >= q.max:
		return false
	}
	q.items = append(q.items, ev)
	q.cond.Signal()
	return true
}

// pop waits for an event; false once the queue is closed and empty.
func (q *queue) pop() (Event, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.head == len(q.items) && !q.closed {
		q.idle++ // claimed (and taken back) by the push that wakes us
		q.cond.Wait()
	}
	if q.head == len(q.items) {
		return Event{}, false
	}
	ev := q.items[q.head]
	q.items[q.head] = Event{}
	q.head++
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
	return ev, true
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
