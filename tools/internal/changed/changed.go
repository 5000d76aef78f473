// Package changed finds the bots whose images a range of commits changes,
// from what feeds each image: its Dockerfile and dockerignore, what the
// Dockerfile copies from the repo (the build context is the repo root), and
// of that, for the Go modules (pkg/ and bots/<bot>/), only the files of the
// packages the bot links (go list -deps: the source and embedded files) and
// the module versions it selects built alone (GOWORK=off, as its image
// builds). A bot's README or manifests, tests, docs, tools/ and go.work
// change no image; nor does a go.sum, which selects no version.
//
// Revisions are compared as a pull request is: head against its merge base
// with base. Each bot may have a base of its own (Options.Bases), such as the
// commit its running image was built from, so a bot whose last build failed
// stays changed until one succeeds. A change of where images are pushed (the
// account, region, registry or image prefix in botfleet.yaml) changes every
// bot. A renamed bot is a new bot; a deleted bot is not listed. Head
// is listed in the work tree when it holds exactly head, else in an
// extracted copy; the base revision only ever needs its go.mod files, read
// offline (GOPROXY=off) from the module cache. Where go cannot answer (a bot
// that does not build at head, a base module missing from the cache), the
// bot is listed: a needless build is cheaper than a stale image.
package changed

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/botfleet/botfleet/tools/internal/settings"
)

// Options say which revisions to compare, in which repository.
type Options struct {
	Repo string // the repo's root, a git work tree
	// Base is the revision every bot is compared with; required unless
	// Bases is set, and not with it.
	Base string
	// Bases gives each bot its own base revision, by name, in place of Base.
	// A bot with no entry, an empty one, or one that names no commit here is
	// listed: what it was last built from is unknown.
	Bases map[string]string
	Head  string // a revision; "" means HEAD
	// GoEnv is added to the go commands' environment (KEY=value), e.g. GOMODCACHE.
	GoEnv []string
	// Jobs is how many go list processes run at once; 0 means GOMAXPROCS.
	Jobs int
}

// Result is the answer of Bots.
type Result struct {
	// Base is the commit compared with Head: the merge base of Options.Base
	// and Head; "" with Options.Bases.
	Base string
	// Bases maps each bot that had a base to the commit it was compared with
	// (the merge base of its base and Head).
	Bases map[string]string
	Head  string // Options.Head's commit
	// Bots are the changed bots' names, sorted; never nil.
	Bots []string
	// Reasons says, for each bot in Bots, the first change found to affect
	// its image.
	Reasons map[string]string
}

// bot is one bot at the head revision.
type bot struct {
	name, dir string // dir: "bots/<name>"
	base      string // the commit it is compared with; "" when none is known
	ctx       buildContext
	goMod     []byte // at head
	baseGoMod []byte // at base; nil for a new bot

	reason   string   // why it changed; "" while it has not
	pkgs     []change // changes that matter if a linked package has the file
	modules  bool     // its go.mod changed beyond comments: compare the modules it selects
	pkgGoMod bool     // pkg/go.mod changed
	head     *listing // the packages it links at head
}

// need is what it takes to tell whether a change affects a bot.
type need int

const (
	none     need = iota // the change is not an input of the image
	direct               // it is
	packages             // it is when a package the bot links has the file
	modules              // it is when the module versions the bot links differ
	pkgGoMod             // it is when the bot links a module whose pkg/go.mod line changed
)

