package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/botfleet/botfleet/bots/alerts/internal/am"
	"github.com/botfleet/botfleet/pkg/botkit"
)

// Slack's limits the board keeps under, so that a storm is paced by the bot
// rather than refused by Slack: chat.postMessage takes about one message a
// second per channel (short bursts allowed), and chat.update is of Tier 3,
// 50+ a minute for the whole app.
const (
	DefaultPostInterval    = time.Second
	DefaultUpdatesPerMin   = 40 // under Tier 3's 50, leaving room for other edits
	DefaultUpdateBurst     = 10
	maxThreadLinesPerPost  = 25
	maxHashesPerGroup      = 32
	maxRetryBackoff        = time.Minute
	slackCallTimeout       = 2 * time.Minute // a call's own 429 retries wait out Retry-After
	maxTransitionsPerNotif = 20
)

// limits are the board's pace.
type limits struct {
	postInterval  time.Duration // per channel
	updatesPerMin float64       // app-wide
	updateBurst   float64
}

// group is one Alertmanager alert group, shown as one Slack message that is
// edited as the group changes, its history in the message's thread.
type group struct {
	id          string // short and stable: button values carry it
	key         string // Alertmanager's groupKey
	channel     string
	status      string
	groupLabels map[string]string
	labels      map[string]string // common labels: what a silence of the group matches
	annotations map[string]string // common annotations
	alerts      []am.Alert
	truncated   int
	externalURL string
	ackBy       string
	silences    []silenceNote

	hashes []string // of notifications handled, newest last

	ref      botkit.MessageRef
	version  int // bumped by every change the message shows
	rendered int // the version Slack shows
	pending  []string

	changed time.Time // the last change: resolved groups are forgotten a day after

	busy     bool // a Slack call for it is in flight
	queued   bool // in board.dirty
	retryAt  time.Time
	failures int
}

type silenceNote struct {
	id, by string
	until  time.Time
}

// needs reports whether g has work for Slack.
func (g *group) needs() bool {
	return g.ref.TS == "" || g.rendered < g.version || len(g.pending) > 0
}

// board holds the alert groups and keeps Slack in step with them: one
// message per group, posted, then edited to its latest state (edits of a
// group in between are coalesced), within Slack's limits, every group in
// turn, retrying what fails. It is safe for concurrent use.
type board struct {
	stopped  chan struct{} // closed when run returns, its last save done
	mu       sync.Mutex
	groups   map[string]*group // by groupKey
	byID     map[string]*group
	dirty    []*group // groups with work for Slack, oldest first
	nextPost map[string]time.Time
	tokens   float64
	refilled time.Time
	lim      limits
	now      func() time.Time
	logger   *slog.Logger

	unsaved bool // changed since the state file was written

	wake   chan struct{}
	poster chan botkit.Poster // the transport, once OnStart hands it over

	// Counters for the log and the benchmark.
	posts, updates, threadPosts, failures, duplicates, stale atomic.Int64
}

func newBoard(lim limits, logger *slog.Logger) *board {
	return &board{
		groups: map[string]*group{}, byID: map[string]*group{}, nextPost: map[string]time.Time{},
		tokens: lim.updateBurst, lim: lim, now: time.Now, logger: logger,
		wake: make(chan struct{}, 1), poster: make(chan botkit.Poster, 1), stopped: make(chan struct{}),
	}
}

// groupID is a group's short id: a hash of its key, which may be long.
func groupID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:6])
}

// Results of a notification.
const (
	notifApplied   = "applied"
	notifDuplicate = "duplicate"
	notifStale     = "stale" // older than what the board shows
)

