package slacktest

import (
	"math/rand/v2"
	"time"
)

// Socket is an open Socket Mode connection, as a Route sees it.
type Socket struct {
	ID       int       // 1 for the first accepted
	OpenedAt time.Time // when its hello was queued
}

// Delivery is an envelope about to be handed to one of the app's open
// connections.
type Delivery struct {
	Envelope Envelope
	// Sockets are the open connections that take envelopes (not those
	// sent a disconnect), oldest first; never empty.
	Sockets []Socket
	// Origin, for a click on a message the bot posted in the thread of an
	// event (a confirmation, an approval request), is the socket that
	// acked that event: the process that posted the message. 0 otherwise.
	Origin int
}

// Route picks the connection an envelope goes to: it returns an index
// into d.Sockets (one out of range is clamped). Slack does not document how
// it chooses among an app's connections (up to 10), so tests choose: at
// random, in turn, or adversarially. A Route is called with the fake's lock
// held, one call at a time, and must not call the Server.
type Route func(d Delivery) int

// RouteNewest hands every envelope to the newest connection: the default,
// and what a single bot that reconnects sees.
func RouteNewest() Route { return func(d Delivery) int { return len(d.Sockets) - 1 } }

// RouteOldest hands every envelope to the oldest connection: during a
// rolling restart, the process about to stop gets everything until its
// connection closes.
func RouteOldest() Route { return func(Delivery) int { return 0 } }

// RouteRoundRobin hands envelopes to the connections in turn.
func RouteRoundRobin() Route {
	n := 0
	return func(d Delivery) int {
		n++
		return (n - 1) % len(d.Sockets)
	}
}

// RouteRandom hands each envelope to a connection chosen at random from a
// generator seeded with seed, so that a failing run can be replayed.
func RouteRandom(seed uint64) Route {
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	return func(d Delivery) int { return r.IntN(len(d.Sockets)) }
}

// RouteAwayFromOrigin hands a click on a message the bot posted in reply
// to an event to a connection other than the one that got the event (see
// Delivery.Origin), chosen among the others by then; everything else, and
// a click when only the origin is open, goes where then says.
func RouteAwayFromOrigin(then Route) Route {
	return func(d Delivery) int {
		if d.Origin == 0 || len(d.Sockets) < 2 {
			return then(d)
		}
		var others []Socket
		var index []int
		for i, s := range d.Sockets {
			if s.ID != d.Origin {
				others, index = append(others, s), append(index, i)
			}
		}
		if len(others) == 0 {
			return then(d)
		}
		sub := d
		sub.Sockets = others
		return index[clamp(then(sub), len(others))]
	}
}

func clamp(i, n int) int { return min(max(i, 0), n-1) }
