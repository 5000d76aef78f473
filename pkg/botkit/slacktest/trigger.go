package slacktest

import (
	"fmt"
	"regexp"
	"time"
)

// TriggerExpiry is how long a trigger_id can open or push a view: Slack's
// modal guide gives three seconds from the interaction that carried it
// ("trigger_ids expire 3 seconds after they're sent to your app"), and a
// trigger opens one view only. WithTriggerExpiry changes it for tests that
// should not wait three seconds.
const TriggerExpiry = 3 * time.Second

// WithTriggerExpiry sets how long the trigger_ids the fake issues stay valid
// (see TriggerExpiry). It panics if d is not positive.
func WithTriggerExpiry(d time.Duration) Option {
	if d <= 0 {
		panic("slacktest: WithTriggerExpiry needs a positive duration")
	}
	return func(c *config) { c.triggerExpiry = d }
}

// trigger is a trigger_id the fake issued with an interaction.
type trigger struct {
	user   string    // who interacted: views.open opens the modal for them
	issued time.Time // the payload carrying it was built
	used   bool      // exchanged by a views.open or views.push that succeeded
}

// triggerFormat is the shape Slack documents for trigger_id
// ("132456.7890123.abcdef"); anything else is invalid_trigger_id at once.
var triggerFormat = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9a-f]+$`)

// triggerLocked issues a fresh trigger_id for an interaction by user.
func (s *Server) triggerLocked(user string) string {
	n := s.nextLocked()
	id := fmt.Sprintf("%d.%d.%012x", n, 1700000000+n, uint64(n)*0x9e3779b97f4a7c15>>16)
	s.triggers[id] = &trigger{user: user, issued: time.Now()}
	return id
}

// exchangeLocked checks a trigger_id for views.open or views.push and
// returns it, or the Slack error: invalid_trigger_id for one the fake never
// issued, exchanged_trigger_id for one a view was already opened with, and
// expired_trigger_id once TriggerExpiry has passed. The caller marks it used
// when the call succeeds.
func (s *Server) exchangeLocked(id string) (*trigger, string) {
	tr := s.triggers[id]
	switch {
	case !triggerFormat.MatchString(id) || tr == nil:
		return nil, "invalid_trigger_id"
	case tr.used:
		return nil, "exchanged_trigger_id"
	case time.Since(tr.issued) > s.cfg.triggerExpiry:
		return nil, "expired_trigger_id"
	}
	return tr, ""
}
