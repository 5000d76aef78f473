package changed

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/version"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// goPackage is one package of `go list -deps -json`.
type goPackage struct {
	ImportPath string
	Dir        string
	Standard   bool
	Deps       []string
	Module     *goModule
	Error      *struct{ Err string }

	// The files the compiler and linker read; test files never reach an image.
	GoFiles, CgoFiles, CFiles, CXXFiles, MFiles, HFiles, FFiles, SFiles []string
	SwigFiles, SwigCXXFiles, SysoFiles                                  []string
	EmbedFiles, EmbedPatterns                                           []string
}

type goModule struct {
	Path string
}

// listFields are the fields asked of go list: the less it reports, the faster.
const listFields = "ImportPath,Dir,Standard,Deps,Module,Error,GoFiles,CgoFiles,CFiles,CXXFiles,MFiles,HFiles,FFiles,SFiles,SwigFiles,SwigCXXFiles,SysoFiles,EmbedFiles,EmbedPatterns"

// listing is what one bot's main package links, in one tree.
type listing struct {
	root string // the tree's root, symlinks resolved
	pkgs []goPackage
}

// Platform is the platform every image is built for: the workflows' docker
// builds ask for it (platforms: linux/amd64), and Fargate runs it.
const Platform = "linux/amd64"

// imageBuildEnv makes go list pick the files an image's build compiles,
// whatever machine botctl runs on: build constraints (x_amd64.go,
// //go:build arm64, amd64.v3, goexperiment.x) choose files by these, so the
// caller's GOOS and GOARCH would hide a change to another platform's file.
// What the Dockerfiles leave unset gets Go's default, as in the image.
func imageBuildEnv() []string {
	goos, goarch, _ := strings.Cut(Platform, "/")
	return []string{"GOOS=" + goos, "GOARCH=" + goarch, "GOAMD64=v1", "GOEXPERIMENT=", "CGO_ENABLED=0"}
}

// goList lists the packages the bot in dir links, as its image builds it:
// alone (GOWORK=off), for the images' platform, without cgo, never editing
// go.mod.
func goList(ctx context.Context, root, botDir string, env []string) (*listing, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-e", "-deps", "-json="+listFields, ".")
	cmd.Dir = filepath.Join(root, filepath.FromSlash(botDir))
	cmd.Env = slices.Concat(os.Environ(), env, []string{
		"PWD=" + cmd.Dir,
		"GOWORK=off",
		"GOFLAGS=-mod=readonly",
	}, imageBuildEnv())
	pkgs, err := runList(cmd)
	if err != nil {
		return nil, fmt.Errorf("go list in %s: %w", botDir, err)
	}
	return &listing{root: root, pkgs: pkgs}, nil
}

// selectedVersions returns the version of each module that the bot in dir,
// built alone, selects: the highest in its module graph (minimal version
// selection). It reads `go mod graph`, which needs only go.mod files, none
// of the module cache's .info files that `go list -m` wants offline.
func selectedVersions(ctx context.Context, root, botDir string, env []string, offline bool) (map[string]string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "graph")
	cmd.Dir = filepath.Join(root, filepath.FromSlash(botDir))
	cmd.Env = slices.Concat(os.Environ(), env, []string{"PWD=" + cmd.Dir, "GOWORK=off", "GOFLAGS=-mod=readonly"})
	if offline {
		cmd.Env = append(cmd.Env, "GOPROXY=off")
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go mod graph in %s: %w: %s", botDir, err, strings.TrimSpace(stderr.String()))
	}
	selected := map[string]string{}
	for _, node := range strings.Fields(string(out)) {
		p, v, ok := strings.Cut(node, "@")
		if !ok || p == "go" || p == "toolchain" {
			continue // the main module, or not a module
		}
		if old, ok := selected[p]; !ok || compareSemver(v, old) > 0 {
			selected[p] = v
		}
	}
	return selected, nil
}

// runList runs a go list -json command and returns the packages it lists,
// but the standard library's.
func runList(cmd *exec.Cmd) ([]goPackage, error) {
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var pkgs []goPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			return pkgs, nil
		} else if err != nil {
			return nil, fmt.Errorf("decoding its output: %w", err)
		}
		if !p.Standard {
			pkgs = append(pkgs, p)
		}
	}
}

