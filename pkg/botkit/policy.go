package botkit

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// policy is the one place the bot's settings are applied: the access
// middleware, the rate limit middleware, confirmation and the help filter
// all ask it, so help never lists what access would refuse. It is safe for
// concurrent use.
type policy struct {
	settings atomic.Pointer[compiled] // swapped whole on reload
	groups   groupCache
	limiter  rateLimiter
	logger   *slog.Logger
	// changed is closed, and replaced, when settings are stored: a job
	// waiting for its next tick wakes to read its cron expression again.
	changed atomic.Pointer[chan struct{}]
}

func newPolicy(b *Bot, now func() time.Time, logger *slog.Logger) *policy {
	p := &policy{logger: logger}
	p.groups.now, p.limiter.now = now, now
	c, _ := b.compileSettings(Settings{}) // empty settings always compile
	p.settings.Store(c)
	ch := make(chan struct{})
	p.changed.Store(&ch)
	return p
}

func (p *policy) load() *compiled { return p.settings.Load() }

func (p *policy) store(c *compiled) {
	p.settings.Store(c)
	p.limiter.setRate(c.RateLimit.PerMinute)
	ch := make(chan struct{})
	close(*p.changed.Swap(&ch))
}

// changes returns a channel closed when settings are next stored: read it
// before load, so that no change falls between.
func (p *policy) changes() <-chan struct{} { return *p.changed.Load() }

// GroupResolver is implemented by transports that can list a Slack user
// group's members (usergroups.users.list).
type GroupResolver interface {
	GroupMembers(ctx context.Context, groupID string) ([]string, error)
}

// groupTTL is how long a group's members are cached: short, so removing
// someone from a group takes effect within a minute.
const groupTTL = time.Minute

type groupCache struct {
	mu      sync.Mutex
	entries map[string]groupEntry
	now     func() time.Time
}

type groupEntry struct {
	members []string
	at      time.Time
}

// members returns the group's members, asking Slack when the cache is stale.
func (c *groupCache) members(ctx context.Context, tr Transport, id string) ([]string, error) {
	c.mu.Lock()
	e, ok := c.entries[id]
	c.mu.Unlock()
	if ok && c.now().Sub(e.at) < groupTTL {
		return e.members, nil
	}
	r, isResolver := tr.(GroupResolver)
	if !isResolver {
		return nil, fmt.Errorf("this transport cannot look up user group %s", id)
	}
	members, err := r.GroupMembers(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("listing members of user group %s: %w", id, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]groupEntry{}
	}
	c.entries[id] = groupEntry{members: members, at: c.now()}
	return members, nil
}

// decision is the outcome of the access check of one run.
type decision struct {
	allowed bool
	rule    *Rule  // the rule that decided; nil for the default policy
	confirm *Rule  // an allowing rule that wants a confirmation
	reason  string // for the user, when denied
	failed  bool   // a group lookup failed, so the check could not allow
}

// Decisions, the values of botkit_access_decisions_total's decision label
// and of the audit line's decision.
const (
	decisionAllow        = "allow"
	decisionDeny         = "deny"
	decisionError        = "error" // group lookup failed: denied
	decisionRateLimited  = "rate_limited"
	decisionNotConfirmed = "not_confirmed"
)

func (d decision) label() string {
	switch {
	case d.allowed:
		return decisionAllow
	case d.failed:
		return decisionError
	}
	return decisionDeny
}

