package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/botfleet/botfleet/bots/alerts/internal/am"
	"github.com/botfleet/botfleet/pkg/atomicfile"
	"github.com/botfleet/botfleet/pkg/botkit"
)

// stateFile is the board's file in the state dir: the groups and their
// messages, so that a restarted bot edits the messages it posted instead of
// posting new ones.
const stateFile = "groups.json"

// saveInterval is how often a changed board is written.
const saveInterval = 2 * time.Second

// resolvedTTL is how long a resolved group is kept once Slack shows it:
// Alertmanager stops notifying a resolved group, and a group that fires
// again after a day is a new incident with a new message.
const resolvedTTL = 24 * time.Hour

// savedGroup is a group as the state file holds it.
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
	Stale       bool              `json:"stale,omitempty"` // Slack does not show its last state yet
	Pending     []string          `json:"pending,omitempty"`
	Changed     time.Time         `json:"changed"`
}

type savedSilence struct {
	ID    string    `json:"id"`
	By    string    `json:"by"`
	Until time.Time `json:"until"`
}

// prune forgets the resolved groups Slack shows as such for longer than
// resolvedTTL, so that the board does not grow without bound.
func (bd *board) prune() {
	bd.mu.Lock()
	defer bd.mu.Unlock()
	now := bd.now()
	for key, g := range bd.groups {
		if g.status == am.Resolved && !g.needs() && !g.busy && now.Sub(g.changed) > resolvedTTL {
			delete(bd.groups, key)
			delete(bd.byID, g.id)
			bd.unsaved = true
		}
	}
}

// snapshotLocked returns the board as the state file holds it.
func (bd *board) snapshotLocked() []savedGroup {
	out := make([]savedGroup, 0, len(bd.groups))
	for _, g := range bd.groups {
		sg := savedGroup{Key: g.key, Channel: g.channel, Status: g.status, GroupLabels: g.groupLabels, Labels: g.labels,
			Annotations: g.annotations, Alerts: g.alerts, Truncated: g.truncated, AckBy: g.ackBy, Hashes: g.hashes,
			TS: g.ref.TS, Stale: g.rendered < g.version, Pending: g.pending, Changed: g.changed}
		for _, s := range g.silences {
			sg.Silences = append(sg.Silences, savedSilence{ID: s.id, By: s.by, Until: s.until})
		}
		out = append(out, sg)
	}
	return out
}

// save writes the board to dir if it changed since the last save.
func (bd *board) save(dir string) error {
	bd.mu.Lock()
	if !bd.unsaved {
		bd.mu.Unlock()
		return nil
	}
	groups := bd.snapshotLocked()
	bd.unsaved = false
	bd.mu.Unlock()
	b, err := json.Marshal(groups)
	if err == nil {
		err = os.MkdirAll(dir, 0o750)
	}
	if err == nil {
		err = atomicfile.Write(filepath.Join(dir, stateFile), b, 0o600)
	}
	if err != nil {
		bd.mu.Lock()
		bd.unsaved = true // try again at the next tick
		bd.mu.Unlock()
		return fmt.Errorf("saving the alert groups: %w", err)
	}
	return nil
}

// load reads the groups saved in dir; a missing file is an empty board.
// Groups whose message Slack does not show as saved are queued for Slack.
func (bd *board) load(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the alert groups: %w", err)
	}
	var groups []savedGroup
	if err := json.Unmarshal(b, &groups); err != nil {
		return fmt.Errorf("reading the alert groups of %s: %w", filepath.Join(dir, stateFile), err)
	}
	bd.mu.Lock()
	defer bd.mu.Unlock()
	for _, sg := range groups {
		g := &group{id: groupID(sg.Key), key: sg.Key, channel: sg.Channel, status: sg.Status, groupLabels: sg.GroupLabels,
			labels: sg.Labels, annotations: sg.Annotations, alerts: sg.Alerts, truncated: sg.Truncated, ackBy: sg.AckBy,
			hashes: sg.Hashes, pending: sg.Pending, changed: sg.Changed, version: 1, rendered: 1}
		if sg.TS != "" {
			g.ref = botkit.MessageRef{Channel: sg.Channel, TS: sg.TS}
		}
		if sg.Stale {
			g.rendered = 0
		}
		for _, s := range sg.Silences {
			g.silences = append(g.silences, silenceNote{id: s.ID, by: s.By, until: s.Until})
		}
		bd.groups[g.key] = g
		bd.byID[g.id] = g
		if g.needs() {
			bd.queueLocked(g)
		}
	}
	return nil
}
