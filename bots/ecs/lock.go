package main

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/botfleet/botfleet/pkg/botkit"
)

// change is a deploy, rollback or scale of one service under way: what the
// second person to ask is told.
type change struct {
	User    string // Slack user ID of who asked
	Action  string // mrkdwn, for people: "deploying `v2`", "scaling to 4 tasks"
	Since   time.Time
	Channel string // where it was asked; its replies are in that thread
	// Progress is the text of its progress message, once there is one.
	Progress string
}

// locker lets one change of a service run at a time, so that two deploys
// cannot both register a task definition and update the service. The bot
// runs one replica, so memLocks, in-process, is enough today; the jobs of
// issue 17 (one per lock key across processes, by a lock on EFS) take its
// place behind this interface.
type locker interface {
	// take returns a lease on key for c, or, when another change holds
	// key, nil and a copy of that change.
	take(key string, c change) (lease, *change)
}

// lease is a held lock of a service.
type lease interface {
	// report records the change's latest progress, for whoever is refused.
	report(progress string)
	// release lets the next change of the service run. It is idempotent.
	release()
}

// memLocks is a locker in memory. It is safe for concurrent use.
type memLocks struct {
	mu   sync.Mutex
	held map[string]*change
}

func newMemLocks() *memLocks { return &memLocks{held: map[string]*change{}} }

func (m *memLocks) take(key string, c change) (lease, *change) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if h, ok := m.held[key]; ok {
		cp := *h
		return nil, &cp
	}
	m.held[key] = &c
	return &memLease{m: m, key: key, c: &c}, nil
}

type memLease struct {
	m    *memLocks
	key  string
	c    *change
	once sync.Once
}

func (l *memLease) report(progress string) {
	l.m.mu.Lock()
	defer l.m.mu.Unlock()
	l.c.Progress = progress
}

func (l *memLease) release() {
	l.once.Do(func() {
		l.m.mu.Lock()
		defer l.m.mu.Unlock()
		if l.m.held[l.key] == l.c {
			delete(l.m.held, l.key)
		}
	})
}

// lockKey names a service across environments: two environments of the
// config may name one cluster.
func lockKey(e *Environment, svc *Service) string {
	return e.Region + "/" + e.Cluster + "/" + svc.Name
}

// busy is the answer to a change of a service that another holds: who,
// doing what, since when, and where to follow it.
func busy(svc *Service, env string, h *change, now time.Time) error {
	var b strings.Builder
	fmt.Fprintf(&b, "`%s` in %s is busy: <@%s> is %s, since %s UTC (%s ago)", svc.Name, env, h.User, h.Action,
		h.Since.UTC().Format("15:04:05"), now.Sub(h.Since).Round(time.Second))
	switch {
	case strings.HasPrefix(h.Channel, "D"):
		b.WriteString(", in a direct message with me")
	case h.Channel != "":
		fmt.Fprintf(&b, ", in <#%s>", h.Channel)
	}
	b.WriteString(".")
	if h.Progress != "" {
		b.WriteString("\nIts progress: " + h.Progress)
	}
	fmt.Fprintf(&b, "\nTry again when it is done; `status %s` shows the service.", svc.Name)
	return botkit.Userf("%s", b.String())
}