// Bots returns the bots whose images differ between Head and the merge base
// of Head and each bot's base (o.Base, or its entry in o.Bases). It runs git
// and go (never a shell), and extracts the revisions that go list needs into
// temporary directories, which it removes. Cancelling ctx kills them. Safe
// for concurrent use.
func Bots(ctx context.Context, o Options) (*Result, error) {
	switch {
	case o.Base == "" && o.Bases == nil:
		return nil, fmt.Errorf("no base revision")
	case o.Base != "" && o.Bases != nil:
		return nil, fmt.Errorf("a base revision and bases per bot: give one")
	}
	repo, err := filepath.Abs(o.Repo)
	if err != nil {
		return nil, err
	}
	if repo, err = filepath.EvalSymlinks(repo); err != nil {
		return nil, fmt.Errorf("repo: %w", err)
	}
	g := git{dir: repo}
	head, err := g.commit(ctx, "--head", cmp.Or(o.Head, "HEAD"))
	if err != nil {
		return nil, err
	}
	res := &Result{Head: head, Bots: []string{}, Bases: map[string]string{}, Reasons: map[string]string{}}
	names, err := g.subdirs(ctx, head, "bots")
	if err != nil {
		return nil, err
	}
	bases := map[string]string{} // bot name to its merge base with head
	unknown := map[string]string{}
	if o.Bases == nil {
		base, err := g.commit(ctx, "--base", o.Base)
		if err != nil {
			return nil, err
		}
		if res.Base, err = g.mergeBase(ctx, base, head); err != nil {
			return nil, err
		}
		for _, n := range names {
			bases[n] = res.Base
		}
	} else {
		merged := map[string]string{} // a base's commit to its merge base, computed once
		for _, n := range names {
			rev := o.Bases[n]
			if rev == "" {
				unknown[n] = "no base known: what it was last built from is unknown"
				continue
			}
			c, err := g.commit(ctx, "base of "+n, rev)
			if err != nil {
				unknown[n] = fmt.Sprintf("its base %s is no commit here", rev)
				continue
			}
			if _, ok := merged[c]; !ok {
				if merged[c], err = g.mergeBase(ctx, c, head); err != nil {
					return nil, err
				}
			}
			bases[n] = merged[c]
		}
	}
	bots, err := loadBots(ctx, g, names, bases, head)
	if err != nil {
		return nil, err
	}
	changes := map[string][]change{} // by base
	moved := map[string]string{}     // by base: why every image moves
	var list []*bot
	for _, b := range bots {
		if why, ok := unknown[b.name]; ok {
			b.reason = why
		}
		if b.reason != "" {
			continue
		}
		cs, ok := changes[b.base]
		if !ok {
			if cs, err = g.diff(ctx, b.base, head); err != nil {
				return nil, err
			}
			changes[b.base] = cs
			if moved[b.base], err = imagesMoved(ctx, g, b.base, head, cs); err != nil {
				return nil, err
			}
		}
		if b.reason = moved[b.base]; b.reason != "" {
			continue
		}
		for _, c := range cs {
			switch b.classify(c) {
			case direct:
				b.reason = c.path
			case packages:
				b.pkgs = append(b.pkgs, c)
			case modules:
				// Comments and layout change nothing.
				b.modules = b.modules || !slices.Equal(goModLines(b.baseGoMod), goModLines(b.goMod))
			case pkgGoMod:
				b.pkgGoMod = true
			}
			if b.reason != "" {
				break
			}
		}
		if b.reason == "" && (len(b.pkgs) > 0 || b.modules || b.pkgGoMod) {
			list = append(list, b)
		}
	}
	if len(list) > 0 {
		c := &checker{g: g, head: head, env: o.GoEnv, jobs: cmp.Or(o.Jobs, runtime.GOMAXPROCS(0))}
		defer c.close()
		if err := c.check(ctx, list); err != nil {
			return nil, err
		}
	}
	for _, b := range bots {
		if b.base != "" {
			res.Bases[b.name] = b.base
		}
		if b.reason != "" {
			res.Bots = append(res.Bots, b.name)
			res.Reasons[b.name] = b.reason
		}
	}
	slices.Sort(res.Bots)
	return res, nil
}

// imagesMoved says why every image must be built again between base and
// head: the settings that name where images are pushed (account, region,
// registry, image prefix) differ, so the images the overlays will name do not
// exist yet. "" when they are the same.
func imagesMoved(ctx context.Context, g git, base, head string, changes []change) (string, error) {
	if !slices.ContainsFunc(changes, func(c change) bool { return c.path == settings.FileName }) {
		return "", nil
	}
	before, err := g.files(ctx, base, []string{settings.FileName})
	if err != nil {
		return "", err
	}
	after, err := g.files(ctx, head, []string{settings.FileName})
	if err != nil {
		return "", err
	}
	// Leniently: only these values matter, and an older file may not pass
	// today's validation.
	var b, a struct {
		AWS settings.AWS `json:"aws"`
	}
	_ = yaml.Unmarshal(before[settings.FileName], &b)
	_ = yaml.Unmarshal(after[settings.FileName], &a)
	for _, f := range []struct{ key, before, after string }{
		{"aws.accountID", b.AWS.AccountID, a.AWS.AccountID},
		{"aws.region", b.AWS.Region, a.AWS.Region},
		{"aws.ecrRegistry", b.AWS.ECRRegistry, a.AWS.ECRRegistry},
		{"aws.imagePrefix", b.AWS.ImagePrefix, a.AWS.ImagePrefix},
	} {
		if f.before != f.after {
			return fmt.Sprintf("%s: %s %q -> %q: every image is pushed anew", settings.FileName, f.key, f.before, f.after), nil
		}
	}
	return "", nil
}