// apply takes a notification routed to channel. A notification that repeats
// one already handled (an HA pair of Alertmanagers sends each twice) changes
// nothing, nor does one all of whose news is older than the board's.
func (bd *board) apply(m *am.Message, channel string) string {
	hash := m.Hash()
	bd.mu.Lock()
	defer bd.mu.Unlock()
	g := bd.groups[m.GroupKey]
	if g == nil {
		g = &group{id: groupID(m.GroupKey), key: m.GroupKey, channel: channel}
		bd.groups[m.GroupKey] = g
		bd.byID[g.id] = g
	}
	if slices.Contains(g.hashes, hash) {
		bd.duplicates.Add(1)
		return notifDuplicate
	}
	g.hashes = append(g.hashes, hash)
	if len(g.hashes) > maxHashesPerGroup {
		g.hashes = g.hashes[1:]
	}

	// Each alert in order (am.Order): a notification that shows an alert
	// older than the board does came late, and changes only the alerts it
	// shows newer; the rest of it is history.
	seen := m.Watermark()
	before := map[string]am.Alert{}
	for _, a := range g.alerts {
		before[a.Fingerprint] = a
	}
	stale, newer := 0, map[string]am.Alert{}
	for _, a := range m.Alerts {
		if cur, ok := before[a.Fingerprint]; ok {
			switch am.Order(cur, a, seen) {
			case -1:
				stale++
			case 1:
				newer[a.Fingerprint] = a
			}
		}
	}
	alerts := slices.Clone(m.Alerts)
	status := m.Status
	if stale > 0 {
		if len(newer) == 0 {
			bd.stale.Add(1)
			return notifStale
		}
		alerts = slices.Clone(g.alerts)
		status = am.Resolved
		for i, a := range alerts {
			if n, ok := newer[a.Fingerprint]; ok {
				alerts[i] = n
			}
			if alerts[i].Status == am.Firing {
				status = am.Firing
			}
		}
	}
	var lines []string
	skipped := 0
	note := func(s string) {
		if len(lines) < maxTransitionsPerNotif {
			lines = append(lines, s)
		} else {
			skipped++
		}
	}
	sortAlerts(alerts)
	for _, a := range alerts {
		switch was, known := before[a.Fingerprint]; {
		case a.Status == am.Firing && !known:
			note("🔥 firing: " + botkit.Escape(describe(a, m.CommonLabels, m.CommonAnnotations)))
		case a.Status == am.Firing && (was.Status == am.Resolved || a.StartsAt.After(was.StartsAt)):
			note("🔁 firing again: " + botkit.Escape(describe(a, m.CommonLabels, m.CommonAnnotations)))
		case a.Status == am.Resolved && was.Status == am.Firing:
			note("✅ resolved: " + botkit.Escape(describe(a, m.CommonLabels, m.CommonAnnotations)))
		}
	}
	if skipped > 0 {
		lines = append(lines, fmt.Sprintf("… and %d more changes", skipped))
	}
	switch {
	case g.status == am.Firing && status == am.Resolved:
		lines = append(lines, "✅ All alerts of the group resolved.")
	case g.status == am.Resolved && status == am.Firing:
		lines = append(lines, "🔥 The group fires again.")
		g.ackBy = "" // a new incident needs a new owner
	}
	g.status, g.alerts = status, alerts
	if stale == 0 {
		g.truncated = m.TruncatedAlerts
		g.groupLabels, g.labels, g.annotations, g.externalURL = m.GroupLabels, m.CommonLabels, m.CommonAnnotations, m.ExternalURL
	}
	if g.ref.TS == "" {
		lines = nil // the first message shows it all
	}
	g.pending = append(g.pending, lines...)
	bd.changedLocked(g)
	return notifApplied
}

// sortAlerts puts firing alerts first, then orders by labels, so that the
// message reads the same whatever order Alertmanager sent.
func sortAlerts(as []am.Alert) {
	slices.SortStableFunc(as, func(a, b am.Alert) int {
		if a.Status != b.Status {
			if a.Status == am.Firing {
				return -1
			}
			return 1
		}
		return cmp.Compare(labelString(a.Labels), labelString(b.Labels))
	})
}

func labelString(ls map[string]string) string {
	keys := make([]string, 0, len(ls))
	for k := range ls {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + ls[k] + ",")
	}
	return b.String()
}

// changedLocked marks g's message out of date.
func (bd *board) changedLocked(g *group) {
	g.version++
	g.changed = bd.now()
	bd.queueLocked(g)
}

func (bd *board) queueLocked(g *group) {
	bd.unsaved = true
	if !g.queued {
		g.queued = true
		bd.dirty = append(bd.dirty, g)
	}
	select {
	case bd.wake <- struct{}{}:
	default:
	}
}

