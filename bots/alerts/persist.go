package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/botfleet/botfleet/bots/alerts/internal/am"
	"github.com/botfleet/botfleet/pkg/atomicfile"
	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/flock"
	"github.com/botfleet/botfleet/pkg/procs"
)

// The state dir holds one file per group, groups/<group id>.json, so that
// two processes sharing the dir (two replicas, or a rolling deploy's old
// and new pod, on EFS) change a group one at a time: each change reads the
// group's file, changes it and writes it back under an flock of
// locks/<first two hex digits of the id>.lock. Lock files are never
// removed (removing a lock file someone holds would let a third process
// lock a new file of the same name), so they are striped: 256 at most.
const (
	groupsDir = "groups"
	locksDir  = "locks"
	// procsDir holds a lock per running process (package procs): how
	// many share the app's Slack limits.
	procsDir = "procs"
	// legacyFile is the single file of every group that earlier versions
	// kept; setup moves its groups into groupsDir.
	legacyFile = "groups.json"
)

// syncInterval is how often a board reads the groups other processes
// changed: their changes reach this process's memory (the `alerts`
// command, a click) within it, and a group another process left with work
// for Slack (it stopped, or its lease ran out) is taken up.
const syncInterval = 2 * time.Second

// leaseTime is how long a process may hold a group's Slack work: a little
// over a Slack call's timeout, so that a call never outlives its lease.
const leaseTime = slackCallTimeout + 15*time.Second

// lockPoll is how often a change waits again for a group's lock.
const lockPoll = 2 * time.Millisecond

// resolvedTTL is how long a resolved group is kept once Slack shows it:
// Alertmanager stops notifying a resolved group, and a group that fires
// again after a day is a new incident with a new message.
const resolvedTTL = 24 * time.Hour

