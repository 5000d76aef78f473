package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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

	gen        int    // the writes of its file this copy has seen (state dir only)
	leaseOwner string // the process making a Slack call for it (state dir only)
	leaseUntil time.Time

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
	lim      limits // the app's: this process takes 1/share of them
	share    int    // processes sharing the state dir, at least 1 (countProcs)
	now      func() time.Time
	logger   *slog.Logger

	// store, when the config names a state dir, keeps the groups there,
	// each change read from and written to the group's file under its
	// lock, so that processes sharing the dir agree; owner names this
	// process in the groups' leases.
	store *store
	owner string

	wake   chan struct{}
	poster chan botkit.Poster // the transport, once OnStart hands it over

	// Counters for the log and the benchmark.
	posts, updates, threadPosts, failures, duplicates, stale atomic.Int64
}

func newBoard(lim limits, logger *slog.Logger) *board {
	return &board{
		groups: map[string]*group{}, byID: map[string]*group{}, nextPost: map[string]time.Time{},
		tokens: lim.updateBurst, lim: lim, share: 1, now: time.Now, logger: logger,
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
// one already handled (an HA pair of Alertmanagers sends each twice, maybe
// to two processes) changes nothing, nor does one all of whose news is
// older than the board's.
func (bd *board) apply(ctx context.Context, m *am.Message, channel string) (string, error) {
	hash := m.Hash()
	id := groupID(m.GroupKey)
	var result string
	err := bd.edit(ctx, id, func() *group { return &group{id: id, key: m.GroupKey, channel: channel} }, func(g *group) change {
		result = bd.applyLocked(g, m, hash)
		if result == notifDuplicate {
			return unchanged
		}
		return changed
	})
	return result, err
}

func (bd *board) applyLocked(g *group, m *am.Message, hash string) string {
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
	// Kept even before the first message: one being posted shows the
	// group as it was; its post drops the lines it shows (firstPost).
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
	if !g.queued {
		g.queued = true
		bd.dirty = append(bd.dirty, g)
	}
	select {
	case bd.wake <- struct{}{}:
	default:
	}
}

// change is what a change did to a group.
type change int

const (
	unchanged change = iota
	changed
	removed // the group is forgotten
)

var errNoGroup = errors.New("no such alert group")

// edit runs f on group id under the board's lock and, with a state dir,
// under the lock of the group's file too: the group is first read again
// from its file if another process wrote it since, and written back if f
// changed it (or removed if f forgot it). With no such group, mk makes one;
// a nil mk makes edit return errNoGroup.
func (bd *board) edit(ctx context.Context, id string, mk func() *group, f func(g *group) change) error {
	var sg *savedGroup
	if bd.store != nil {
		l, err := bd.store.lock(ctx, id)
		if err != nil {
			return err
		}
		defer l.Release()
		if sg, err = bd.store.read(id); err != nil {
			return err
		}
	}
	bd.mu.Lock()
	g := bd.byID[id]
	if bd.store != nil {
		g = bd.syncLocked(id, g, sg, true)
	}
	if g == nil && mk != nil {
		g = mk()
		bd.groups[g.key], bd.byID[id] = g, g
	}
	if g == nil {
		bd.mu.Unlock()
		return errNoGroup
	}
	c := f(g)
	var out savedGroup
	switch c {
	case changed:
		g.gen++
		out = save(g)
	case removed:
		delete(bd.groups, g.key)
		delete(bd.byID, id)
	}
	bd.mu.Unlock()
	switch {
	case bd.store == nil:
	case c == changed:
		return bd.store.write(id, out)
	case c == removed:
		return bd.store.remove(id)
	}
	return nil
}

// syncLocked brings g, the board's copy of group id (nil: none), in step
// with sg, its file (nil: none), and returns the group (nil: none). Under
// the group's lock (locked) any other write counts; without it only a later
// one, since the file read may already be older than the board's copy.
func (bd *board) syncLocked(id string, g *group, sg *savedGroup, locked bool) *group {
	switch {
	case sg == nil && g != nil && g.gen > 0:
		// Another process forgot it.
		delete(bd.groups, g.key)
		delete(bd.byID, id)
		return nil
	case sg == nil:
		return g
	case g != nil && (g.gen == sg.Gen || !locked && g.gen > sg.Gen):
		return g
	}
	if g == nil {
		g = &group{}
	}
	restore(g, sg)
	bd.groups[g.key], bd.byID[id] = g, g
	if g.needs() {
		bd.queueLocked(g)
	}
	return g
}

// sync reads every group's file, so that the board knows what other
// processes changed and takes up their groups' work for Slack.
func (bd *board) sync(ctx context.Context) error {
	all, err := bd.store.list()
	if err != nil {
		return err
	}
	bd.mu.Lock()
	var gone []string
	for id, sg := range all {
		bd.syncLocked(id, bd.byID[id], sg, false)
	}
	for id := range bd.byID {
		if all[id] == nil {
			gone = append(gone, id)
		}
	}
	bd.mu.Unlock()
	// A group without a file may be one whose first write is under way:
	// only under its lock is a missing file one another process removed.
	for _, id := range gone {
		if err := bd.edit(ctx, id, nil, func(*group) change { return unchanged }); err != nil && !errors.Is(err, errNoGroup) {
			return err
		}
	}
	return nil
}

// update changes a group by its id, with a line for its thread, and has
// its message edited. It returns false when no group has that id.
func (bd *board) update(ctx context.Context, id string, line string, f func(g *group)) bool {
	err := bd.edit(ctx, id, nil, func(g *group) change {
		f(g)
		if line != "" && g.ref.TS != "" {
			g.pending = append(g.pending, line)
		}
		bd.changedLocked(g)
		return changed
	})
	if errors.Is(err, errNoGroup) {
		return false
	}
	if err != nil {
		bd.logger.Error("an alert group's change is not saved", "group", id, "err", err)
	}
	return true
}

// forgetSilence removes the silence id, expired by a command, from the
// messages that show it.
func (bd *board) forgetSilence(ctx context.Context, id, user string) {
	if bd.store != nil {
		if err := bd.sync(ctx); err != nil {
			bd.logger.Error("reading the alert groups", "err", err)
		}
	}
	bd.mu.Lock()
	var ids []string
	for _, g := range bd.groups {
		if slices.ContainsFunc(g.silences, func(s silenceNote) bool { return s.id == id }) {
			ids = append(ids, g.id)
		}
	}
	bd.mu.Unlock()
	for _, gid := range ids {
		err := bd.edit(ctx, gid, nil, func(g *group) change {
			n := len(g.silences)
			g.silences = slices.DeleteFunc(g.silences, func(s silenceNote) bool { return s.id == id })
			if len(g.silences) == n {
				return unchanged
			}
			if g.ref.TS != "" {
				g.pending = append(g.pending, "🔔 Silence `"+id+"` expired by <@"+user+">")
			}
			bd.changedLocked(g)
			return changed
		})
		if err != nil && !errors.Is(err, errNoGroup) {
			bd.logger.Error("an alert group's change is not saved", "group", gid, "err", err)
		}
	}
}

// snapshot returns a copy of the group with id, for reading outside the
// lock; with a state dir, as its file has it now.
func (bd *board) snapshot(id string) (group, bool) {
	var sg *savedGroup
	if bd.store != nil {
		var err error
		if sg, err = bd.store.read(id); err != nil {
			bd.logger.Error("reading an alert group", "group", id, "err", err)
		}
	}
	bd.mu.Lock()
	defer bd.mu.Unlock()
	g := bd.byID[id]
	if bd.store != nil {
		g = bd.syncLocked(id, g, sg, false)
	}
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
	id, key string // g's, for use outside the board's lock
	kind    jobKind
	msg     botkit.Message
	ref     botkit.MessageRef
	version int
	lines   []string
}

// run keeps Slack in step with the board until ctx ends, with workers
// making calls at once (each may wait out a Retry-After); it forgets old
// resolved groups, and with a state dir reads what other processes changed.
func (bd *board) run(ctx context.Context, workers int) {
	defer close(bd.stopped)
	var p botkit.Poster
	select {
	case <-ctx.Done():
		return
	case p = <-bd.poster:
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(syncInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			bd.prune(ctx)
			if bd.store == nil {
				continue
			}
			if err := bd.sync(ctx); err != nil && ctx.Err() == nil {
				bd.logger.Error("reading the alert groups other processes changed", "err", err)
			}
			bd.countProcs()
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
	if bd.store != nil {
		bd.store.proc.Release() // the others take its share
	}
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
	share := float64(max(bd.share, 1))
	perMin, burst := bd.lim.updatesPerMin/share, max(bd.lim.updateBurst/share, 1)
	postInterval := bd.lim.postInterval * time.Duration(max(bd.share, 1))
	bd.tokens = min(burst, bd.tokens+now.Sub(bd.refilled).Minutes()*perMin)
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
				bd.nextPost[g.channel] = now.Add(postInterval)
				g.busy = true
				j := &job{g: g, id: g.id, key: g.key, kind: jobPost}
				if bd.store == nil { // else claim fills it in
					firstPost(j, g)
				}
				return j, 0
			case pass == jobUpdate && g.ref.TS != "" && g.rendered < g.version:
				if bd.tokens < 1 {
					soon(now.Add(time.Duration((1 - bd.tokens) / perMin * float64(time.Minute))))
					continue
				}
				bd.tokens--
				g.busy = true
				j := &job{g: g, id: g.id, key: g.key, kind: jobUpdate}
				if bd.store == nil {
					j.msg, j.ref, j.version = render(g), g.ref, g.version
				}
				return j, 0
			case pass == jobThread && g.ref.TS != "" && len(g.pending) > 0:
				if t := bd.nextPost[g.channel]; t.After(now) {
					soon(t)
					continue
				}
				bd.nextPost[g.channel] = now.Add(postInterval)
				g.busy = true
				j := &job{g: g, id: g.id, key: g.key, kind: jobThread}
				if bd.store == nil {
					j.ref, j.lines = g.ref, takeLines(g)
				}
				return j, 0
			}
		}
	}
	return nil, wait
}

// firstPost fills in j, the first message of g: it shows the group as it
// is, so the thread lines so far are dropped.
func firstPost(j *job, g *group) {
	j.msg, j.version = render(g), g.version
	g.pending = nil
}

// takeLines takes the next thread lines of g to post.
func takeLines(g *group) []string {
	n := min(len(g.pending), maxThreadLinesPerPost)
	lines := slices.Clone(g.pending[:n])
	g.pending = g.pending[n:]
	return lines
}

// leaseRetry is how soon a group whose Slack work another process holds is
// tried again: the other's lease ends with its call, well before leaseTime.
const leaseRetry = time.Second

// claim, with a state dir, takes group j.g's lease for j's call and fills
// j in from the group as its file has it. It returns false when j is no
// longer needed (another process did it) or another process holds the
// lease.
func (bd *board) claim(ctx context.Context, j *job) (bool, error) {
	ok := false
	err := bd.edit(ctx, j.id, nil, func(g *group) change {
		now := bd.now()
		if g.leaseOwner != "" && g.leaseOwner != bd.owner && now.Before(g.leaseUntil) {
			g.retryAt = now.Add(leaseRetry)
			return unchanged
		}
		switch {
		case j.kind == jobPost && g.ref.TS == "":
			firstPost(j, g)
		case j.kind == jobUpdate && g.ref.TS != "" && g.rendered < g.version:
			j.msg, j.ref, j.version = render(g), g.ref, g.version
		case j.kind == jobThread && g.ref.TS != "" && len(g.pending) > 0:
			j.ref, j.lines = g.ref, takeLines(g)
		default:
			return unchanged
		}
		g.leaseOwner, g.leaseUntil = bd.owner, now.Add(leaseTime)
		j.g, ok = g, true
		return changed
	})
	return ok, err
}

// do makes j's call and records what became of it: nothing is dropped on a
// failure; the group is retried after a backoff.
func (bd *board) do(ctx context.Context, p botkit.Poster, j *job) {
	if bd.store != nil {
		ok, err := bd.claim(ctx, j)
		if err != nil && ctx.Err() == nil {
			bd.logger.Error("reading an alert group; will retry", "group", j.key, "err", err)
		}
		if !ok {
			bd.mu.Lock()
			defer bd.mu.Unlock()
			j.g.busy = false
			if err != nil {
				j.g.retryAt = bd.now().Add(leaseRetry)
			}
			bd.requeueLocked(j.g)
			return
		}
	}
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
	if err != nil {
		bd.failures.Add(1)
	}
	// What Slack did is saved even when the bot is stopping: a message
	// posted and not saved would be posted again.
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer scancel()
	serr := bd.edit(sctx, j.id, nil, func(g *group) change {
		bd.recordLocked(g, j, ref, err)
		return changed
	})
	if serr != nil && !errors.Is(serr, errNoGroup) {
		bd.logger.Error("the result of a Slack call for an alert group is not saved", "group", j.key, "err", serr)
	}
	bd.mu.Lock()
	defer bd.mu.Unlock()
	j.g.busy = false
	bd.requeueLocked(j.g)
}

// recordLocked records what became of j's call on g.
func (bd *board) recordLocked(g *group, j *job, ref botkit.MessageRef, err error) {
	g.busy = false
	if g.leaseOwner == bd.owner {
		g.leaseOwner, g.leaseUntil = "", time.Time{}
	}
	if err != nil {
		g.failures++
		backoff := min(time.Duration(1<<min(g.failures, 6))*time.Second, maxRetryBackoff)
		g.retryAt = bd.now().Add(backoff)
		switch {
		case j.kind == jobThread:
			g.pending = append(slices.Clone(j.lines), g.pending...)
		case j.kind == jobUpdate && strings.Contains(err.Error(), "message_not_found"):
			// Someone deleted the message: post the group's anew.
			g.ref, g.retryAt = botkit.MessageRef{}, time.Time{}
		}
		bd.logger.Error("updating slack for an alert group; will retry", "group", g.key, "channel", g.channel, "retry_in", backoff, "err", err)
		return
	}
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

// requeueLocked puts g at the back of the line if it has work: every group
// gets its turn.
func (bd *board) requeueLocked(g *group) {
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

// prune forgets the resolved groups Slack shows as such for longer than
// resolvedTTL, so that the board does not grow without bound.
func (bd *board) prune(ctx context.Context) {
	bd.mu.Lock()
	var ids []string
	for id, g := range bd.byID {
		if bd.prunable(g) {
			ids = append(ids, id)
		}
	}
	bd.mu.Unlock()
	for _, id := range ids {
		err := bd.edit(ctx, id, nil, func(g *group) change {
			if bd.prunable(g) {
				return removed
			}
			return unchanged
		})
		if err != nil && !errors.Is(err, errNoGroup) && ctx.Err() == nil {
			bd.logger.Error("forgetting a resolved alert group", "group", id, "err", err)
		}
	}
}

func (bd *board) prunable(g *group) bool {
	return g.status == am.Resolved && !g.needs() && !g.busy && bd.now().Sub(g.changed) > resolvedTTL
}
