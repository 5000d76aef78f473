package botkit

import "sync/atomic"

// Live holds a bot's current config. A reload stores a new value and never
// changes an old one, so a handler that calls Load once at its start sees
// one consistent snapshot for its whole run. It is safe for concurrent use.
type Live[C any] struct{ p atomic.Pointer[C] }

// NewLive returns a Live holding c.
func NewLive[C any](c *C) *Live[C] {
	l := &Live[C]{}
	l.p.Store(c)
	return l
}

// Load returns the current config. Do not modify it.
func (l *Live[C]) Load() *C { return l.p.Load() }

// Store makes c the current config; the runner calls it on reload.
func (l *Live[C]) Store(c *C) { l.p.Store(c) }
