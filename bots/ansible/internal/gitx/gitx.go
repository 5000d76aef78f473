// Package gitx is the little git the ansible bot needs: checking that a
// branch name typed in Slack is safe, asking a remote whether the branch
// exists, and checking out the playbook repo at a ref into a worktree of its
// own for each run. Git always runs without a shell, with the environment
// given (see Git.Env).
package gitx

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/botfleet/botfleet/bots/ansible/internal/proc"
)

// MaxBranch is the longest branch name accepted.
const MaxBranch = 200

// branchRE is the allowlist: ASCII letters, digits, ., _, / and -, the
// first a letter or digit. It alone refuses $(reboot), ;rm, --help and
// lookalikes; git check-ref-format then refuses what git would (a/../b,
// x.lock, a//b, trailing dots and slashes).
var branchRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]*$`)

// BranchError says why a branch name was refused, in words for the person
// who typed it.
type BranchError struct{ Reason string }

func (e *BranchError) Error() string { return e.Reason }

// Git runs git.
type Git struct {
	Path string   // default "git"
	Env  []string // the whole environment of git (nothing is inherited)
	// Timeout bounds each git command; default 2 minutes.
	Timeout time.Duration
}

// CheckBranch returns a *BranchError when name is not a branch name the bot
// accepts, and another error when git could not be run. Nothing else runs
// with name before it passes.
func (g Git) CheckBranch(ctx context.Context, name string) error {
	switch {
	case name == "":
		return &BranchError{"the branch name is empty"}
	case !utf8.ValidString(name) || strings.IndexFunc(name, func(r rune) bool { return r >= utf8.RuneSelf }) >= 0:
		return &BranchError{"the branch name holds a non-ASCII character (a lookalike of a letter?); only ASCII letters, digits, `.`, `_`, `/` and `-` are allowed"}
	case len(name) > MaxBranch:
		return &BranchError{fmt.Sprintf("the branch name is longer than %d characters", MaxBranch)}
	case !branchRE.MatchString(name):
		if c := name[0]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return &BranchError{"the branch name must start with a letter or a digit"}
		}
		return &BranchError{"the branch name may only hold ASCII letters, digits, `.`, `_`, `/` and `-`"}
	}
	code, out, err := g.run(ctx, "", "check-ref-format", "--branch", name)
	if err != nil {
		return err
	}
	if code != 0 {
		return &BranchError{"git does not accept it as a branch name: " + firstLine(out)}
	}
	return nil
}

// BranchExists asks the remote repo at url whether it has the branch (git
// ls-remote). name must have passed CheckBranch.
func (g Git) BranchExists(ctx context.Context, url, name string) (bool, error) {
	if strings.HasPrefix(url, "-") || strings.HasPrefix(name, "-") {
		return false, fmt.Errorf("refusing an argument that starts with -")
	}
	code, out, err := g.run(ctx, "", "ls-remote", "--heads", "--exit-code", url, "refs/heads/"+name)
	switch {
	case err != nil:
		return false, err
	case code == 0:
		return true, nil
	case code == 2: // --exit-code: no matching refs
		return false, nil
	}
	return false, fmt.Errorf("git ls-remote %s: exit %d: %s", url, code, firstLine(out))
}

// Repo is the playbook repo.
type Repo struct {
	// Dir is a git work tree (used as it is) or, with Remote, the cache
	// where the remote is cloned (a mirror, fetched before each run).
	Dir    string
	Remote string
	Ref    string // branch, tag or commit to check out, e.g. main
}

// Checkout brings the repo up to date (fetching Remote, if set) and checks
// Ref out into a new worktree at dst, returning the commit. The caller must
// hold a lock that serializes Checkout and Remove on the repo: fetches and
// worktree bookkeeping must not overlap.
func (g Git) Checkout(ctx context.Context, r Repo, dst string) (string, error) {
	if r.Remote != "" {
		if _, err := os.Stat(filepath.Join(r.Dir, "HEAD")); errors.Is(err, os.ErrNotExist) {
			if err := os.MkdirAll(filepath.Dir(r.Dir), 0o755); err != nil {
				return "", err
			}
			if err := g.must(ctx, "", "clone", "--mirror", "--quiet", "--", r.Remote, r.Dir); err != nil {
				return "", err
			}
		} else if err := g.must(ctx, r.Dir, "fetch", "--prune", "--quiet", "origin"); err != nil {
			return "", err
		}
	}
	// Worktrees of runs that ended (or died) are gone: forget them.
	if err := g.must(ctx, r.Dir, "worktree", "prune"); err != nil {
		return "", err
	}
	code, out, err := g.run(ctx, r.Dir, "rev-parse", "--verify", "--quiet", "--end-of-options", r.Ref+"^{commit}")
	if err != nil {
		return "", err
	}
	if code != 0 {
		return "", fmt.Errorf("ref %q not found in the playbook repo %s", r.Ref, r.Dir)
	}
	sha := strings.TrimSpace(out)
	if err := g.must(ctx, r.Dir, "worktree", "add", "--detach", "--quiet", dst, sha); err != nil {
		return "", err
	}
	return sha, nil
}

// Remove deletes a worktree Checkout made; the next Checkout prunes git's
// record of it.
func Remove(dst string) error { return os.RemoveAll(dst) }

func (g Git) must(ctx context.Context, dir string, args ...string) error {
	code, out, err := g.run(ctx, dir, args...)
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("git %s: exit %d: %s", args[0], code, firstLine(out))
	}
	return nil
}

func (g Git) run(ctx context.Context, dir string, args ...string) (int, string, error) {
	path := g.Path
	if path == "" {
		path = "git"
	}
	timeout := g.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var out strings.Builder
	code, err := proc.Run(ctx, proc.Cmd{Path: path, Args: args, Dir: dir, Env: g.Env, Output: &limited{&out, 64 << 10}, Grace: 2 * time.Second})
	if err != nil {
		return code, "", fmt.Errorf("running git %s: %w", args[0], err)
	}
	if ctx.Err() != nil {
		return code, "", fmt.Errorf("git %s: %w", args[0], ctx.Err())
	}
	return code, out.String(), nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// limited keeps the first n bytes written to it.
type limited struct {
	b *strings.Builder
	n int
}

func (l *limited) Write(p []byte) (int, error) {
	if room := l.n - l.b.Len(); room > 0 {
		l.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