// checker decides, with go list, about the bots whose changes are Go
// packages or modules.
type checker struct {
	g        git
	head     string
	env      []string
	jobs     int
	headTree string // where head is checked out: the work tree or a temp dir
	temps    []string
}

func (c *checker) close() {
	for _, t := range c.temps {
		os.RemoveAll(t)
	}
}

func (c *checker) check(ctx context.Context, bots []*bot) error {
	if err := c.listHead(ctx, bots); err != nil {
		return err
	}
	for _, b := range bots {
		if b.reason == "" && len(b.pkgs) > 0 {
			b.reason = b.packageChange()
		}
	}
	if slices.ContainsFunc(bots, func(b *bot) bool { return b.reason == "" && b.pkgGoMod }) {
		if err := c.pkgGoMod(ctx, bots); err != nil {
			return err
		}
	}
	var compare []*bot
	for _, b := range bots {
		if b.reason == "" && b.modules {
			compare = append(compare, b)
		}
	}
	if len(compare) == 0 {
		return nil
	}
	return c.compareModules(ctx, compare)
}

// listHead lists the packages each bot links at head: with one go list in a
// workspace of all of them, or, should that fail, one per bot as its image
// builds.
func (c *checker) listHead(ctx context.Context, bots []*bot) error {
	c.headTree = c.g.dir
	clean, err := c.g.clean(ctx, c.head, "pkg", "bots")
	if err != nil {
		return err
	}
	if !clean {
		// Only what some bot's image build can see: go list gives no other answer.
		paths := []string{"pkg"}
		for _, b := range bots {
			paths = append(paths, b.dir)
		}
		keep := func(p string) bool {
			return slices.ContainsFunc(bots, func(b *bot) bool { return b.ctx.includes(p) })
		}
		if c.headTree, err = c.extract(ctx, c.head, paths, keep); err != nil {
			return err
		}
	}
	dirs := make([]string, len(bots))
	goVersion := ""
	for i, b := range bots {
		dirs[i] = b.dir
		goVersion = maxGo(goVersion, goLine(b.goMod))
	}
	pkgMod, _ := os.ReadFile(filepath.Join(c.headTree, "pkg", "go.mod"))
	goVersion = maxGo(goVersion, goLine(pkgMod))
	listings, err := goListWorkspace(ctx, c.headTree, dirs, []string{"pkg"}, goVersion, c.env)
	if err != nil {
		listings = nil // each bot alone, below, tells what is wrong
	}
	var alone []*bot
	for _, b := range bots {
		// A package error may come from the workspace (its one version of
		// each module for all bots); the bot alone says whether it builds.
		if b.head = listings[b.dir]; b.head == nil || b.head.brokenPackage() != "" {
			alone = append(alone, b)
		}
	}
	forEach(alone, c.jobs, func(b *bot) {
		l, err := goList(ctx, c.headTree, b.dir, c.env)
		if err != nil {
			// Its image does not build either: list it, so the build shows why.
			b.reason = "does not build at head: " + err.Error()
			return
		}
		b.head = l
	})
	return ctx.Err()
}

// pkgGoMod decides about the bots for which pkg/go.mod changed. Only its
// go line (the language version of pkg's packages) and requirements reach a
// bot's build: a changed go line changes every bot that links pkg; a
// changed requirement can change the modules of the bots that link that
// module, which compareModules then tells.
func (c *checker) pkgGoMod(ctx context.Context, bots []*bot) error {
	const name = "pkg/go.mod"
	after, err := os.ReadFile(filepath.Join(c.headTree, "pkg", "go.mod"))
	if err != nil {
		return fmt.Errorf("reading %s at %s: %w", name, short(c.head), err)
	}
	goAfter, reqAfter := parseGoMod(after)
	type diff struct {
		goBefore string
		reqs     map[string]bool // the requirements that changed
	}
	diffs := map[string]diff{} // by base
	for _, b := range bots {
		if b.reason != "" || !b.pkgGoMod || b.head == nil {
			continue
		}
		d, ok := diffs[b.base]
		if !ok {
			before, err := c.g.files(ctx, b.base, []string{name})
			if err != nil {
				return err
			}
			var reqBefore map[string]string
			d.goBefore, reqBefore = parseGoMod(before[name])
			d.reqs = map[string]bool{}
			for p, v := range reqBefore {
				if reqAfter[p] != v {
					d.reqs[p] = true
				}
			}
			for p, v := range reqAfter {
				if reqBefore[p] != v {
					d.reqs[p] = true
				}
			}
			diffs[b.base] = d
		}
		goBefore, changedReqs := d.goBefore, d.reqs
		linked := b.head.modulePaths()
		switch {
		case goBefore != goAfter && linked[b.head.pkgModule()]:
			b.reason = fmt.Sprintf("%s: go %s -> %s", name, goBefore, goAfter)
		case slices.ContainsFunc(slices.Collect(maps.Keys(changedReqs)), func(p string) bool { return linked[p] }):
			b.modules = true
		}
	}
	return nil
}

