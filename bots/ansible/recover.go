package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/botfleet/botfleet/bots/ansible/internal/proc"
	"github.com/botfleet/botfleet/bots/ansible/internal/state"
	"github.com/botfleet/botfleet/pkg/botkit"
)

// orphanPoll is how often a bot looks at the processes of a deploy whose
// instance died: a look reads /proc (7 ms for 85 processes here), and the
// lock is kept all along, so seconds matter little.
const orphanPoll = 500 * time.Millisecond

// selfOwner names this process as deploys record where they run. Without a
// boot id (not Linux) processes are never looked at, only locks.
func selfOwner(log *slog.Logger) state.Owner {
	host, _ := os.Hostname()
	boot, err := proc.BootID()
	if err != nil {
		log.Warn("no boot id: deploys of a crashed instance on this host are judged by their lock alone", "err", err)
	}
	self, err := proc.Self()
	if err != nil {
		log.Warn("reading this process's start time", "err", err)
	}
	return state.Owner{Host: host, Boot: boot, Bot: state.Process(self)}
}

// recover looks at the deploys recorded as running when the bot starts. One
// whose instance is alive, or whose lock is held (it runs on another host,
// where a pid means nothing), is left alone. One whose instance died on
// this host but whose processes still run here is watched: it keeps its
// lock until they are gone (see watch), and `cancel` stops them. Any other
// is over: it is marked interrupted, and its message is edited once the bot
// is connected.
func (d *deployer) recover(ctx context.Context, st *state.Store) error {
	recs, err := st.Records()
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.Status == state.Running {
			alive, orphaned, err := d.fate(st, r)
			if err != nil {
				return err
			}
			if orphaned {
				d.adopt(ctx, st, r)
			}
			if alive || orphaned {
				continue
			}
			r.Status, r.Ended = state.Interrupted, time.Now().UTC()
			r.Error = "the bot instance running it (" + r.Instance + ") stopped during the run"
			if err := st.Append(ctx, r); err != nil {
				return err
			}
			d.log.Warn("deploy interrupted", "deploy", r.ID, "app", r.App, "env", r.Env, "instance", r.Instance)
		}
		if r.Status == state.Interrupted && !r.Notified && r.Message != "" {
			d.notes = append(d.notes, r)
		}
	}
	return nil
}

// fate tells whether deploy r, recorded as running, may still run (alive),
// or runs on here without its instance (orphaned).
func (d *deployer) fate(st *state.Store, r state.Record) (alive, orphaned bool, err error) {
	if d.self.SameHost(r.Owner) {
		if proc.ID(r.Owner.Bot).Alive() {
			return true, false, nil // its instance (another bot on this host) runs it
		}
		ps, err := proc.Find(proc.ID(r.Owner.Run), r.Owner.Tag)
		if err != nil {
			return false, false, err
		}
		if len(ps) > 0 {
			return false, true, nil
		}
	}
	locked, err := st.IsLocked(recordKey(r))
	return locked, false, err
}

func recordKey(r state.Record) string {
	if r.Key != "" {
		return r.Key
	}
	return lockKey(r.App, r.Env)
}

// orphan is a deploy whose bot instance died while its processes still run
// on this host. It is safe for concurrent use.
type orphan struct {
	rec    state.Record
	cancel chan string // who asked to stop it
}

// stop asks the watcher to stop the orphan's processes.
func (o *orphan) stop(by string) {
	select {
	case o.cancel <- by:
	default: // a stop is on its way
	}
}

func (d *deployer) adopt(ctx context.Context, st *state.Store, r state.Record) {
	o := &orphan{rec: r, cancel: make(chan string, 1)}
	d.mu.Lock()
	d.orphans[r.ID] = o
	d.mu.Unlock()
	d.log.Warn("deploy orphaned: its bot instance stopped, its playbook still runs here; it keeps its lock until it ends",
		"deploy", r.ID, "app", r.App, "env", r.Env, "instance", r.Instance, "pid", r.Owner.Run.PID)
	go d.watch(ctx, st, o)
}