// update changes a group by its id under the board's lock, with a line for
// its thread, and has its message edited. It returns false when no group
// has that id.
func (bd *board) update(id string, line string, f func(g *group)) bool {
	bd.mu.Lock()
	defer bd.mu.Unlock()
	g := bd.byID[id]
	if g == nil {
		return false
	}
	f(g)
	if line != "" && g.ref.TS != "" {
		g.pending = append(g.pending, line)
	}
	bd.changedLocked(g)
	return true
}

// forgetSilence removes the silence id, expired by a command, from the
// messages that show it.
func (bd *board) forgetSilence(id, user string) {
	bd.mu.Lock()
	defer bd.mu.Unlock()
	for _, g := range bd.groups {
		n := len(g.silences)
		g.silences = slices.DeleteFunc(g.silences, func(s silenceNote) bool { return s.id == id })
		if len(g.silences) < n {
			if g.ref.TS != "" {
				g.pending = append(g.pending, "🔔 Silence `"+id+"` expired by <@"+user+">")
			}
			bd.changedLocked(g)
		}
	}
}

// snapshot returns a copy of the group with id, for reading outside the
// lock.
func (bd *board) snapshot(id string) (group, bool) {
	bd.mu.Lock()
	defer bd.mu.Unlock()
	g := bd.byID[id]
	if g == nil {
		return group{}, false
	}
	c := *g
	c.alerts = slices.Clone(g.alerts)
	c.silences = slices.Clone(g.silences)
	return c, true
}

// attach hands the board the transport to post with; run starts once it has
// one.
func (bd *board) attach(p botkit.Poster) {
	select {
	case bd.poster <- p:
	default:
	}
}

// jobKind is the Slack call a job makes.
type jobKind int

const (
	jobPost   jobKind = iota // the group's first message
	jobUpdate                // chat.update to the latest state
	jobThread                // history lines in the thread
)

type job struct {
	g       *group
	kind    jobKind
	msg     botkit.Message
	ref     botkit.MessageRef
	version int
	lines   []string
}

// run keeps Slack in step with the board until ctx ends, with workers
// making calls at once (each may wait out a Retry-After), and, when dir is
// set, keeps the board in dir's state file.
func (bd *board) run(ctx context.Context, workers int, dir string) {
	defer close(bd.stopped)
	var p botkit.Poster
	select {
	case <-ctx.Done():
		return
	case p = <-bd.poster:
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(saveInterval)
		defer t.Stop()
		for {
			done := false
			select {
			case <-ctx.Done():
				done = true
			case <-t.C:
			}
			bd.prune()
			if dir != "" {
				if err := bd.save(dir); err != nil {
					bd.logger.Error("the alert groups are not saved; a restart would post their messages again", "err", err)
				}
			}
			if done {
				return
			}
		}
	})
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				j, wait := bd.next()
				if j == nil {
					t := time.NewTimer(wait)
					select {
					case <-ctx.Done():
					case <-bd.wake:
					case <-t.C:
					}
					t.Stop()
					continue
				}
				bd.do(ctx, p, j)
			}
		})
	}
	wg.Wait()
}

// idleWait is how long a worker sleeps with nothing to do and nothing due.
const idleWait = time.Minute

