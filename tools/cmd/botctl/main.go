// Command botctl is botfleet's own CLI: it scaffolds bots, renders and
// validates their Kubernetes manifests, lists the bots a change affects, and
// sets, promotes and releases their image tags.
//
//	botctl render hello --env dev
//	botctl validate [BOT...]
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/botfleet/botfleet/pkg/secretscan"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(Run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes of Run.
const (
	exitOK       = 0
	exitProblems = 1 // the command ran and found problems, or failed
	exitUsage    = 2
)

// usageError is a bad command line: its message is followed by the
// command's usage line.
type usageError struct{ error }

// inputError is bad input whose message says what to do instead (a bot
// name, an existing bot): no usage line follows it.
type inputError struct{ error }

// Run runs botctl with args (without the program name) and returns its exit
// code. Cancelling ctx stops a running command.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runStdin(ctx, args, os.Stdin, stdout, stderr)
}

// runStdin is Run with stdin.
func runStdin(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// A token on a command line lands in shell history and in every
	// process listing: refuse it before anything runs.
	for i, a := range args {
		if what := secretscan.Token(a); what != "" {
			fmt.Fprintf(stderr, "botctl: argument %d holds %s: never pass a token as an argument (shell history, ps); "+
				"pipe it on stdin: botctl secrets put BOT --env ENV\n", i+1, what)
			return exitUsage
		}
	}
	cmd, g := newRootCmd(stdout, stderr)
	g.stdin = stdin
	cmd.SetArgs(args)
	c, err := cmd.ExecuteContextC(ctx)
	var (
		ue usageError
		ie inputError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ie):
		fmt.Fprintf(stderr, "botctl: %v\n", err)
		return exitUsage
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "botctl: %v\n", err)
		if !g.makeTarget {
			// Not "run botctl --help": botctl is seldom on PATH (go run, bin/botctl).
			fmt.Fprintf(stderr, "usage: %s\n", c.UseLine())
		}
		return exitUsage
	case errors.Is(err, errProblems):
		return exitProblems
	default:
		fmt.Fprintf(stderr, "botctl: %v\n", err)
		return exitProblems
	}
}