// watch keeps an orphaned deploy's app and env locked until its processes
// are gone, then records how it ended. While the playbook runs, it holds
// the lock itself (it has the lock file open); what it leaves behind does
// not, so the watcher takes the lock as soon as it is free. A cancel, here
// or through the state dir from another instance, stops the processes as a
// cancel of a running deploy would. When ctx ends, the watcher stops and
// the next start takes over.
func (d *deployer) watch(ctx context.Context, st *state.Store, o *orphan) {
	defer func() {
		d.mu.Lock()
		delete(d.orphans, o.rec.ID)
		d.mu.Unlock()
	}()
	var lock *state.Lock
	defer func() { lock.Release() }()
	leader, tag := proc.ID(o.rec.Owner.Run), o.rec.Owner.Tag
	cancelledBy := ""
	tick := time.NewTicker(orphanPoll)
	defer tick.Stop()
	for {
		by := ""
		select {
		case <-ctx.Done():
			return
		case by = <-o.cancel:
		case <-tick.C:
			if cancelledBy == "" {
				by, _ = st.CancelRequested(o.rec.ID)
			}
		}
		if lock == nil {
			if l, _, err := st.TryLock(recordKey(o.rec)); err == nil {
				lock = l
				h := state.Holder{ID: o.rec.ID, User: o.rec.User, Branch: o.rec.Branch, Since: o.rec.Started, Instance: o.rec.Instance}
				if err := lock.SetHolder(h); err != nil {
					d.log.Warn("writing the lock holder", "deploy", o.rec.ID, "err", err)
				}
			}
		}
		if by != "" && cancelledBy == "" {
			cancelledBy = by
			d.log.Info("stopping an orphaned deploy", "deploy", o.rec.ID, "by", by, "pid", leader.PID)
			if err := proc.Stop(ctx, leader, tag, d.live.Load().CancelGrace); err != nil && !errors.Is(err, ctx.Err()) {
				d.log.Error("stopping an orphaned deploy", "deploy", o.rec.ID, "err", err)
			}
		}
		ps, err := proc.Find(leader, tag)
		if err != nil {
			d.log.Warn("looking for an orphaned deploy's processes", "deploy", o.rec.ID, "err", err)
			continue
		}
		if len(ps) > 0 {
			continue
		}
		if lock == nil {
			// Gone, but another holds the key: a deploy that began meanwhile
			// has recorded this one as over; or the lock is free by the next
			// round.
			if cur, ok, _ := st.Record(o.rec.ID); ok && cur.Status != state.Running {
				return
			}
			continue
		}
		rec := o.rec
		rec.Ended = time.Now().UTC()
		if cancelledBy != "" {
			rec.Status, rec.CancelledBy = state.Cancelled, cancelledBy
		} else {
			rec.Status = state.Interrupted
			rec.Error = fmt.Sprintf("the bot instance running it (%s) stopped during the run; the playbook went on unwatched until %s UTC", rec.Instance, rec.Ended.Format("15:04:05"))
		}
		if err := st.Append(ctx, rec); err != nil {
			d.log.Error("recording an orphaned deploy's end", "deploy", rec.ID, "err", err)
			return
		}
		lock.Release()
		d.log.Warn("orphaned deploy ended", "deploy", rec.ID, "status", rec.Status)
		d.notify(ctx, st, rec)
		return
	}
}

// notify edits the message of a deploy that ended outside a command, once
// the bot is connected; an interrupted deploy's notice is recorded, so that
// the next start does not repeat it.
func (d *deployer) notify(ctx context.Context, st *state.Store, r state.Record) {
	d.mu.Lock()
	p := d.poster
	if p == nil {
		d.notes = append(d.notes, r)
	}
	d.mu.Unlock()
	if p == nil || r.Message == "" {
		return
	}
	if err := d.edit(ctx, st, p, r); err != nil {
		d.log.Warn("editing a deploy's message", "deploy", r.ID, "err", err)
	}
}

func (d *deployer) edit(ctx context.Context, st *state.Store, p botkit.Poster, r state.Record) error {
	ref := botkit.MessageRef{Channel: r.Channel, TS: r.Message}
	if err := p.Update(ctx, ref, botkit.Message{Channel: r.Channel, ThreadTS: r.Thread, Text: finalText(r, nil)}); err != nil {
		return fmt.Errorf("editing the message of deploy #%d: %w", r.ID, err)
	}
	if r.Status != state.Interrupted {
		return nil
	}
	r.Notified = true
	if err := st.Append(ctx, r); err != nil {
		return fmt.Errorf("recording the notice of interrupted deploy #%d: %w", r.ID, err)
	}
	return nil
}

// flushNotes edits the messages of deploys that ended while the bot was not
// connected, once it is. A message it cannot edit stays unnoticed in the
// state, so the next start tries again.
func (d *deployer) flushNotes(ctx context.Context, p botkit.Poster) error {
	d.mu.Lock()
	notes := d.notes
	d.notes = nil
	d.poster = p
	d.mu.Unlock()
	if len(notes) == 0 {
		return nil
	}
	st, err := d.store(d.live.Load())
	if err != nil {
		return fmt.Errorf("opening the state to record interrupted deploys' notices: %w", err)
	}
	var errs []error
	for _, r := range notes {
		if r.Message == "" {
			continue
		}
		errs = append(errs, d.edit(ctx, st, p, r))
	}
	return errors.Join(errs...)
}

// orphanNote is said of an orphaned deploy in `status`.
func orphanNote(r state.Record) string {
	return fmt.Sprintf(" — its bot instance (%s) stopped, but its playbook still runs on this host (pid %d); `cancel %d` stops it", r.Instance, r.Owner.Run.PID, r.ID)
}
