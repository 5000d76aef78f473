package botkit

import (
	"sync"
	"time"
)

// rateLimiter allows each user at most rate commands in any minute (a
// sliding window); rate 0 turns it off. It is safe for concurrent use.
type rateLimiter struct {
	mu    sync.Mutex
	rate  int
	users map[string][]time.Time // each user's last runs, oldest first
	now   func() time.Time
}

func (l *rateLimiter) setRate(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rate = n
}

// allow records a run by user and reports whether it is within the limit;
// if not, wait says when the user may run again.
func (l *rateLimiter) allow(user string) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rate <= 0 {
		return true, 0
	}
	now := l.now()
	if l.users == nil {
		l.users = map[string][]time.Time{}
	}
	runs := l.users[user]
	for len(runs) > 0 && now.Sub(runs[0]) >= time.Minute {
		runs = runs[1:]
	}
	if len(runs) >= l.rate {
		l.users[user] = runs
		return false, runs[0].Add(time.Minute).Sub(now)
	}
	l.users[user] = append(runs, now)
	if len(l.users) > 10000 {
		l.prune(now)
	}
	return true, 0
}

// prune forgets users idle for a minute, bounding memory.
func (l *rateLimiter) prune(now time.Time) {
	for u, runs := range l.users {
		if len(runs) == 0 || now.Sub(runs[len(runs)-1]) >= time.Minute {
			delete(l.users, u)
		}
	}
}
