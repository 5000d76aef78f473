// Package gitcmd runs git in one repository, never through a shell, with
// errors that carry git's own message.
package gitcmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Repo is a git repository (or work tree) at Dir.
type Repo struct {
	Dir string
}

// Command returns git with args, run in r. Its messages are in the C
// locale, so they can be quoted and matched.
func (r Repo) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", r.Dir}, args...)...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd
}

// Output runs git with args and returns its standard output. An error
// quotes the command and what git wrote on standard error.
func (r Repo) Output(ctx context.Context, args ...string) ([]byte, error) {
	cmd := r.Command(ctx, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// Line runs git with args and returns its output, trimmed.
func (r Repo) Line(ctx context.Context, args ...string) (string, error) {
	out, err := r.Output(ctx, args...)
	return strings.TrimSpace(string(out)), err
}

// Test runs a git command that answers by its exit status, such as
// `merge-base --is-ancestor`: exit 0 is true, exit 1 false, anything else
// an error.
func (r Repo) Test(ctx context.Context, args ...string) (bool, error) {
	_, err := r.Output(ctx, args...)
	var exit *exec.ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return false, nil
	}
	return false, err
}