// decide applies the access rules to a run of cmd with args (canonical
// values) by user in channel. A failed group lookup denies (fails closed).
func (p *policy) decide(ctx context.Context, tr Transport, cmd *Command, args []string, user, channel string) decision {
	c := p.load()
	var applicable []*Rule
	most := -1
	for i := range c.rules {
		r := &c.rules[i]
		want, ok := r.args[cmd]
		if !ok || !argsEqual(want, args) {
			continue
		}
		switch n := len(want); {
		case n > most:
			applicable, most = []*Rule{r.Rule}, n
		case n == most:
			applicable = append(applicable, r.Rule)
		}
	}
	if len(applicable) == 0 {
		if c.Access.Default == PolicyDeny {
			return decision{reason: "`" + cmd.Name() + "` is not open to anyone by default and no rule allows it." + contact(&c.Settings, nil)}
		}
		return decision{allowed: true}
	}
	var lookupErr error
	var admitting []*Rule
	for _, r := range applicable {
		ok, err := p.admits(ctx, tr, r, user, channel)
		if err != nil {
			lookupErr = err
			continue
		}
		if ok {
			admitting = append(admitting, r)
		}
	}
	if len(admitting) > 0 {
		// The strictest of the rules that admit the user holds, whatever
		// their order: adding a rule that asks for an approval must not
		// leave a way around it.
		d := decision{allowed: true, rule: admitting[0]}
		for _, r := range admitting {
			if r.Confirm && d.confirm == nil {
				d.confirm = r
			}
			if r.Approve != nil && d.rule.Approve == nil {
				d.rule = r
			}
		}
		return d
	}
	r := applicable[0]
	if lookupErr != nil {
		p.logger.Warn("access check failed; denying", "command", cmd.Name(), "user", user, "err", lookupErr)
		return decision{rule: r, failed: true, reason: "I couldn't check your access to `" + cmd.Name() + "` (Slack didn't answer); try again in a moment."}
	}
	return decision{rule: r, reason: "You may not run this: access rule `" + Escape(r.Name) + "` does not include you" + where(r) + "." + contact(&c.Settings, r)}
}

// argsEqual reports whether the run's arguments have the rule's values. Both
// are canonical, so they compare byte for byte.
func argsEqual(want []ruleArg, args []string) bool {
	for _, a := range want {
		if args[a.index] != a.value {
			return false
		}
	}
	return true
}

// admits reports whether r lets user run in channel.
func (p *policy) admits(ctx context.Context, tr Transport, r *Rule, user, channel string) (bool, error) {
	principals := len(r.Users) > 0 || len(r.Groups) > 0
	if !principals && len(r.Channels) == 0 {
		return r.Approve != nil, nil // approvers decide
	}
	if len(r.Channels) > 0 && !slices.Contains(r.Channels, channel) {
		return false, nil
	}
	if !principals || slices.Contains(r.Users, user) {
		return true, nil
	}
	var firstErr error
	for _, g := range r.Groups {
		members, err := p.groups.members(ctx, tr, g)
		if err != nil {
			firstErr = err
			continue
		}
		if slices.Contains(members, user) {
			return true, nil
		}
	}
	return false, firstErr
}

func where(r *Rule) string {
	if len(r.Channels) > 0 && len(r.Users) == 0 && len(r.Groups) == 0 {
		return " in this channel"
	}
	return ""
}

func contact(s *Settings, r *Rule) string {
	c := s.Access.Contact
	if r != nil && r.Contact != "" {
		c = r.Contact
	}
	if c == "" {
		return ""
	}
	return " Ask " + c + " for access."
}

// mayList reports whether help should show cmd to user: false only when the
// user could not run it with any arguments.
func (p *policy) mayList(ctx context.Context, tr Transport, cmd *Command, user, channel string) bool {
	c := p.load()
	var named []*Rule
	for i := range c.rules {
		if strings.EqualFold(c.rules[i].Command, cmd.Name()) {
			named = append(named, c.rules[i].Rule)
		}
	}
	if len(named) == 0 {
		return c.Access.Default != PolicyDeny
	}
	generic := false
	for _, r := range named {
		if len(r.Args) == 0 {
			generic = true
		}
		if ok, _ := p.admits(ctx, tr, r, user, channel); ok {
			return true
		}
	}
	// Only argument-specific rules: other arguments fall to the default.
	return !generic && c.Access.Default != PolicyDeny
}
