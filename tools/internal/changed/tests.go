package changed

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// TestsResult is the answer of Tests.
type TestsResult struct {
	Base string // the merge base of Options.Base and the head compared
	Head string // the head commit; "" when the work tree was compared
	// Modules are the directories of the modules whose tests the changes
	// can affect ("bots/hello", "pkg", "tools"), sorted; never nil.
	Modules []string
	// Reasons says, for each module, the first change found to affect it.
	Reasons map[string]string
}

// referenceBot is the bot tools' tests regenerate from the scaffold's
// templates and compare file by file (TestHelloIsTemplateOutput).
const referenceBot = "hello"

// everything are the files whose change affects every module's tests: the
// workspace, and how the tests are run.
var everything = []string{"go.work", "go.work.sum", "Makefile", ".ci/"}

// Tests returns the modules (pkg, tools, bots/<name>) whose tests the
// changes from the merge base of o.Base and o.Head to o.Head can affect;
// with o.Head "", the changes from the merge base with HEAD to the work
// tree, uncommitted and untracked files included.
//
// A change affects:
//   - the module that holds it;
//   - every module whose tests (test files counted) link the package that
//     holds it, unless it is a test file or test data, which only its own
//     module's tests read; a go.mod or go.sum affects every module that
//     links one of that module's packages. This is `go list -deps -test` in
//     a workspace of all the modules: a pkg change reaches every bot that
//     links the package, and tools where it links it;
//   - every module, for go.work, go.work.sum, the Makefile and .ci/;
//   - tools, for any other file but a bot's Go code and test data: tools'
//     tests read the repo itself (botfleet.yaml, manifests/, workflows, docs,
//     every bot's manifests and Dockerfile, pkg for a new bot's tests and
//     the docs' samples, and all of the reference bot).
//
// A module that does not build at head is listed. Revisions are read as
// Bots reads them. Cancelling ctx kills git and go.
func Tests(ctx context.Context, o Options) (*TestsResult, error) {
	if o.Base == "" {
		return nil, fmt.Errorf("no base revision")
	}
	repo, err := filepath.Abs(o.Repo)
	if err != nil {
		return nil, err
	}
	if repo, err = filepath.EvalSymlinks(repo); err != nil {
		return nil, fmt.Errorf("repo: %w", err)
	}
	g := git{dir: repo}
	workTree := o.Head == ""
	head, err := g.commit(ctx, "--head", cmp.Or(o.Head, "HEAD"))
	if err != nil {
		return nil, err
	}
	base, err := g.commit(ctx, "--base", o.Base)
	if err != nil {
		return nil, err
	}
	if base, err = g.mergeBase(ctx, base, head); err != nil {
		return nil, err
	}
	res := &TestsResult{Base: base, Modules: []string{}, Reasons: map[string]string{}}
	var changes []change
	if workTree {
		changes, err = g.workTreeChanges(ctx, base)
	} else {
		res.Head = head
		changes, err = g.diff(ctx, base, head)
	}
	if err != nil || len(changes) == 0 {
		return res, err
	}

	// The tree at head: the work tree, or, for a commit it does not hold, a copy.
	tree := repo
	if !workTree {
		clean, err := g.clean(ctx, head)
		if err != nil {
			return nil, err
		}
		if !clean {
			tmp, err := os.MkdirTemp("", "botctl-changed-tests-")
			if err != nil {
				return nil, err
			}
			defer os.RemoveAll(tmp)
			if err := g.extract(ctx, head, tmp, []string{"."}, func(string) bool { return true }); err != nil {
				return nil, err
			}
			tree = tmp
		}
	}
	modules, err := moduleDirs(tree)
	if err != nil {
		return nil, err
	}
	affect := func(m, why string) {
		if _, ok := res.Reasons[m]; !ok && slices.Contains(modules, m) {
			res.Reasons[m] = why
		}
	}

	var linked []change // changes other modules' tests may link
	for _, c := range changes {
		p := c.path
		if slices.ContainsFunc(everything, func(e string) bool { return p == e || strings.HasSuffix(e, "/") && strings.HasPrefix(p, e) }) {
			for _, m := range modules {
				affect(m, p)
			}
			continue
		}
		own := owner(modules, p)
		if own != "" {
			affect(own, p)
		}
		if toolsRead(p) {
			affect("tools", p)
		}
		if own != "" && !testOnly(p) {
			linked = append(linked, c)
		}
	}
	var rest []string
	for _, m := range modules {
		if _, ok := res.Reasons[m]; !ok {
			rest = append(rest, m)
		}
	}
	if len(linked) > 0 && len(rest) > 0 {
		graphs, err := listTests(ctx, tree, modules, o.GoEnv)
		if err != nil {
			return nil, err
		}
		for _, m := range rest {
			gr := graphs[m]
			if gr == nil {
				continue // no packages, no tests
			}
			if gr.broken != "" {
				affect(m, "does not build at head: "+gr.broken)
				continue
			}
			for _, c := range linked {
				if why := gr.links(tree, modules, c.path); why != "" {
					affect(m, why)
					break
				}
			}
		}
	}
	for m := range res.Reasons {
		res.Modules = append(res.Modules, m)
	}
	slices.Sort(res.Modules)
	return res, nil
}

// moduleDirs lists the repo's modules in tree: pkg, tools, bench and bots/<name>,
// those with a go.mod.
func moduleDirs(tree string) ([]string, error) {
	bots, err := filepath.Glob(filepath.Join(tree, "bots", "*", "go.mod"))
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, m := range []string{"pkg", "tools", "bench"} {
		if _, err := os.Stat(filepath.Join(tree, m, "go.mod")); err == nil {
			dirs = append(dirs, m)
		}
	}
	for _, b := range bots {
		dirs = append(dirs, "bots/"+filepath.Base(filepath.Dir(b)))
	}
	slices.Sort(dirs)
	return dirs, nil
}

