package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/botfleet/botfleet/bots/ansible/internal/proc"
	"github.com/botfleet/botfleet/pkg/botkit/jobs"
)

// orphanPoll is how often a bot looks at the processes of a deploy whose
// instance died: a look reads /proc (7 ms for 85 processes here), and the
// deploy keeps its app and env all along, so seconds matter little.
const orphanPoll = 500 * time.Millisecond

// owner is where a deploy runs: the host and its boot, and the deploy's
// processes. A process is named by its pid and start time, so that a
// reused pid is never taken for it, and it is only ever looked at on the
// same host and boot: elsewhere a pid means nothing, and only the deploy's
// lock tells whether it may still run.
type owner struct {
	Host string `json:"host"`
	Boot string `json:"boot"` // /proc/sys/kernel/random/boot_id
	// Run is the deploy's program, the leader of its process group; zero
	// until it started.
	Run process `json:"run,omitzero"`
	// Tag is in the environment of every process of the deploy.
	Tag string `json:"tag,omitempty"`
}

// process is a process on the owner's host.
type process struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start"` // clock ticks after boot
}

// sameHost reports whether o and p are on one host, in one boot: only then
// can one look at the other's processes.
func (o owner) sameHost(p owner) bool {
	return o.Host != "" && o.Boot != "" && o.Host == p.Host && o.Boot == p.Boot
}

// selfOwner names this host as deploys record where they run. Without a
// boot id (not Linux) processes are never looked at, only locks.
func selfOwner(log *slog.Logger) owner {
	host, _ := os.Hostname()
	boot, err := proc.BootID()
	if err != nil {
		log.Warn("no boot id: deploys of a crashed instance on this host are judged by their lock alone", "err", err)
	}
	return owner{Host: host, Boot: boot}
}

// orphan is a deploy whose bot instance died while its processes still
// run on this host; this instance adopted it (jobs.Options.Orphan).
type orphan struct {
	id       int64
	instance string // the dead one
	leader   proc.ID
	tag      string
}

// note is said of an orphaned deploy in `status`.
func (o *orphan) note() string {
	return fmt.Sprintf(" — its bot instance (%s) stopped, but its playbook still runs on this host (pid %d); `cancel %d` stops it", o.instance, o.leader.PID, o.id)
}

// orphanWatch is asked, at start, about each running deploy of a dead
// instance. One whose processes (the playbook, by pid and start time, and
// whatever carries its tag) still run on this host is adopted: it keeps
// its app and env until they are all gone, also once the playbook, which
// held the lock file, is gone and only a daemon it started is left, and
// `cancel` stops them. Any other is left to the jobs' rule: interrupted
// once its lock is free (a deploy on another host, whose processes cannot
// be seen from here, holds it while its playbook runs).
func (d *deployer) orphanWatch(r jobs.Record) func(ctx context.Context) error {
	dp := view(r)
	if r.Kind != "deploy" || !d.self.sameHost(dp.Owner) || dp.Owner.Run.PID == 0 {
		return nil
	}
	o := &orphan{id: r.ID, instance: r.Instance, leader: proc.ID(dp.Owner.Run), tag: dp.Owner.Tag}
	if ps, err := proc.Find(o.leader, o.tag); err != nil || len(ps) == 0 {
		return nil
	}
	d.mu.Lock()
	d.orphans[r.ID] = o
	d.mu.Unlock()
	d.log.Warn("deploy orphaned: its bot instance stopped, its playbook still runs here; it keeps its app and env until it ends",
		"deploy", r.ID, "app", dp.app, "env", dp.env, "instance", r.Instance, "pid", o.leader.PID)
	return func(ctx context.Context) error {
		defer func() {
			d.mu.Lock()
			delete(d.orphans, o.id)
			d.mu.Unlock()
		}()
		return d.watch(ctx, o)
	}
}

// watch waits until the orphan's processes are gone. A cancel (ctx ends)
// stops them as a cancel of a running deploy would. It returns why the
// deploy ended when nobody cancelled it.
func (d *deployer) watch(ctx context.Context, o *orphan) error {
	tick := time.NewTicker(orphanPoll)
	defer tick.Stop()
	cancelled := ctx.Done()
	for {
		select {
		case <-tick.C:
		case <-cancelled:
			cancelled = nil // once: then wait for the processes to go
			d.log.Info("stopping an orphaned deploy", "deploy", o.id, "pid", o.leader.PID)
			if err := proc.Stop(context.WithoutCancel(ctx), o.leader, o.tag, d.live.Load().CancelGrace); err != nil {
				d.log.Error("stopping an orphaned deploy", "deploy", o.id, "err", err)
			}
		}
		ps, err := proc.Find(o.leader, o.tag)
		if err != nil {
			d.log.Warn("looking for an orphaned deploy's processes", "deploy", o.id, "err", err)
			continue
		}
		if len(ps) == 0 {
			return fmt.Errorf("the bot instance running it (%s) stopped during the run; the playbook went on unwatched until %s UTC",
				o.instance, time.Now().UTC().Format("15:04:05"))
		}
	}
}
