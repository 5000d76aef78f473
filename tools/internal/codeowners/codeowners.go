// Package codeowners reads a GitHub CODEOWNERS file and tells who owns a
// path, as GitHub does: patterns follow .gitignore's rules (a leading or
// inner slash anchors a pattern to the root, a trailing one matches a
// directory's contents, * stays within a directory, ** crosses them), but
// for a wildcard in the last part, which matches no subdirectory's files; and
// the last pattern that matches a path decides; one with no owners leaves
// the path unowned. GitHub skips a line it cannot read, which leaves paths
// unowned without a word, so Parse refuses such a line instead: the syntax
// GitHub does not support (! negation, [ ] ranges, \ escapes) or an owner
// that is not @user, @org/team or an email address.
package codeowners

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Locations are where GitHub looks for the file, in its order: the first
// that exists is used.
var Locations = []string{".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"}

// Rule is one line of the file.
type Rule struct {
	Line    int
	Pattern string
	Owners  []string
	re      *regexp.Regexp
}

// File is a parsed CODEOWNERS file.
type File struct {
	Rules []Rule
}

var ownerRe = regexp.MustCompile(`^(@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:/[A-Za-z0-9._-]+)?|[^@\s]+@[^@\s]+\.[^@\s]+)$`)

// Parse reads a CODEOWNERS file; its error joins one error per bad line.
func Parse(data []byte) (*File, error) {
	f := &File{}
	var errs []error
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		r := Rule{Line: n, Pattern: fields[0]}
		for _, o := range fields[1:] {
			if strings.HasPrefix(o, "#") {
				break // a comment to the end of the line
			}
			if !ownerRe.MatchString(o) {
				errs = append(errs, fmt.Errorf("line %d: owner %q: want @user, @org/team or an email address", n, o))
			}
			r.Owners = append(r.Owners, o)
		}
		if strings.HasPrefix(r.Pattern, "!") || strings.ContainsAny(r.Pattern, "[]\\") {
			errs = append(errs, fmt.Errorf("line %d: pattern %q: GitHub supports no negation, character ranges or escapes, and would skip the line", n, r.Pattern))
			continue
		}
		r.re = compile(r.Pattern)
		f.Rules = append(f.Rules, r)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return f, nil
}

// compile turns a pattern into a regular expression over slash-separated
// paths relative to the repo root.
func compile(pattern string) *regexp.Regexp {
	dirOnly := strings.HasSuffix(pattern, "/")
	p := strings.TrimSuffix(pattern, "/")
	anchored := strings.HasPrefix(p, "/") || strings.Contains(p, "/")
	p = strings.TrimPrefix(p, "/")
	var b strings.Builder
	b.WriteString("^")
	if !anchored {
		b.WriteString("(?:.*/)?")
	}
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		last := i == len(segs)-1
		if seg == "**" {
			switch {
			case last:
				b.WriteString(".*")
			default:
				b.WriteString("(?:.*/)?")
			}
			continue
		}
		for _, c := range seg {
			switch c {
			case '*':
				b.WriteString("[^/]*")
			case '?':
				b.WriteString("[^/]")
			default:
				b.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
		if !last {
			b.WriteString("/")
		}
	}
	switch last := segs[len(segs)-1]; {
	case dirOnly:
		b.WriteString("/.+$")
	case last != "**" && strings.ContainsAny(last, "*?"):
		// GitHub's one departure from .gitignore: docs/* owns the files
		// in docs, not those in its subdirectories.
		b.WriteString("$")
	default:
		b.WriteString("(?:/.*)?$")
	}
	return regexp.MustCompile(b.String())
}

// Owners returns the owners of path (slash-separated, relative to the repo
// root) and the rule that decides them; nil when no rule matches.
func (f *File) Owners(path string) ([]string, *Rule) {
	for i := len(f.Rules) - 1; i >= 0; i-- {
		if f.Rules[i].re.MatchString(path) {
			return f.Rules[i].Owners, &f.Rules[i]
		}
	}
	return nil, nil
}