// goListWorkspace lists the packages of every bot in botDirs with one go
// list, in a workspace of the bots and the modules under moduleDirs (pkg),
// and returns each bot's listing. A workspace selects one version of each
// module for all bots, so its listings tell which packages a bot links,
// never which module versions; but the packages of the repo's own modules
// are the same as when each bot builds alone. goVersion is the highest go
// line of those modules.
func goListWorkspace(ctx context.Context, root string, botDirs, moduleDirs []string, goVersion string, env []string) (map[string]*listing, error) {
	tmp, err := os.MkdirTemp("", "botctl-changed-work-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	var work strings.Builder
	if goVersion != "" {
		fmt.Fprintf(&work, "go %s\n\n", goVersion)
	}
	work.WriteString("use (\n")
	for _, d := range slices.Concat(moduleDirs, botDirs) {
		fmt.Fprintf(&work, "\t%s\n", strconv.Quote(filepath.Join(root, filepath.FromSlash(d))))
	}
	work.WriteString(")\n")
	gowork := filepath.Join(tmp, "go.work")
	if err := os.WriteFile(gowork, []byte(work.String()), 0o644); err != nil {
		return nil, err
	}
	args := []string{"list", "-e", "-deps", "-json=" + listFields}
	for _, d := range botDirs {
		args = append(args, "./"+d)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = slices.Concat(os.Environ(), env, []string{
		"PWD=" + root,
		"GOWORK=" + gowork,
		"GOFLAGS=-mod=readonly",
	}, imageBuildEnv())
	pkgs, err := runList(cmd)
	if err != nil {
		return nil, fmt.Errorf("go list in a workspace of the bots: %w", err)
	}
	byPath := make(map[string]*goPackage, len(pkgs))
	for i := range pkgs {
		byPath[pkgs[i].ImportPath] = &pkgs[i]
	}
	out := make(map[string]*listing, len(botDirs))
	for _, d := range botDirs {
		dir := filepath.Join(root, filepath.FromSlash(d))
		for i := range pkgs {
			main := &pkgs[i]
			if main.Dir != dir {
				continue
			}
			l := &listing{root: root, pkgs: []goPackage{*main}}
			for _, imp := range main.Deps {
				if p, ok := byPath[imp]; ok {
					l.pkgs = append(l.pkgs, *p)
				}
			}
			out[d] = l
			break
		}
	}
	return out, nil
}

// brokenPackage returns the first package error, which breaks the image's
// build; "" when there is none.
func (l *listing) brokenPackage() string {
	for _, p := range l.pkgs {
		if p.Error != nil {
			return p.ImportPath + ": " + p.Error.Err
		}
	}
	return ""
}

// byDir maps each package's directory, slash-separated and relative to the
// tree's root, to the package; packages outside the tree (the module cache)
// are left out.
func (l *listing) byDir() map[string]*goPackage {
	m := make(map[string]*goPackage, len(l.pkgs))
	for i := range l.pkgs {
		p := &l.pkgs[i]
		rel, err := filepath.Rel(l.root, p.Dir)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || p.Dir == "" {
			continue
		}
		m[filepath.ToSlash(rel)] = p
	}
	return m
}

// sourceFile reports whether name is one of the package's files that goes
// into a build.
func (p *goPackage) sourceFile(name string) bool {
	for _, list := range [][]string{p.GoFiles, p.CgoFiles, p.CFiles, p.CXXFiles, p.MFiles, p.HFiles, p.FFiles, p.SFiles, p.SwigFiles, p.SwigCXXFiles, p.SysoFiles} {
		if slices.Contains(list, name) {
			return true
		}
	}
	return false
}

// sourceExt reports whether a file with this name could have been one of a
// package's build files: how a deleted file is judged, since the tree where
// it existed is not listed.
func sourceExt(name string) bool {
	if strings.HasSuffix(name, "_test.go") {
		return false
	}
	switch filepath.Ext(name) {
	case ".go", ".c", ".cc", ".cpp", ".cxx", ".m", ".h", ".hh", ".hpp", ".hxx", ".f", ".F", ".for", ".f90", ".s", ".S", ".sx", ".swig", ".swigcxx", ".syso":
		return true
	}
	return false
}

// embeds reports whether the package's //go:embed patterns take rel (a
// slash path relative to the package's directory): a pattern names the file
// or a directory above it.
func (p *goPackage) embeds(rel string) bool {
	for _, pat := range p.EmbedPatterns {
		pat = strings.TrimPrefix(pat, "all:")
		if covers(pat, rel) {
			return true
		}
	}
	return false
}

// forEach runs f on every item, at most jobs at a time.
func forEach[T any](items []T, jobs int, f func(T)) {
	sem := make(chan struct{}, max(jobs, 1))
	var wg sync.WaitGroup
	for _, it := range items {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f(it)
		})
	}
	wg.Wait()
}

// modulePaths are the paths of the modules the listed packages are from.
func (l *listing) modulePaths() map[string]bool {
	paths := make(map[string]bool)
	for _, p := range l.pkgs {
		if p.Module != nil {
			paths[p.Module.Path] = true
		}
	}
	return paths
}

// pkgModule is the path of the module in the tree's pkg directory; "" when
// no listed package is from it.
func (l *listing) pkgModule() string {
	dir := filepath.Join(l.root, "pkg")
	for _, p := range l.pkgs {
		if m := p.Module; m != nil && (p.Dir == dir || strings.HasPrefix(p.Dir, dir+string(filepath.Separator))) {
			return m.Path
		}
	}
	return ""
}

