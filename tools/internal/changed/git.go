package changed

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"strconv"
	"strings"

	"github.com/botfleet/botfleet/tools/internal/gitcmd"
)

// git reads the revisions of one repository.
type git struct {
	dir string
}

func (g git) repo() gitcmd.Repo { return gitcmd.Repo{Dir: g.dir} }

func (g git) command(ctx context.Context, args ...string) *exec.Cmd {
	return g.repo().Command(ctx, args...)
}

func (g git) output(ctx context.Context, args ...string) ([]byte, error) {
	return g.repo().Output(ctx, args...)
}

// commit resolves rev to a commit id. flag names the option it came from,
// for the error.
func (g git) commit(ctx context.Context, flag, rev string) (string, error) {
	if strings.HasPrefix(rev, "-") {
		return "", fmt.Errorf("%s %q: not a revision", flag, rev)
	}
	out, err := g.output(ctx, "rev-parse", "--verify", "--quiet", rev+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("%s %s: no such commit in %s (in a shallow clone, fetch it first: git fetch --deepen, or actions/checkout with fetch-depth: 0)", flag, rev, g.dir)
	}
	return strings.TrimSpace(string(out)), nil
}

// mergeBase is the best common ancestor of a and b.
func (g git) mergeBase(ctx context.Context, a, b string) (string, error) {
	out, err := g.output(ctx, "merge-base", a, b)
	if err != nil {
		return "", fmt.Errorf("no common ancestor of %s and %s (a shallow clone? fetch the history: git fetch --unshallow, or actions/checkout with fetch-depth: 0): %w", a, b, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// change is one path that differs between two commits.
type change struct {
	path    string
	deleted bool
}

// diff lists the files that differ between commits from and to. A rename is
// a deletion and an addition: a renamed bot is a new bot.
func (g git) diff(ctx context.Context, from, to string) ([]change, error) {
	out, err := g.output(ctx, "diff", "--no-renames", "--no-ext-diff", "--no-textconv", "--name-status", "-z", from, to, "--")
	if err != nil {
		return nil, err
	}
	return parseNameStatus(out), nil
}

// workTreeChanges lists the files that differ between commit and the work
// tree: tracked files changed (staged or not) and untracked files that are
// not ignored.
func (g git) workTreeChanges(ctx context.Context, commit string) ([]change, error) {
	out, err := g.output(ctx, "diff", "--no-renames", "--no-ext-diff", "--no-textconv", "--name-status", "-z", commit, "--")
	if err != nil {
		return nil, err
	}
	cs := parseNameStatus(out)
	untracked, err := g.output(ctx, "ls-files", "-z", "--others", "--exclude-standard")
	if err != nil {
		return nil, err
	}
	for _, p := range strings.Split(string(untracked), "\x00") {
		if p != "" {
			cs = append(cs, change{path: p})
		}
	}
	return cs, nil
}

// parseNameStatus parses git diff --name-status -z --no-renames.
func parseNameStatus(out []byte) []change {
	fields := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	var cs []change
	for i := 0; i+1 < len(fields); i += 2 {
		cs = append(cs, change{path: fields[i+1], deleted: fields[i] == "D"})
	}
	return cs
}

// subdirs lists the directories directly under dir (slash path) at commit.
func (g git) subdirs(ctx context.Context, commit, dir string) ([]string, error) {
	out, err := g.output(ctx, "ls-tree", "-d", "--name-only", "-z", commit, dir+"/")
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, p := range strings.Split(string(out), "\x00") {
		if p != "" {
			dirs = append(dirs, path.Base(p))
		}
	}
	return dirs, nil
}

// files reads the files at paths in commit with one git process; a path
// that does not exist (or is not a file) is missing from the map.
func (g git) files(ctx context.Context, commit string, paths []string) (map[string][]byte, error) {
	cmd := g.command(ctx, "cat-file", "--batch")
	var in bytes.Buffer
	for _, p := range paths {
		fmt.Fprintf(&in, "%s:%s\n", commit, p)
	}
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("git cat-file: %w", err)
	}
	files := make(map[string][]byte, len(paths))
	r := bufio.NewReader(stdout)
	var readErr error
	for _, p := range paths {
		header, err := r.ReadString('\n')
		if err != nil {
			readErr = fmt.Errorf("git cat-file: reading %s: %w", p, err)
			break
		}
		f := strings.Fields(header)
		if len(f) != 3 {
			continue // "<object> missing", or "ambiguous"
		}
		size, err := strconv.Atoi(f[2])
		if err != nil {
			readErr = fmt.Errorf("git cat-file: bad header %q", header)
			break
		}
		data := make([]byte, size+1) // the content and a newline
		if _, err := io.ReadFull(r, data); err != nil {
			readErr = fmt.Errorf("git cat-file: reading %s: %w", p, err)
			break
		}
		if f[1] == "blob" {
			files[p] = data[:size]
		}
	}
	_, _ = io.Copy(io.Discard, r)
	if err := cmd.Wait(); err != nil && readErr == nil {
		readErr = fmt.Errorf("git cat-file: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return files, readErr
}

// clean reports whether the work tree holds exactly commit (HEAD is commit,
// and nothing under dirs is modified or untracked), so go list can run in it
// instead of in an extracted copy.
func (g git) clean(ctx context.Context, commit string, dirs ...string) (bool, error) {
	head, err := g.output(ctx, "rev-parse", "--verify", "--quiet", "HEAD")
	if err != nil || strings.TrimSpace(string(head)) != commit {
		return false, nil
	}
	out, err := g.output(ctx, append([]string{"status", "--porcelain", "-z", "--untracked-files=all", "--"}, dirs...)...)
	if err != nil {
		return false, err
	}
	return len(out) == 0, nil
}

// extract writes the files under paths at commit into dir, as `git archive`
// gives them, but those keep rejects.
func (g git) extract(ctx context.Context, commit, dir string, paths []string, keep func(string) bool) error {
	cmd := g.command(ctx, append([]string{"archive", "--format=tar", commit, "--"}, paths...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("git archive: %w", err)
	}
	err = untar(stdout, dir, keep)
	_, _ = io.Copy(io.Discard, stdout)
	if werr := cmd.Wait(); werr != nil && err == nil {
		err = fmt.Errorf("git archive %s: %w: %s", commit, werr, strings.TrimSpace(stderr.String()))
	}
	return err
}

// untar writes a tar stream's files and symlinks that keep accepts under
// dir; os.Root keeps every write inside it.
func untar(r io.Reader, dir string, keep func(string) bool) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading git archive: %w", err)
		}
		name := strings.TrimSuffix(h.Name, "/")
		if h.Typeflag == tar.TypeDir || !keep(name) {
			continue // directories are made for the files kept
		}
		switch h.Typeflag {
		case tar.TypeReg:
			if err = root.MkdirAll(path.Dir(name), 0o755); err == nil {
				err = writeFile(root, name, tr, os.FileMode(h.Mode)&0o777)
			}
		case tar.TypeSymlink:
			if err = root.MkdirAll(path.Dir(name), 0o755); err == nil {
				err = root.Symlink(h.Linkname, name)
			}
		default:
			continue // pax headers (the commit id), submodules
		}
		if err != nil {
			return fmt.Errorf("extracting %s: %w", name, err)
		}
	}
}

func writeFile(root *os.Root, name string, r io.Reader, mode os.FileMode) error {
	f, err := root.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