// compareModules marks the bots that link other module versions at base
// than at head, or whose go.mod's go, toolchain, godebug or replace lines
// changed.
// Versions are those of each bot built alone (GOWORK=off), as its image is.
// The base revision is read offline: its go.mod files must be in the
// module cache.
func (c *checker) compareModules(ctx context.Context, bots []*bot) error {
	// go mod graph reads go.mod and go.sum files, no more.
	paths := map[string][]string{} // by base
	for _, b := range bots {
		if paths[b.base] == nil {
			paths[b.base] = []string{"pkg/go.mod", "pkg/go.sum"}
		}
		paths[b.base] = append(paths[b.base], b.dir+"/go.mod", b.dir+"/go.sum")
	}
	trees := map[string]string{}
	for _, base := range slices.Sorted(maps.Keys(paths)) {
		tree, err := c.checkout(ctx, base, paths[base])
		if err != nil {
			return err
		}
		trees[base] = tree
	}
	forEach(bots, c.jobs, func(b *bot) {
		baseTree := trees[b.base]
		baseMod, err := os.ReadFile(filepath.Join(baseTree, b.dir, "go.mod"))
		if err != nil {
			b.reason = "no go.mod at " + short(b.base)
			return
		}
		if d := diffDirectives(baseMod, b.goMod); d != "" {
			b.reason = b.dir + "/go.mod: " + d
			return
		}
		if !slices.Equal(replaces(baseMod), replaces(b.goMod)) {
			b.reason = b.dir + "/go.mod: replace directives changed"
			return
		}
		after, err := selectedVersions(ctx, c.headTree, b.dir, c.env, false)
		if err != nil {
			b.reason = "does not build at head: " + err.Error()
			return
		}
		before, err := selectedVersions(ctx, baseTree, b.dir, c.env, true)
		if err != nil {
			// Can't tell, so build it: a needless build is cheaper than a stale image.
			b.reason = "cannot list the modules it built with at " + short(b.base) + ": " + err.Error()
			return
		}
		for _, p := range slices.Sorted(maps.Keys(b.head.modulePaths())) {
			if before[p] != after[p] {
				b.reason = fmt.Sprintf("module %s: %s -> %s", p, cmp.Or(before[p], "none"), cmp.Or(after[p], "none"))
				return
			}
		}
	})
	return ctx.Err()
}

// checkout writes those of paths (files) that exist at commit into a temp
// dir, and returns it.
func (c *checker) checkout(ctx context.Context, commit string, paths []string) (string, error) {
	files, err := c.g.files(ctx, commit, paths)
	if err != nil {
		return "", err
	}
	tmp, err := c.tempDir()
	if err != nil {
		return "", err
	}
	root, err := os.OpenRoot(tmp)
	if err != nil {
		return "", err
	}
	defer root.Close()
	for name, data := range files {
		if err := root.MkdirAll(path.Dir(name), 0o755); err != nil {
			return "", err
		}
		if err := root.WriteFile(name, data, 0o644); err != nil {
			return "", err
		}
	}
	return tmp, nil
}

func (c *checker) tempDir() (string, error) {
	tmp, err := os.MkdirTemp("", "botctl-changed-")
	if err != nil {
		return "", err
	}
	c.temps = append(c.temps, tmp)
	return filepath.EvalSymlinks(tmp)
}

func (c *checker) extract(ctx context.Context, commit string, paths []string, keep func(string) bool) (string, error) {
	tmp, err := c.tempDir()
	if err != nil {
		return "", err
	}
	return tmp, c.g.extract(ctx, commit, tmp, paths, keep)
}

