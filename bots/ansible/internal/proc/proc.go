// Package proc runs a program safely: never through a shell, with exactly
// the environment given, in its own process group, and with its output
// merged and passed on line by line; and it finds and stops the processes
// of a run, also those of a run whose starter died.
//
// How far stopping a run reaches, on this host:
//   - the program's process group, everything it forks that stays in the
//     group: SIGINT, then SIGKILL after the grace period;
//   - processes that left the group (setsid, setpgid, a double fork): by
//     the tag in their environment (TagVar), and as descendants of any
//     process of the run while their parent lives; SIGKILL once the program
//     exited or the grace period passed. A process that both clears its
//     environment and outlives its parent is not found.
//
// It does not reach processes on other hosts (ansible's targets over ssh:
// killing the local ssh ends the session, not a command detached there),
// nor those of another user (become on this host), whose environment and
// signals are out of reach.
package proc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Cmd is a program to run.
type Cmd struct {
	Path string   // the program; looked up in PATH when it has no slash
	Args []string // arguments, passed as they are: no shell sees them
	Dir  string
	// Env is the whole environment of the program; nothing is inherited.
	Env []string
	// Grace is how long the program has to stop after SIGINT before the
	// group gets SIGKILL; default 10 s.
	Grace time.Duration
	// Output, if set, gets every line of stdout and stderr, merged.
	Output io.Writer
	// Line, if set, is called with each line (without its newline), in
	// order, from one goroutine.
	Line func(string)
	// Tag, if set, marks every process of the run: it is put in the
	// program's environment as TagVar=Tag, which descendants inherit.
	// Make it unique (NewTag). A cancelled run's processes that left the
	// group are found by it.
	Tag string
	// Files are passed to the program as fds 3, 4, …: a lock file passed
	// this way stays locked while the program (or a fork of it that keeps
	// the fd) runs, even if this process dies.
	Files []*os.File
	// Started, if set, is called with the program's ID once it started,
	// before any of its output is passed on.
	Started func(ID)
}

// DefaultGrace is how long a cancelled program has to stop after SIGINT.
const DefaultGrace = 10 * time.Second

// maxLine bounds one line of output; longer lines are split.
const maxLine = 1 << 20

// Run runs c until it exits or ctx is done. When ctx is done, the process
// group gets SIGINT; after the grace period, every process of the run (see
// Find: the group, what carries c.Tag, their descendants) gets SIGKILL; and
// once the program has exited, what is left of the run gets SIGKILL too.
// When the program exits by itself, what is left of its group (and their
// descendants) gets SIGKILL, so no forked worker outlives it; a process that
// left the group and its parent is left alone then, as a daemon the play
// started on purpose. It returns the exit code (-1 if it was killed by a
// signal) and an error only when the program could not be run at all.
func Run(ctx context.Context, c Cmd) (int, error) {
	if c.Grace <= 0 {
		c.Grace = DefaultGrace
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return -1, fmt.Errorf("creating a pipe: %w", err)
	}
	defer pr.Close()
	cmd := exec.Command(c.Path, c.Args...)
	cmd.Dir = c.Dir
	cmd.Env = append([]string{}, c.Env...) // never nil: nil would inherit ours
	if c.Tag != "" {
		cmd.Env = append(cmd.Env, TagVar+"="+c.Tag)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.ExtraFiles = c.Files
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := startChild(cmd); err != nil {
		pw.Close()
		return -1, fmt.Errorf("starting %s: %w", c.Path, err)
	}
	pw.Close()
	pgid := cmd.Process.Pid
	// Not reaped before Wait, so its stat is there even if it exited.
	leader := ID{PID: pgid}
	if p, err := stat(pgid); err == nil {
		leader = p.id
	}
	if c.Started != nil {
		c.Started(leader)
	}

	read := make(chan struct{})
	go func() {
		defer close(read)
		copyLines(pr, c.Output, c.Line)
	}()
	waitDone := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		waited(pgid)
		waitDone <- err
	}()

	// Killing is done with a context of its own: ctx may be done already.
	bg := context.WithoutCancel(ctx)
	var waitErr error
	select {
	case waitErr = <-waitDone:
		// Workers the program forked may still run (or hold the pipe).
		_ = terminate(bg, leader, "")
	case <-ctx.Done():
		_ = syscall.Kill(-pgid, syscall.SIGINT)
		grace := time.NewTimer(c.Grace)
		select {
		case waitErr = <-waitDone:
			grace.Stop()
		case <-grace.C:
			_ = terminate(bg, leader, c.Tag)
			// Should /proc fail us: the program is not reaped yet, so the
			// group is still its own.
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			waitErr = <-waitDone
		}
		// What left the group, and what is left of it.
		_ = terminate(bg, leader, c.Tag)
	}
	select {
	case <-read:
	case <-time.After(2 * time.Second):
		// A process that left the run keeps the pipe open: stop reading.
		pr.Close()
		<-read
	}
	code := cmd.ProcessState.ExitCode()
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) {
		return code, fmt.Errorf("waiting for %s: %w", c.Path, waitErr)
	}
	return code, nil
}

func copyLines(r io.Reader, out io.Writer, line func(string)) {
	br := bufio.NewReaderSize(r, 64*1024)
	var partial strings.Builder
	for {
		chunk, isPrefix, err := br.ReadLine()
		if len(chunk) > 0 || (!isPrefix && err == nil) {
			partial.Write(chunk)
			if !isPrefix || partial.Len() >= maxLine {
				s := partial.String()
				partial.Reset()
				if out != nil {
					io.WriteString(out, s+"\n")
				}
				if line != nil {
					line(s)
				}
			}
		}
		if err != nil {
			if partial.Len() > 0 {
				s := partial.String()
				if out != nil {
					io.WriteString(out, s+"\n")
				}
				if line != nil {
					line(s)
				}
			}
			return
		}
	}
}
