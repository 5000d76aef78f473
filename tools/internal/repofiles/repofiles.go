// Package repofiles checks the files a repository tracks, as `make lint`
// does (botctl check-files): no executable binary (an ELF, Mach-O or PE
// file, or a file with the executable bit that is not a script), no file
// over MaxSize unless the allowlist names it, and no secret (package
// secretscan: Slack tokens, AWS keys, private keys) unless the allowlist
// names that very value as a fake.
//
// A binary or a secret, once pushed, stays in every clone's history: this
// check is what keeps them out of the first commit.
package repofiles

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/botfleet/botfleet/pkg/secretscan"
)

// MaxSize is the largest file the check lets through without an allowlist
// entry: 1 MiB.
const MaxSize = 1 << 20

// AllowlistFile is the allowlist's path, relative to the repo's root.
const AllowlistFile = "lint-allow.yaml"

// File is one tracked file.
type File struct {
	Path       string // slash-separated, relative to the root
	Executable bool   // tracked with the executable bit (git mode 100755)
}

// Problem is one file, or one line of a file, that breaks a rule.
type Problem struct {
	Path string
	Line int // 0 when the whole file is the problem
	Msg  string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.Path, p.Line, p.Msg)
	}
	return p.Path + ": " + p.Msg
}

// Allowlist says which large files and which fake secrets are committed on
// purpose; every entry says why.
type Allowlist struct {
	Large   []LargeFile `json:"large"`
	Secrets []Fake      `json:"secrets"`
}

// LargeFile lets files over MaxSize through.
type LargeFile struct {
	Path string `json:"path"` // a path.Match pattern
	Why  string `json:"why"`
}

// Fake lets secret-shaped strings through: a test's or an example's values
// that are no real credential. Paths, when given, limit it to those files
// (path.Match patterns): a private key's header, say, is the same in a test
// and in a real key.
type Fake struct {
	Values []string `json:"values"`
	Paths  []string `json:"paths,omitempty"`
	Why    string   `json:"why"`
}

// ParseAllowlist parses and checks an allowlist file: known keys only, a
// why for every entry, valid patterns.
func ParseAllowlist(data []byte) (*Allowlist, error) {
	var a Allowlist
	if err := yaml.UnmarshalStrict(data, &a); err != nil {
		return nil, err
	}
	for i, l := range a.Large {
		if _, err := path.Match(l.Path, ""); err != nil || l.Path == "" {
			return nil, fmt.Errorf("large[%d]: path %q: want a pattern such as dir/*.json.gz", i, l.Path)
		}
		if strings.TrimSpace(l.Why) == "" {
			return nil, fmt.Errorf("large[%d] (%s): say why it must be committed (why:)", i, l.Path)
		}
	}
	for i, s := range a.Secrets {
		if len(s.Values) == 0 || slices.Contains(s.Values, "") {
			return nil, fmt.Errorf("secrets[%d]: want values: the fake strings, none empty", i)
		}
		for _, p := range s.Paths {
			if _, err := path.Match(p, ""); err != nil || p == "" {
				return nil, fmt.Errorf("secrets[%d]: path %q: want a pattern such as dir/*_test.go", i, p)
			}
		}
		if strings.TrimSpace(s.Why) == "" {
			return nil, fmt.Errorf("secrets[%d]: say why these values are no real secrets (why:)", i)
		}
	}
	return &a, nil
}

func (a *Allowlist) large(p string) bool {
	return slices.ContainsFunc(a.Large, func(l LargeFile) bool { return matchAny([]string{l.Path}, p) })
}

// fake reports whether the secret v in file p is a fake the list names.
func (a *Allowlist) fake(p, v string) bool {
	return slices.ContainsFunc(a.Secrets, func(s Fake) bool {
		return slices.Contains(s.Values, v) && (len(s.Paths) == 0 || matchAny(s.Paths, p))
	})
}

func matchAny(patterns []string, p string) bool {
	return slices.ContainsFunc(patterns, func(pat string) bool {
		ok, _ := path.Match(pat, p)
		return ok
	})
}

// Check reads files from fsys (the repo's work tree, or a test's) and
// returns their problems, in file order. A file listed but missing from
// fsys (deleted and not yet staged) is skipped; so are symlinks, whose
// target is checked where it is tracked. allow may be nil.
func Check(fsys fs.FS, files []File, allow *Allowlist) ([]Problem, error) {
	if allow == nil {
		allow = &Allowlist{}
	}
	var problems []Problem
	for _, f := range files {
		fi, err := fs.Lstat(fsys, f.Path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("checking %s: %w", f.Path, err)
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		ps, err := checkFile(fsys, f, fi.Size(), allow)
		if err != nil {
			return nil, err
		}
		problems = append(problems, ps...)
	}
	return problems, nil
}

func checkFile(fsys fs.FS, f File, size int64, allow *Allowlist) ([]Problem, error) {
	problem := func(line int, format string, args ...any) Problem {
		return Problem{Path: f.Path, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	var problems []Problem
	if size > MaxSize && !allow.large(f.Path) {
		problems = append(problems, problem(0, "%s, over %s: keep it out of git, or, if it must be committed, name it in %s (large:)",
			human(size), human(MaxSize), AllowlistFile))
	}
	// Large allowed files are data (compressed schemas and the like):
	// their first bytes tell a binary; a secret scan of them tells nothing.
	limit := size
	if size > MaxSize {
		limit = 4096
	}
	fh, err := fsys.Open(f.Path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, limit))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", f.Path, err)
	}
	kind := executableKind(data)
	switch {
	case kind != "":
		problems = append(problems, problem(0, "%s: binaries are built, never committed: git rm --cached %s, and ignore it in .gitignore", kind, f.Path))
	case f.Executable && !bytes.HasPrefix(data, []byte("#!")):
		problems = append(problems, problem(0, "executable, but not a script (no #! line): git update-index --chmod=-x %s", f.Path))
	}
	if f.Path == AllowlistFile || size > MaxSize || isBinary(data) {
		return problems, nil
	}
	for _, s := range secretscan.Text(data) {
		if !allow.fake(f.Path, s.Match) {
			problems = append(problems, problem(s.Line, "%s: remove it (and revoke it, if real); a fake goes in %s (secrets:)", s.What, AllowlistFile))
		}
	}
	return problems, nil
}

// executableKind names the executable format data starts with, or "".
func executableKind(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("\x7fELF")):
		return "an ELF executable"
	case len(data) >= 4 && slices.Contains([]uint32{0xfeedface, 0xfeedfacf, 0xcafebabe}, binary.BigEndian.Uint32(data)),
		len(data) >= 4 && slices.Contains([]uint32{0xfeedface, 0xfeedfacf}, binary.LittleEndian.Uint32(data)):
		return "a Mach-O executable"
	case bytes.HasPrefix(data, []byte("MZ")) && len(data) >= 0x40:
		// A DOS header whose e_lfanew points at the PE signature.
		off := binary.LittleEndian.Uint32(data[0x3c:])
		if int64(off)+4 <= int64(len(data)) && string(data[off:off+4]) == "PE\x00\x00" {
			return "a PE (Windows) executable"
		}
	}
	return ""
}

// isBinary reports whether data is not text, as git decides: a NUL byte in
// its first 8000 bytes.
func isBinary(data []byte) bool {
	return bytes.IndexByte(data[:min(len(data), 8000)], 0) >= 0
}

// human formats a size in bytes as MiB or KiB, one decimal.
func human(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
}
