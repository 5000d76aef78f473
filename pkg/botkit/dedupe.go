package botkit

import (
	"sync"
	"time"
)

// dedupeTTL is how long an event id is remembered. Slack retries a delivery
// up to three times over about five minutes; ten leaves a margin.
const dedupeTTL = 10 * time.Minute

// dedupeMax bounds memory: past it, the oldest ids are forgotten first even
// if younger than dedupeTTL. At 50 bytes an id that is well under 1 MB.
const dedupeMax = 20000

// dedupe remembers event ids in arrival order. It is safe for concurrent use.
type dedupe struct {
	mu    sync.Mutex
	seen  map[string]time.Time
	order []string // ring of ids, oldest at head
	head  int
	now   func() time.Time
}

func newDedupe(now func() time.Time) *dedupe {
	return &dedupe{seen: make(map[string]time.Time), now: now}
}

// first reports whether id is new, and remembers it.
func (d *dedupe) first(id string) bool {
	if id == "" {
		return true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	d.expire(now)
	if _, ok := d.seen[id]; ok {
		return false
	}
	if len(d.order)-d.head >= dedupeMax {
		delete(d.seen, d.order[d.head])
		d.head++
	}
	d.seen[id] = now
	d.order = append(d.order, id)
	if d.head > len(d.order)/2 && d.head > 1024 {
		d.order = append([]string(nil), d.order[d.head:]...)
		d.head = 0
	}
	return true
}

func (d *dedupe) expire(now time.Time) {
	for d.head < len(d.order) {
		id := d.order[d.head]
		if now.Sub(d.seen[id]) < dedupeTTL {
			return
		}
		delete(d.seen, id)
		d.head++
	}
}

// known reports whether id was remembered, without remembering it.
func (d *dedupe) known(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.expire(d.now())
	_, ok := d.seen[id]
	return ok
}
