// Package proc runs a program safely: never through a shell, with exactly
// the environment given, in its own process group so that cancelling it
// reaches every process it forked, and with its output merged and passed on
// line by line.
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
}

// DefaultGrace is how long a cancelled program has to stop after SIGINT.
const DefaultGrace = 10 * time.Second

// maxLine bounds one line of output; longer lines are split.
const maxLine = 1 << 20

// Run runs c until it exits or ctx is done. When ctx is done, the process
// group gets SIGINT, then SIGKILL after the grace period; once the program
// has exited, whatever is left of its group gets SIGKILL too, so no forked
// worker outlives it. It returns the exit code (-1 if it was killed by a
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
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		pw.Close()
		return -1, fmt.Errorf("starting %s: %w", c.Path, err)
	}
	pw.Close()
	pgid := cmd.Process.Pid

	read := make(chan struct{})
	go func() {
		defer close(read)
		copyLines(pr, c.Output, c.Line)
	}()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	var waitErr error
	select {
	case waitErr = <-waited:
	case <-ctx.Done():
		_ = syscall.Kill(-pgid, syscall.SIGINT)
		grace := time.NewTimer(c.Grace)
		select {
		case waitErr = <-waited:
			grace.Stop()
		case <-grace.C:
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			waitErr = <-waited
		}
	}
	// Workers the program forked may still run (or hold the pipe).
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	select {
	case <-read:
	case <-time.After(2 * time.Second):
		// A process that left the group keeps the pipe open: stop reading.
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