// next picks the next call: first messages of new groups (so no group waits
// behind another's edits), then edits, then thread lines; among each, the
// group waiting longest. It returns nil and how long to wait when nothing
// may be done now.
func (bd *board) next() (*job, time.Duration) {
	bd.mu.Lock()
	defer bd.mu.Unlock()
	now := bd.now()
	bd.tokens = min(bd.lim.updateBurst, bd.tokens+now.Sub(bd.refilled).Minutes()*bd.lim.updatesPerMin)
	bd.refilled = now
	wait := idleWait
	soon := func(t time.Time) {
		if d := t.Sub(now); d < wait {
			wait = max(d, time.Millisecond)
		}
	}
	live := bd.dirty[:0]
	for _, g := range bd.dirty {
		if g.needs() || g.busy {
			live = append(live, g)
		} else {
			g.queued = false
		}
	}
	clear(bd.dirty[len(live):])
	bd.dirty = live
	for pass := jobPost; pass <= jobThread; pass++ {
		for _, g := range bd.dirty {
			if g.busy {
				continue
			}
			if g.retryAt.After(now) {
				soon(g.retryAt)
				continue
			}
			switch {
			case pass == jobPost && g.ref.TS == "":
				if t := bd.nextPost[g.channel]; t.After(now) {
					soon(t)
					continue
				}
				bd.nextPost[g.channel] = now.Add(bd.lim.postInterval)
				g.busy = true
				return &job{g: g, kind: jobPost, msg: render(g), version: g.version}, 0
			case pass == jobUpdate && g.ref.TS != "" && g.rendered < g.version:
				if bd.tokens < 1 {
					soon(now.Add(time.Duration((1 - bd.tokens) / bd.lim.updatesPerMin * float64(time.Minute))))
					continue
				}
				bd.tokens--
				g.busy = true
				return &job{g: g, kind: jobUpdate, msg: render(g), ref: g.ref, version: g.version}, 0
			case pass == jobThread && g.ref.TS != "" && len(g.pending) > 0:
				if t := bd.nextPost[g.channel]; t.After(now) {
					soon(t)
					continue
				}
				bd.nextPost[g.channel] = now.Add(bd.lim.postInterval)
				n := min(len(g.pending), maxThreadLinesPerPost)
				lines := slices.Clone(g.pending[:n])
				g.pending = g.pending[n:]
				g.busy = true
				return &job{g: g, kind: jobThread, ref: g.ref, lines: lines}, 0
			}
		}
	}
	return nil, wait
}

// do makes j's call and records what became of it: nothing is dropped on a
// failure; the group is retried after a backoff.
func (bd *board) do(ctx context.Context, p botkit.Poster, j *job) {
	cctx, cancel := context.WithTimeout(ctx, slackCallTimeout)
	defer cancel()
	var err error
	var ref botkit.MessageRef
	switch j.kind {
	case jobPost:
		ref, err = p.Post(cctx, j.msg)
		bd.posts.Add(1)
	case jobUpdate:
		err = p.Update(cctx, j.ref, j.msg)
		bd.updates.Add(1)
	case jobThread:
		_, err = p.Post(cctx, botkit.Message{Channel: j.ref.Channel, ThreadTS: j.ref.TS, Text: strings.Join(j.lines, "\n")})
		bd.threadPosts.Add(1)
	}
	bd.mu.Lock()
	defer bd.mu.Unlock()
	g := j.g
	g.busy = false
	bd.unsaved = true
	if err != nil {
		bd.failures.Add(1)
		g.failures++
		backoff := min(time.Duration(1<<min(g.failures, 6))*time.Second, maxRetryBackoff)
		g.retryAt = bd.now().Add(backoff)
		switch {
		case j.kind == jobThread:
			g.pending = append(j.lines, g.pending...)
		case j.kind == jobUpdate && strings.Contains(err.Error(), "message_not_found"):
			// Someone deleted the message: post the group's anew.
			g.ref, g.retryAt = botkit.MessageRef{}, time.Time{}
		}
		bd.logger.Error("updating slack for an alert group; will retry", "group", g.key, "channel", g.channel, "retry_in", backoff, "err", err)
	} else {
		g.failures = 0
		switch j.kind {
		case jobPost:
			g.ref, g.rendered = ref, j.version
			if g.ref.Channel == "" {
				g.ref.Channel = g.channel
			}
		case jobUpdate:
			g.rendered = max(g.rendered, j.version)
		}
	}
	// To the back of the line: every group gets its turn.
	if i := slices.Index(bd.dirty, g); i >= 0 {
		bd.dirty = slices.Delete(bd.dirty, i, i+1)
	}
	g.queued = false
	if g.needs() {
		bd.queueLocked(g)
	}
}

// settled reports whether Slack shows every group as it is, with no call in
// flight.
func (bd *board) settled() bool {
	bd.mu.Lock()
	defer bd.mu.Unlock()
	for _, g := range bd.groups {
		if g.needs() || g.busy {
			return false
		}
	}
	return true
}

// firing returns the groups firing now, for `alerts`.
func (bd *board) firing() []group {
	bd.mu.Lock()
	defer bd.mu.Unlock()
	var out []group
	for _, g := range bd.groups {
		if g.status == am.Firing {
			out = append(out, *g)
		}
	}
	slices.SortFunc(out, func(a, b group) int { return cmp.Compare(a.key, b.key) })
	return out
}
