package botkit

import (
	"math/rand/v2"
	"time"
)

// takeovers takes over, every inboxScanEvery or so, the unfinished events
// of processes that died, until stop is closed.
func (s *session) takeovers(stop <-chan struct{}) {
	for {
		s.takeOver()
		// Jittered, so that processes started together do not scan in
		// step.
		wait := inboxScanEvery/2 + rand.N(inboxScanEvery)
		select {
		case <-stop:
			return
		case <-time.After(wait):
		}
	}
}

// takeOver runs one scan: the events it took over are queued past the
// queue's bounds (they are few, and were acked long ago); one older than
// inboxRunWithin is not run, and its author is told to send it again.
func (s *session) takeOver() {
	rt := s.rt
	for _, o := range s.inbox.takeover(inboxTakeMax) {
		rt.metrics.events.Counter(eventTakenOver).Inc()
		ev := o.ev
		rt.seen.first(ev.ID)
		if rt.now().Sub(o.received) > inboxRunWithin {
			rt.logger.Warn("an event taken over from a dead process is too old to run", "event_id", ev.ID, "received", o.received)
			s.async(ev, func() {
				if ev.Kind != KindWebhook {
					s.post(s.ctx, ev, "I restarted before I could run that, and it is too late now; send it again if it still matters.")
				}
				ev.inbox.finish()
				s.done(ev)
			})
			continue
		}
		s.enqueue(ev, true)
	}
}