// owner returns the module that holds p, or "".
func owner(modules []string, p string) string {
	for _, m := range modules {
		if strings.HasPrefix(p, m+"/") {
			return m
		}
	}
	return ""
}

// testOnly reports whether only its own package's tests read p: a test
// file or test data.
func testOnly(p string) bool {
	return strings.HasSuffix(p, "_test.go") || slices.Contains(strings.Split(path.Dir(p), "/"), "testdata")
}

// toolsRead reports whether tools' tests read p (see Tests).
func toolsRead(p string) bool {
	rest, ok := strings.CutPrefix(p, "bots/")
	if ok {
		bot, _, _ := strings.Cut(rest, "/")
		if bot == referenceBot {
			return true
		}
		return !testOnly(p) && !strings.HasSuffix(p, ".go")
	}
	return !testOnly(p) || strings.HasPrefix(p, "tools/")
}

// testGraph is what one module's tests build: the directories of the repo's
// packages they link, test packages included.
type testGraph struct {
	dirs    map[string]bool // slash paths relative to the tree
	modules map[string]bool // the repo modules they come from
	broken  string          // the first package error; "" if none
}

// links tells why the tests of gr's module link the change at p, or "":
// its package (the nearest directory above p with Go files) is linked, or
// p is a go.mod or go.sum of a module whose packages are.
func (gr *testGraph) links(tree string, modules []string, p string) string {
	m := owner(modules, p)
	if base := path.Base(p); path.Dir(p) == m && (base == "go.mod" || base == "go.sum") {
		if gr.modules[m] {
			return p + " (the module " + m + ", whose packages its tests link)"
		}
		return ""
	}
	for dir := path.Dir(p); dir != m && dir != "."; dir = path.Dir(dir) {
		if gr.dirs[dir] {
			return p + " (package " + dir + ", which its tests link)"
		}
		if hasGoFiles(filepath.Join(tree, filepath.FromSlash(dir))) {
			return "" // p's package, which they do not link
		}
	}
	return ""
}

func hasGoFiles(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(entries, func(e fs.DirEntry) bool { return !e.IsDir() && strings.HasSuffix(e.Name(), ".go") })
}

// listTests lists, with one go list -deps -test in a workspace of all the
// modules in tree, what each module's tests build.
func listTests(ctx context.Context, tree string, modules []string, env []string) (map[string]*testGraph, error) {
	tmp, err := os.MkdirTemp("", "botctl-changed-work-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	goVersion := ""
	var work strings.Builder
	for _, m := range modules {
		data, _ := os.ReadFile(filepath.Join(tree, m, "go.mod"))
		goVersion = maxGo(goVersion, goLine(data))
	}
	if goVersion != "" {
		fmt.Fprintf(&work, "go %s\n\n", goVersion)
	}
	work.WriteString("use (\n")
	args := []string{"list", "-e", "-deps", "-test", "-json=ImportPath,Dir,Standard,Deps,Module,Error,DepsErrors"}
	for _, m := range modules {
		fmt.Fprintf(&work, "\t%s\n", strconv.Quote(filepath.Join(tree, filepath.FromSlash(m))))
		args = append(args, "./"+m+"/...")
	}
	work.WriteString(")\n")
	gowork := filepath.Join(tmp, "go.work")
	if err := os.WriteFile(gowork, []byte(work.String()), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = tree
	cmd.Env = slices.Concat(os.Environ(), env, []string{"PWD=" + tree, "GOWORK=" + gowork, "GOFLAGS=" + strings.TrimSpace(os.Getenv("GOFLAGS")+" -mod=readonly")})
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -deps -test in a workspace of the modules: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	type pkg struct {
		ImportPath string
		Dir        string
		Standard   bool
		Deps       []string
		Module     *struct{ Dir string }
		Error      *struct{ Err string }
		DepsErrors []*struct{ Err string }
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("decoding go list's output: %w", err)
		}
		if !p.Standard {
			pkgs = append(pkgs, p)
		}
	}
	rel := func(dir string) string {
		r, err := filepath.Rel(tree, dir)
		if err != nil || dir == "" || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
			return "" // the module cache
		}
		return filepath.ToSlash(r)
	}
	byPath := make(map[string]*pkg, len(pkgs))
	for i := range pkgs {
		byPath[pkgs[i].ImportPath] = &pkgs[i]
	}
	graphs := map[string]*testGraph{}
	for i := range pkgs {
		p := &pkgs[i]
		if p.Module == nil {
			continue
		}
		m := rel(p.Module.Dir)
		if !slices.Contains(modules, m) {
			continue
		}
		gr := graphs[m]
		if gr == nil {
			gr = &testGraph{dirs: map[string]bool{}, modules: map[string]bool{}}
			graphs[m] = gr
		}
		for _, d := range append([]*pkg{p}, deps(p.Deps, byPath)...) {
			if d.Error != nil && gr.broken == "" {
				gr.broken = d.ImportPath + ": " + d.Error.Err
			}
			if dir := rel(d.Dir); dir != "" {
				gr.dirs[dir] = true
				if dm := owner(modules, dir+"/"); dm != "" {
					gr.modules[dm] = true
				}
			}
		}
		if len(p.DepsErrors) > 0 && gr.broken == "" {
			gr.broken = p.ImportPath + ": " + p.DepsErrors[0].Err
		}
	}
	return graphs, nil
}

func deps[P any](paths []string, byPath map[string]*P) []*P {
	out := make([]*P, 0, len(paths))
	for _, d := range paths {
		if p, ok := byPath[d]; ok {
			out = append(out, p)
		}
	}
	return out
}