// loadBots reads, at head, every bots/<name> (names) with a go.mod: its
// Dockerfile and dockerignore; and its go.mod at its base (bases, by name;
// a bot with none keeps an empty base). A bot without a go.mod at its base
// is new, so changed.
func loadBots(ctx context.Context, g git, names []string, bases map[string]string, head string) ([]*bot, error) {
	paths := []string{".dockerignore"}
	goMods := map[string][]string{} // by base
	for _, n := range names {
		dir := "bots/" + n
		paths = append(paths, dir+"/go.mod", dir+"/Dockerfile", dir+"/Dockerfile.dockerignore")
		if base := bases[n]; base != "" {
			goMods[base] = append(goMods[base], dir+"/go.mod")
		}
	}
	files, err := g.files(ctx, head, paths)
	if err != nil {
		return nil, err
	}
	atBase := map[string]map[string][]byte{}
	for base, mods := range goMods {
		if atBase[base], err = g.files(ctx, base, mods); err != nil {
			return nil, err
		}
	}
	var bots []*bot
	for _, n := range names {
		b := &bot{name: n, dir: "bots/" + n, base: bases[n]}
		var ok bool
		if b.goMod, ok = files[b.dir+"/go.mod"]; !ok {
			continue // not a Go module, so not a bot
		}
		if df, ok := files[b.dir+"/Dockerfile"]; ok {
			b.ctx.sources = copySources(df)
		} else {
			// No Dockerfile yet: what docs/architecture.md says every bot's copies.
			b.ctx.sources = []string{"pkg", b.dir}
		}
		ign, ok := files[b.dir+"/Dockerfile.dockerignore"]
		if !ok {
			ign = files[".dockerignore"]
		}
		b.ctx.ignore = parseIgnore(ign)
		if b.base != "" {
			if b.baseGoMod, ok = atBase[b.base][b.dir+"/go.mod"]; !ok {
				b.reason = "new bot: no " + b.dir + "/go.mod at " + short(b.base)
			}
		}
		bots = append(bots, b)
	}
	return bots, nil
}

// moduleRoots are the Go modules a bot's image is built from: the bot's and
// the shared framework it replaces with ../../pkg.
func (b *bot) moduleRoot(p string) string {
	for _, root := range []string{b.dir, "pkg"} {
		if strings.HasPrefix(p, root+"/") {
			return root
		}
	}
	return ""
}

// classify tells what it takes to know whether change c affects b's image.
func (b *bot) classify(c change) need {
	p := c.path
	if p == b.dir+"/Dockerfile" || p == b.dir+"/Dockerfile.dockerignore" {
		return direct
	}
	if !b.ctx.includes(p) {
		return none
	}
	root := b.moduleRoot(p)
	if root == "" {
		return direct // copied from elsewhere in the repo
	}
	for _, src := range b.ctx.sources {
		if strings.HasPrefix(src, root+"/") && covers(src, p) {
			return direct // copied by name, not just as part of a module
		}
	}
	switch {
	case p == "pkg/go.mod":
		return pkgGoMod
	case p == "pkg/go.sum":
		return none // only the main module's go.sum is read, the bot's
	case p == root+"/go.sum":
		return none // checksums select no version
	case p == root+"/go.mod":
		return modules
	case strings.HasSuffix(p, "_test.go"):
		return none
	}
	return packages
}

// packageChange returns the first of b.pkgs that a package b links at head
// builds from (a source or embedded file), or a package error; "" if none.
func (b *bot) packageChange() string {
	if b.head == nil {
		return ""
	}
	if broken := b.head.brokenPackage(); broken != "" {
		return "does not build at head: " + broken
	}
	dirs := b.head.byDir()
	for _, c := range b.pkgs {
		for dir := path.Dir(c.path); dir != "."; dir = path.Dir(dir) {
			pkg, ok := dirs[dir]
			if !ok {
				continue
			}
			rel := c.path[len(dir)+1:]
			name := path.Base(c.path)
			switch {
			case rel == name && !c.deleted && pkg.sourceFile(name),
				rel == name && c.deleted && sourceExt(name),
				!c.deleted && slices.Contains(pkg.EmbedFiles, rel),
				c.deleted && pkg.embeds(rel):
				return c.path + " (package " + pkg.ImportPath + ")"
			}
		}
	}
	return ""
}

func short(commit string) string { return commit[:min(len(commit), 12)] }