// parseGoMod returns a go.mod's go line and its requirements (module path
// to version); enough to compare two versions of one file.
func parseGoMod(data []byte) (goVersion string, reqs map[string]string) {
	reqs = map[string]string{}
	block := ""
	for line := range strings.Lines(string(data)) {
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case block != "":
			if f[0] == ")" {
				block = ""
			} else if block == "require" && len(f) >= 2 {
				reqs[unquote(f[0])] = f[1]
			}
		case len(f) == 2 && f[1] == "(":
			block = f[0]
		case f[0] == "go" && len(f) >= 2:
			goVersion = f[1]
		case f[0] == "require" && len(f) >= 3:
			reqs[unquote(f[1])] = f[2]
		}
	}
	return goVersion, reqs
}

func unquote(s string) string {
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return s
}

// diffDirectives describes how two go.mod files' go, toolchain and godebug
// lines differ (they set the language version, the Go that builds, and the
// default GODEBUG); "" when they do not.
func diffDirectives(before, after []byte) string {
	b, a := directives(before), directives(after)
	var d []string
	for _, k := range []string{"go", "toolchain", "godebug"} {
		if b[k] != a[k] {
			d = append(d, fmt.Sprintf("%s %q -> %q", k, b[k], a[k]))
		}
	}
	return strings.Join(d, ", ")
}

func directives(goMod []byte) map[string]string {
	m := map[string]string{}
	block := ""
	for line := range strings.Lines(string(goMod)) {
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case block != "":
			if f[0] == ")" {
				block = ""
			} else if block == "godebug" {
				m["godebug"] += strings.Join(f, " ") + ";"
			}
		case len(f) == 2 && f[1] == "(":
			block = f[0]
		case f[0] == "go" || f[0] == "toolchain":
			m[f[0]] = strings.Join(f[1:], " ")
		case f[0] == "godebug":
			m["godebug"] += strings.Join(f[1:], " ") + ";"
		}
	}
	return m
}

// replaces returns a go.mod's replace directives, normalised; they decide
// where a module's code comes from, which go mod graph does not show.
func replaces(goMod []byte) []string {
	var rs []string
	block := ""
	for _, line := range goModLines(goMod) {
		f := strings.Fields(line)
		switch {
		case block != "":
			if f[0] == ")" {
				block = ""
			} else if block == "replace" {
				rs = append(rs, line)
			}
		case len(f) == 2 && f[1] == "(":
			block = f[0]
		case f[0] == "replace":
			rs = append(rs, strings.Join(f[1:], " "))
		}
	}
	slices.Sort(rs)
	return rs
}

// compareSemver compares two module versions (semantic versions with a v,
// pseudo-versions included): -1, 0 or +1.
func compareSemver(a, b string) int {
	type version struct {
		nums [3]int
		pre  []string
	}
	parse := func(s string) version {
		var v version
		s = strings.TrimPrefix(s, "v")
		s, _, _ = strings.Cut(s, "+")
		s, pre, hasPre := strings.Cut(s, "-")
		if hasPre {
			v.pre = strings.Split(pre, ".")
		}
		for i, n := range strings.SplitN(s, ".", 3) {
			v.nums[i], _ = strconv.Atoi(n)
		}
		return v
	}
	x, y := parse(a), parse(b)
	for i := range x.nums {
		if c := cmp.Compare(x.nums[i], y.nums[i]); c != 0 {
			return c
		}
	}
	switch {
	case len(x.pre) == 0 && len(y.pre) == 0:
		return 0
	case len(x.pre) == 0:
		return 1 // a release is above its pre-releases
	case len(y.pre) == 0:
		return -1
	}
	for i := 0; i < len(x.pre) && i < len(y.pre); i++ {
		p, q := x.pre[i], y.pre[i]
		pn, perr := strconv.Atoi(p)
		qn, qerr := strconv.Atoi(q)
		var c int
		switch {
		case perr == nil && qerr == nil:
			c = cmp.Compare(pn, qn)
		case perr == nil:
			c = -1 // numeric identifiers sort first
		case qerr == nil:
			c = 1
		default:
			c = strings.Compare(p, q)
		}
		if c != 0 {
			return c
		}
	}
	return cmp.Compare(len(x.pre), len(y.pre))
}

// goModLines are a go.mod's lines without comments, blank lines and
// spacing: what the go command reads of it.
func goModLines(goMod []byte) []string {
	var lines []string
	for line := range strings.Lines(string(goMod)) {
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		if f := strings.Fields(line); len(f) > 0 {
			lines = append(lines, strings.Join(f, " "))
		}
	}
	return lines
}

// goLine is a go.mod's go version; "" when it has none.
func goLine(goMod []byte) string {
	v, _ := parseGoMod(goMod)
	return v
}

// maxGo returns the later of two go.mod go versions.
func maxGo(a, b string) string {
	if a == "" || (b != "" && version.Compare("go"+b, "go"+a) > 0) {
		return b
	}
	return a
}
