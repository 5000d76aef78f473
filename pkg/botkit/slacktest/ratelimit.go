package slacktest

import (
	"fmt"
	"math"
	"net/url"
	"time"
)

// Limit is a Web API rate limit the fake enforces once WithRateLimits is
// given: a token bucket per method (per method and channel if PerChannel)
// that holds Burst calls and refills at PerMinute calls a minute. A call
// that finds it empty is answered as Slack answers: 429 Too Many Requests,
// Retry-After in whole seconds, {"ok":false,"error":"ratelimited"}.
type Limit struct {
	Method     string
	PerMinute  int  // 0 lifts the method's limit
	Burst      int  // calls the bucket holds; at least 1 when PerMinute > 0
	PerChannel bool // one bucket per channel parameter, as chat.postMessage's limit is per channel
}

// Slack's tiers (docs.slack.dev/apis/web-api/rate-limits), applied "per API
// method per workspace per app": Tier 1 1+ per minute ("a small amount of
// burst behavior is tolerated"), Tier 2 20+, Tier 3 50+, Tier 4 100+
// ("generous burst behavior"). Slack gives no bucket sizes: the fake lets a
// tier's whole minute go in one burst, except Tier 1, which holds 3.
const (
	tier1, tier1Burst = 1, 3
	tier2             = 20
	tier3             = 50
	tier4             = 100
	// chat.postMessage is of Slack's special tier: "one message per second
	// per channel", "short bursts >1 allowed" (how many is not said: the
	// fake allows 3), besides a workspace-wide limit Slack does not size
	// and the fake does not enforce.
	postPerMinute, postBurst = 60, 3
)

// DefaultLimits returns the limits WithRateLimits enforces: each method the
// fake serves at the tier its reference page gives (auth.test and api.test,
// of Slack's special and unlisted tiers, are not limited).
func DefaultLimits() []Limit {
	tier := func(perMinute, burst int, methods ...string) []Limit {
		var out []Limit
		for _, m := range methods {
			out = append(out, Limit{Method: m, PerMinute: perMinute, Burst: burst})
		}
		return out
	}
	var out []Limit
	out = append(out, tier(tier1, tier1Burst, "apps.connections.open")...)
	out = append(out, tier(tier2, tier2, "usergroups.users.list")...)
	out = append(out, tier(tier3, tier3, "chat.update", "chat.delete", "reactions.add", "conversations.info", "conversations.replies")...)
	out = append(out, tier(tier4, tier4, "chat.postEphemeral", "users.info", "files.getUploadURLExternal", "files.completeUploadExternal",
		"views.open", "views.push", "views.update", "views.publish")...)
	return append(out, Limit{Method: "chat.postMessage", PerMinute: postPerMinute, Burst: postBurst, PerChannel: true})
}

// WithRateLimits makes the fake enforce Slack's per-method rate limits,
// DefaultLimits with overrides replacing (or adding) the limits of their
// methods. Without it no call is rate limited, except by RateLimit and
// Inject. Calls refused count in RateLimited. It panics on an override with
// a negative PerMinute, or a positive one with a Burst below 1.
func WithRateLimits(overrides ...Limit) Option {
	limits := map[string]Limit{}
	for _, l := range DefaultLimits() {
		limits[l.Method] = l
	}
	for _, l := range overrides {
		if l.PerMinute < 0 || (l.PerMinute > 0 && l.Burst < 1) {
			panic(fmt.Sprintf("slacktest: WithRateLimits: bad limit %+v", l))
		}
		if l.PerMinute == 0 {
			delete(limits, l.Method)
			continue
		}
		limits[l.Method] = l
	}
	return func(c *config) { c.limits = limits }
}

// limiter holds the token buckets. Guarded by Server.mu.
type limiter struct {
	limits  map[string]Limit
	buckets map[string]*bucket
	limited map[string]int
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(limits map[string]Limit) *limiter {
	if limits == nil {
		return nil
	}
	return &limiter{limits: limits, buckets: map[string]*bucket{}, limited: map[string]int{}}
}

// take takes a call of method with params from its bucket; if the bucket
// is empty it returns how many whole seconds until it holds a call again.
func (l *limiter) take(method string, p url.Values, now time.Time) (retryAfter int, limited bool) {
	if l == nil {
		return 0, false
	}
	lim, ok := l.limits[method]
	if !ok {
		return 0, false
	}
	key := method
	if lim.PerChannel {
		key += " " + p.Get("channel")
	}
	perSecond := float64(lim.PerMinute) / 60
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: float64(lim.Burst), last: now}
		l.buckets[key] = b
	}
	b.tokens = min(float64(lim.Burst), b.tokens+now.Sub(b.last).Seconds()*perSecond)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, false
	}
	l.limited[method]++
	return max(1, int(math.Ceil((1-b.tokens)/perSecond))), true
}

// RateLimited returns how many calls of method (of every method if empty)
// the limits of WithRateLimits refused.
func (s *Server) RateLimited(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limiter == nil {
		return 0
	}
	if method != "" {
		return s.limiter.limited[method]
	}
	n := 0
	for _, c := range s.limiter.limited {
		n += c
	}
	return n
}
