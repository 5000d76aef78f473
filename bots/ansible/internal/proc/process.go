package proc

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ID names a process. A pid alone does not: once the process exits, the
// kernel gives its pid to the next process that needs one. A pid with the
// process's start time does, within one boot of one host.
type ID struct {
	PID int
	// Start is when the process started, in clock ticks after boot
	// (field 22 of /proc/<pid>/stat).
	Start uint64
}

// Self returns this process's ID.
func Self() (ID, error) {
	p, err := stat(os.Getpid())
	if err != nil {
		return ID{}, err
	}
	return p.id, nil
}

// Alive reports whether the process id names runs (a zombie, which has
// exited and waits to be reaped, does not).
func (id ID) Alive() bool {
	if id.PID <= 0 {
		return false
	}
	p, err := stat(id.PID)
	return err == nil && p.id.Start == id.Start && p.running()
}

// BootID returns the id of this boot of this host: the pids and start times
// of IDs are only comparable between processes of one boot.
func BootID() (string, error) {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "", fmt.Errorf("reading the boot id: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// TagVar is the environment variable Run sets to Cmd.Tag. Descendants
// inherit it, also those that leave the process group (setsid, double
// fork), so it finds them; one that clears its environment loses it.
const TagVar = "BOTFLEET_RUN"

// NewTag returns a tag no other run has.
func NewTag() string {
	return rand.Text()
}

// Find returns the processes of a run that still run on this host: its
// leader, the members of the leader's process group, every process whose
// environment holds tag (see TagVar), and the descendants of all these. A
// zero leader (not known) or an empty tag leaves that part out; this
// process is never part of it. Processes of other users, whose environment
// cannot be read, are only found through the group and their parents.
func Find(leader ID, tag string) ([]ID, error) {
	ps, err := scan()
	if err != nil {
		return nil, err
	}
	return members(ps, leader, tag, readEnviron), nil
}

// members picks the processes of a run from ps (see Find). environ reads a
// process's environment.
func members(ps []info, leader ID, tag string, environ func(pid int) []byte) []ID {
	self := os.Getpid()
	// The kernel does not reuse a number while a process group holds it, so
	// a group numbered like the leader is the leader's own unless another
	// process now has the leader's pid.
	ownGroup := leader.PID > 0
	for _, p := range ps {
		if p.id.PID == leader.PID && p.id.Start != leader.Start {
			ownGroup = false
		}
	}
	needle := []byte(TagVar + "=" + tag + "\x00")
	in := map[int]bool{}
	for _, p := range ps {
		if p.id.PID == self || !p.running() || p.id.Start < leader.Start {
			continue // what started before the leader is none of its doing
		}
		switch {
		case p.id == leader && leader.PID > 0,
			ownGroup && p.pgid == leader.PID,
			tag != "" && hasVar(environ(p.id.PID), needle):
			in[p.id.PID] = true
		}
	}
	// Descendants, whatever their group or environment; a child may start
	// in the same clock tick as its parent, so repeat until nothing changes.
	for grown := true; grown; {
		grown = false
		for _, p := range ps {
			if !in[p.id.PID] && in[p.ppid] && p.id.PID != self && p.running() {
				in[p.id.PID], grown = true, true
			}
		}
	}
	var out []ID
	for _, p := range ps {
		if in[p.id.PID] {
			out = append(out, p.id)
		}
	}
	return out
}

// hasVar reports whether the environment block env (NUL-separated, as in
// /proc/<pid>/environ) holds the entry needle (which ends with NUL).
func hasVar(env, needle []byte) bool {
	if len(env) == 0 {
		return false
	}
	if env[len(env)-1] != 0 {
		env = append(env, 0)
	}
	return bytes.HasPrefix(env, needle) || bytes.Contains(env, append([]byte{0}, needle...))
}

func readEnviron(pid int) []byte {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	return b
}

// Stop stops a run that is not this process's child, such as the playbook
// of a bot that died: SIGINT to the leader's process group, as Run does on
// cancel; then, once the leader exited or grace passed, SIGKILL to every
// process Find returns, until none is left. It returns when they are all
// gone, or with ctx's error.
func Stop(ctx context.Context, leader ID, tag string, grace time.Duration) error {
	ps, err := Find(leader, tag)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if info, err := stat(p.PID); err == nil && info.pgid == leader.PID {
			send(p, syscall.SIGINT)
		}
	}
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for leader.Alive() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return terminate(ctx, leader, tag)
		case <-tick.C:
		}
	}
	return terminate(ctx, leader, tag)
}

