package proc

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// children are the processes Run started and still waits for. They are
// the process's own, so this is one set per process. The reaper never
// touches them: their exit status belongs to os/exec's Wait, which would
// fail if another took it.
var children = struct {
	sync.Mutex
	pids map[int]int // pid -> how many Runs wait for it (a pid is reused)
}{pids: map[int]int{}}

// Subreap makes this process a child subreaper (PR_SET_CHILD_SUBREAPER):
// a descendant whose parent exits, such as a daemon a playbook started with
// setsid, becomes this process's child instead of init's, so it stays in
// this process's tree (where Find's walk from a run's processes finds it
// while its parent lives) rather than escaping to PID 1; and it reaps such
// adopted children when they exit, as init would, so none is left a
// zombie.
//
// Call it once, at the start of main, in a program that starts every child
// process through Run: a child started another way would be reaped before
// its own Wait could see it exit.
func Subreap() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("becoming a child subreaper: %w", err)
	}
	exited := make(chan os.Signal, 1)
	signal.Notify(exited, syscall.SIGCHLD)
	go func() {
		// SIGCHLD may coalesce; the tick catches what a lost one hides.
		tick := time.NewTicker(time.Minute)
		defer tick.Stop()
		for {
			select {
			case <-exited:
			case <-tick.C:
			}
			reapAdopted()
		}
	}()
	return nil
}

// reapAdopted reaps the exited children of this process that Run does not
// wait for: orphans adopted as a subreaper.
func reapAdopted() {
	ps, err := scan()
	if err != nil {
		return
	}
	self := os.Getpid()
	children.Lock()
	defer children.Unlock()
	for _, p := range ps {
		if p.ppid == self && !p.running() && children.pids[p.id.PID] == 0 {
			var ws unix.WaitStatus
			_, _ = unix.Wait4(p.id.PID, &ws, unix.WNOHANG, nil)
		}
	}
}

// startChild starts cmd and records it among the children Run waits for,
// in one step, so the reaper never sees it exited and unrecorded.
func startChild(cmd *exec.Cmd) error {
	children.Lock()
	defer children.Unlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	children.pids[cmd.Process.Pid]++
	return nil
}

// waited forgets a child once its Wait returned.
func waited(pid int) {
	children.Lock()
	defer children.Unlock()
	if children.pids[pid]--; children.pids[pid] <= 0 {
		delete(children.pids, pid)
	}
}