// savedGroup is a group as its file holds it.
type savedGroup struct {
	Key         string            `json:"key"`
	Channel     string            `json:"channel"`
	Status      string            `json:"status"`
	GroupLabels map[string]string `json:"group_labels,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Alerts      []am.Alert        `json:"alerts,omitempty"`
	Truncated   int               `json:"truncated,omitempty"`
	AckBy       string            `json:"ack_by,omitempty"`
	Silences    []savedSilence    `json:"silences,omitempty"`
	Hashes      []string          `json:"hashes,omitempty"`
	TS          string            `json:"ts,omitempty"`
	Version     int               `json:"version,omitempty"`  // bumped by every change the message shows
	Rendered    int               `json:"rendered,omitempty"` // the version Slack shows
	Stale       bool              `json:"stale,omitempty"`    // legacyFile's: Slack does not show its last state yet
	Pending     []string          `json:"pending,omitempty"`
	Changed     time.Time         `json:"changed"`
	// Gen counts the writes of the file: a process whose copy has another
	// reads the file again.
	Gen int `json:"gen"`
	// Lease is the process making a Slack call for the group, until when:
	// no other process makes one meanwhile.
	LeaseOwner string    `json:"lease_owner,omitempty"`
	LeaseUntil time.Time `json:"lease_until,omitzero"`
}

type savedSilence struct {
	ID    string    `json:"id"`
	By    string    `json:"by"`
	Until time.Time `json:"until"`
}

// save returns g as its file holds it.
func save(g *group) savedGroup {
	sg := savedGroup{Key: g.key, Channel: g.channel, Status: g.status, GroupLabels: g.groupLabels, Labels: g.labels,
		Annotations: g.annotations, Alerts: g.alerts, Truncated: g.truncated, AckBy: g.ackBy, Hashes: g.hashes,
		TS: g.ref.TS, Version: g.version, Rendered: g.rendered, Pending: g.pending, Changed: g.changed, Gen: g.gen,
		LeaseOwner: g.leaseOwner, LeaseUntil: g.leaseUntil}
	for _, s := range g.silences {
		sg.Silences = append(sg.Silences, savedSilence{ID: s.id, By: s.by, Until: s.until})
	}
	return sg
}

// restore sets g's saved fields from sg, keeping what only this process
// knows (its calls in flight, its retries).
func restore(g *group, sg *savedGroup) {
	g.id, g.key, g.channel, g.status = groupID(sg.Key), sg.Key, sg.Channel, sg.Status
	g.groupLabels, g.labels, g.annotations = sg.GroupLabels, sg.Labels, sg.Annotations
	g.alerts, g.truncated, g.ackBy, g.hashes = sg.Alerts, sg.Truncated, sg.AckBy, sg.Hashes
	g.ref = botkit.MessageRef{}
	if sg.TS != "" {
		g.ref = botkit.MessageRef{Channel: sg.Channel, TS: sg.TS}
	}
	g.version, g.rendered = sg.Version, sg.Rendered
	if g.version == 0 { // legacyFile's
		g.version, g.rendered = 1, 1
		if sg.Stale {
			g.rendered = 0
		}
	}
	g.pending, g.changed, g.gen = sg.Pending, sg.Changed, sg.Gen
	g.leaseOwner, g.leaseUntil = sg.LeaseOwner, sg.LeaseUntil
	g.silences = nil
	for _, s := range sg.Silences {
		g.silences = append(g.silences, silenceNote{id: s.ID, by: s.By, until: s.Until})
	}
}

// store keeps the groups in a state dir, shared with other processes.
type store struct {
	dir   string
	locks flock.Set
	proc  *procs.Held // this process's lock in procsDir
}

func (s *store) path(id string) string { return filepath.Join(s.dir, groupsDir, id+".json") }

// lock takes the lock of group id's file, waiting for another process
// (or another goroutine of this one) to release it.
func (s *store) lock(ctx context.Context, id string) (*flock.Lock, error) {
	return s.locks.Wait(ctx, filepath.Join(s.dir, locksDir, id[:2]+".lock"), lockPoll)
}

// read returns group id's file, nil when there is none.
func (s *store) read(id string) (*savedGroup, error) {
	return readGroup(s.path(id))
}

func readGroup(path string) (*savedGroup, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading an alert group: %w", err)
	}
	var sg savedGroup
	if err := json.Unmarshal(b, &sg); err != nil {
		return nil, fmt.Errorf("reading the alert group of %s: %w", path, err)
	}
	return &sg, nil
}

func (s *store) write(id string, sg savedGroup) error {
	b, err := json.Marshal(sg)
	if err != nil {
		return fmt.Errorf("saving alert group %s: %w", id, err)
	}
	if err := atomicfile.Write(s.path(id), b, 0o600); err != nil {
		return fmt.Errorf("saving alert group %s: %w", id, err)
	}
	return nil
}

func (s *store) remove(id string) error {
	if err := os.Remove(s.path(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing alert group %s: %w", id, err)
	}
	return nil
}

// list returns the groups' files, by group id.
func (s *store) list() (map[string]*savedGroup, error) {
	entries, err := os.ReadDir(filepath.Join(s.dir, groupsDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing the alert groups: %w", err)
	}
	out := map[string]*savedGroup{}
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() {
			continue // atomicfile's temporary files
		}
		sg, err := readGroup(filepath.Join(s.dir, groupsDir, e.Name()))
		if err != nil {
			return nil, err
		}
		if sg != nil {
			out[id] = sg
		}
	}
	return out, nil
}

// open makes the state dir's directories and moves the groups of
// legacyFile, if any, into their own files.
func (s *store) open(ctx context.Context) error {
	for _, d := range []string{groupsDir, locksDir} {
		if err := os.MkdirAll(filepath.Join(s.dir, d), 0o750); err != nil {
			return fmt.Errorf("making the state dir: %w", err)
		}
	}
	legacy := filepath.Join(s.dir, legacyFile)
	b, err := os.ReadFile(legacy)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the alert groups: %w", err)
	}
	var groups []savedGroup
	if err := json.Unmarshal(b, &groups); err != nil {
		return fmt.Errorf("reading the alert groups of %s: %w", legacy, err)
	}
	for _, sg := range groups {
		id := groupID(sg.Key)
		l, err := s.lock(ctx, id)
		if err != nil {
			return err
		}
		cur, err := s.read(id)
		if err == nil && cur == nil {
			err = s.write(id, sg)
		}
		l.Release()
		if err != nil {
			return err
		}
	}
	if err := os.Remove(legacy); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing %s: %w", legacy, err)
	}
	return nil
}

// stateSubdir is the bot's directory in its state directory
// (BOT_STATE_DIR), beside botkit's own (inbox/, interactions/, ...).
const stateSubdir = "alerts"

// moveOldLayout moves the groups that the old config key state_dir kept at
// the top of the state directory (in a pod both are /efs/state/alerts) into
// dir, once: a rename on one file system, so no group is read twice or
// lost. A process of the old version still running (a rolling deploy's old
// pod) fails its next write there and logs it; its groups are then here.
func moveOldLayout(stateDir, dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	var olds []string
	for _, name := range []string{groupsDir, legacyFile} {
		if _, err := os.Stat(filepath.Join(stateDir, name)); err == nil {
			olds = append(olds, name)
		}
	}
	if len(olds) == 0 {
		return nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("making the state dir: %w", err)
	}
	for _, name := range olds {
		// Gone already: another process starting at once moved it.
		if err := os.Rename(filepath.Join(stateDir, name), filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("moving the alert groups into %s: %w", dir, err)
		}
	}
	return nil
}

// useDir keeps the board's groups in dir, shared with other processes, and
// reads those there now.
func (bd *board) useDir(ctx context.Context, dir string) error {
	s := &store{dir: dir}
	if err := s.open(ctx); err != nil {
		return err
	}
	h, err := procs.Take(&s.locks, filepath.Join(dir, procsDir))
	if err != nil {
		return fmt.Errorf("the state dir: %w", err)
	}
	s.proc = h
	host, _ := os.Hostname()
	bd.store, bd.owner = s, fmt.Sprintf("%s/%d/%s", host, os.Getpid(), rand.Text()[:8])
	bd.countProcs()
	return bd.sync(ctx)
}

// countProcs sets the board's share of Slack's limits from the processes
// running on the state dir: each of n paces itself at 1/n of the app's
// budget (slack.updates_per_minute, and post_interval times n), so that two
// replicas, or a rolling deploy's two pods, stay within it together. A
// process killed on NFS counts until its lock's lease expires: the others
// are slower meanwhile, never faster.
func (bd *board) countProcs() {
	n, err := procs.Live(&bd.store.locks, filepath.Join(bd.store.dir, procsDir))
	if err != nil {
		bd.logger.Error("counting the processes sharing the state dir; keeping the share of Slack's limits", "err", err)
		return
	}
	n = max(n, 1)
	bd.mu.Lock()
	defer bd.mu.Unlock()
	if n != bd.share {
		bd.logger.Info("processes sharing Slack's limits", "processes", n, "updates_per_minute", bd.lim.updatesPerMin/float64(n),
			"post_interval", bd.lim.postInterval*time.Duration(n))
		bd.share = n
	}
}