// terminate kills every process of a run (see Find) and waits until they
// are gone. Each round first stops them (SIGSTOP) and looks again, so that
// a child forked meanwhile is caught while its parent still holds it, then
// kills them all.
func terminate(ctx context.Context, leader ID, tag string) error {
	for range 20 {
		found, err := Find(leader, tag)
		if err != nil || len(found) == 0 {
			return err
		}
		frozen := map[ID]bool{}
		for range 10 {
			grew := false
			for _, p := range found {
				if !frozen[p] {
					send(p, syscall.SIGSTOP)
					frozen[p], grew = true, true
				}
			}
			if !grew {
				break
			}
			if found, err = Find(leader, tag); err != nil {
				return err
			}
		}
		for p := range frozen {
			send(p, syscall.SIGKILL)
		}
		// SIGKILL is final, but the kernel takes a moment to tear a
		// process down.
		deadline := time.Now().Add(2 * time.Second)
		for p := range frozen {
			for p.Alive() && time.Now().Before(deadline) {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(5 * time.Millisecond):
				}
			}
		}
	}
	if left, _ := Find(leader, tag); len(left) > 0 {
		return fmt.Errorf("%d processes of the run survived SIGKILL", len(left))
	}
	return nil
}

// send sends sig to the process id, and never to another that got its
// pid: the pidfd os.FindProcess holds names one process, and its start time
// is checked after the pidfd was taken.
func send(id ID, sig syscall.Signal) {
	p, err := os.FindProcess(id.PID)
	if err != nil {
		return
	}
	defer p.Release()
	if cur, err := stat(id.PID); err != nil || cur.id.Start != id.Start {
		return
	}
	_ = p.Signal(sig)
}

// info is what /proc/<pid>/stat tells of a process.
type info struct {
	id    ID
	ppid  int
	pgid  int
	state byte
}

// running reports whether the process has not exited (it is not a zombie
// waiting for its parent, nor being torn down).
func (p info) running() bool { return p.state != 'Z' && p.state != 'X' && p.state != 'x' }

func stat(pid int) (info, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return info{}, err
	}
	return parseStat(pid, b)
}

// parseStat reads /proc/<pid>/stat: "pid (comm) state ppid pgrp session
// ... starttime ...", where comm may hold spaces and parentheses.
func parseStat(pid int, b []byte) (info, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 > len(b) {
		return info{}, fmt.Errorf("parsing /proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 of proc(5), state; starttime is field 22.
	if len(f) < 20 {
		return info{}, fmt.Errorf("parsing /proc/%d/stat: %d fields", pid, len(f)+2)
	}
	if st := f[0]; len(st) != 1 || !('a' <= st[0] && st[0] <= 'z' || 'A' <= st[0] && st[0] <= 'Z') {
		return info{}, fmt.Errorf("parsing /proc/%d/stat: state %q", pid, st)
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgid, err2 := strconv.Atoi(f[2])
	start, err3 := strconv.ParseUint(f[19], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return info{}, fmt.Errorf("parsing /proc/%d/stat: %w", pid, err)
	}
	return info{id: ID{PID: pid, Start: start}, ppid: ppid, pgid: pgid, state: f[0][0]}, nil
}

// scan returns every process of this host (as far as /proc shows them).
func scan() ([]info, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	out := make([]info, 0, len(ents))
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		p, err := stat(pid)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
			continue // exited since the listing
		}
		if err != nil {
			continue // a stat we cannot read is no process we could stop
		}
		out = append(out, p)
	}
	return out, nil
}
