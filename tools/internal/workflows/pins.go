// Package workflows checks the repo's GitHub Actions files: every action and
// reusable workflow they use from another repository is pinned by a full
// commit SHA, with its version tag in a comment, and one action is pinned to
// one commit everywhere (CheckRepo); and only jobs of the protected
// environment hold the release's credentials (CheckProtected).
//
// A tag or branch can be moved to other code by whoever controls the action's
// repository, and then runs with the job's token and cloud role; a commit SHA
// cannot. The comment keeps the pin readable, and Dependabot updates both.
package workflows

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Problem is one `uses:`, or one job, that breaks a rule.
type Problem struct {
	File   string // slash-separated, relative to the checked root
	Line   int
	Column int
	Uses   string // the value of uses:, for a pin's problem
	// Key is, for any other problem, where in the file it is: jobs.<id> or
	// a top-level key.
	Key string
	Msg string
}

func (p Problem) String() string {
	if p.Key != "" {
		return fmt.Sprintf("%s:%d:%d: %s: %s", p.File, p.Line, p.Column, p.Key, p.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: uses: %s: %s", p.File, p.Line, p.Column, p.Uses, p.Msg)
}

var (
	shaRe     = regexp.MustCompile(`^[0-9a-f]{40}$`)
	digestRe  = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)
	versionRe = regexp.MustCompile(`^#\s*v?[0-9][0-9A-Za-z.+-]*(\s|$)`)
	hexRe     = regexp.MustCompile(`^[0-9a-fA-F]{7,}$`)
)

// pin is one checked `uses:` of another repository's action.
type pin struct {
	repo    string // owner/name
	ref     string
	version string // the comment, trimmed
	where   Problem
}

// CheckFile checks the `uses:` of one workflow (jobs.*.uses,
// jobs.*.steps[*].uses) or action metadata file (runs.steps[*].uses).
// name is used in the problems only.
func CheckFile(name string, data []byte) ([]Problem, error) {
	problems, _, err := checkFile(name, data)
	return problems, err
}

func checkFile(name string, data []byte) ([]Problem, []pin, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("parsing %s: %w", name, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil, nil // an empty file uses nothing
	}
	var uses []*yaml.Node
	top := deref(doc.Content[0])
	for _, job := range values(field(top, "jobs")) {
		if u := field(job, "uses"); u != nil {
			uses = append(uses, u)
		}
		uses = append(uses, stepUses(field(job, "steps"))...)
	}
	uses = append(uses, stepUses(field(field(top, "runs"), "steps"))...)

	var problems []Problem
	var pins []pin
	for _, u := range uses {
		p := Problem{File: name, Line: u.Line, Column: u.Column, Uses: u.Value}
		if u.Kind != yaml.ScalarNode {
			p.Msg = "not a string"
			problems = append(problems, p)
			continue
		}
		pn, msg := checkUses(u.Value, u.LineComment)
		if msg != "" {
			p.Msg = msg
			problems = append(problems, p)
			continue
		}
		if pn.repo != "" {
			pn.where = p
			pins = append(pins, pn)
		}
	}
	return problems, pins, nil
}

// checkUses returns what is wrong with one uses: value and its line comment,
// or "" and the pin (empty for a local action).
func checkUses(uses, comment string) (pin, string) {
	switch {
	case strings.HasPrefix(uses, "./"):
		return pin{}, "" // this repository's own, at the same commit
	case strings.HasPrefix(uses, "docker://"):
		if !digestRe.MatchString(uses) {
			return pin{}, "pin the image by digest: docker://image@sha256:<64 hex>"
		}
		return pin{}, ""
	}
	target, ref, ok := strings.Cut(uses, "@")
	parts := strings.Split(target, "/")
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return pin{}, "want owner/repo[/path]@<commit SHA>, or ./path for a local action"
	}
	want := fmt.Sprintf("%s@<the 40-hex commit SHA of the release tag> # <tag>", target)
	switch {
	case !ok || ref == "":
		return pin{}, "no ref; pin it: " + want
	case hexRe.MatchString(ref) && !shaRe.MatchString(ref):
		return pin{}, fmt.Sprintf("%q is not a full lowercase 40-hex commit SHA; pin it: %s", ref, want)
	case !shaRe.MatchString(ref):
		return pin{}, fmt.Sprintf("%q is a tag or branch, which can be moved to other code; pin it: %s", ref, want)
	case !versionRe.MatchString(comment):
		return pin{}, "no version comment after the SHA; add the tag it resolves to, e.g. `# v1.2.3`, so reviewers and Dependabot can read it"
	}
	return pin{repo: parts[0] + "/" + parts[1], ref: ref, version: strings.TrimSpace(strings.TrimPrefix(comment, "#"))}, ""
}

// CheckRepo checks every workflow in .github/workflows and every action in
// .github/actions/*/ of fsys (a repo's root), and that each action repository
// is pinned to one commit, with one version comment, across all of them. It
// fails when there is no workflow to check, which means a wrong root.
func CheckRepo(fsys fs.FS) ([]Problem, error) {
	var files []string
	for _, pattern := range []string{
		".github/workflows/*.yml", ".github/workflows/*.yaml",
		".github/actions/*/action.yml", ".github/actions/*/action.yaml",
	} {
		m, err := fs.Glob(fsys, pattern)
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", pattern, err)
		}
		files = append(files, m...)
	}
	if !slices.ContainsFunc(files, func(f string) bool { return path.Dir(f) == ".github/workflows" }) {
		return nil, errors.New("no workflow files in .github/workflows: is this the repo's root?")
	}
	slices.Sort(files)

	var problems []Problem
	first := map[string]pin{}
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("reading workflow: %w", err)
		}
		ps, pins, err := checkFile(f, data)
		if err != nil {
			return nil, err
		}
		problems = append(problems, ps...)
		for _, pn := range pins {
			prev, seen := first[pn.repo]
			if !seen {
				first[pn.repo] = pn
				continue
			}
			at := fmt.Sprintf("%s:%d", prev.where.File, prev.where.Line)
			switch {
			case pn.ref != prev.ref:
				p := pn.where
				p.Msg = fmt.Sprintf("%s is pinned to %s (# %s) at %s; pin one commit everywhere", pn.repo, prev.ref, prev.version, at)
				problems = append(problems, p)
			case pn.version != prev.version:
				p := pn.where
				p.Msg = fmt.Sprintf("the same commit is commented # %s at %s; one commit has one version", prev.version, at)
				problems = append(problems, p)
			}
		}
	}
	slices.SortStableFunc(problems, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	return problems, nil
}

// deref follows an alias (workflows may use YAML anchors).
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// field returns the value of key in mapping n, or nil.
func field(n *yaml.Node, key string) *yaml.Node {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return deref(n.Content[i+1])
		}
	}
	return nil
}

// values returns the values of mapping n (the jobs by id).
func values(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var out []*yaml.Node
	for i := 1; i < len(n.Content); i += 2 {
		out = append(out, deref(n.Content[i]))
	}
	return out
}

func stepUses(steps *yaml.Node) []*yaml.Node {
	if steps == nil || steps.Kind != yaml.SequenceNode {
		return nil
	}
	var out []*yaml.Node
	for _, s := range steps.Content {
		if u := field(s, "uses"); u != nil {
			out = append(out, u)
		}
	}
	return out
}
