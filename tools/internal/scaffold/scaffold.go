package scaffold

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/botfleet/botfleet/tools/internal/iampolicy"
	"github.com/botfleet/botfleet/tools/internal/settings"
)

// Layout of a botfleet repo's root.
const (
	BotsDir = "bots"
	GoWork  = "go.work"
	PkgMod  = "pkg/go.mod"
)

// ErrExists is returned when the bot's directory exists and Options.Force
// is not set; the caller says how to force (a flag, a make variable).
var ErrExists = errors.New("already exists")

// RootError is returned when the directory is not a botfleet repo's root.
type RootError struct {
	Root    string
	Missing string
}

func (e *RootError) Error() string {
	return fmt.Sprintf("%s is not a botfleet repo root: it has no %s (a root has %s, %s and %s); run from the repo's root or pass --repo",
		e.Root, e.Missing, settings.FileName, GoWork, PkgMod)
}

// Options are New's.
type Options struct {
	Name string
	// Force rewrites the template files of an existing bot; its other files
	// are kept.
	Force bool
	// Settings are the repo's; nil means the root's botfleet.yaml.
	Settings *settings.Settings
	// Go is the go command that tidies the new module; "" means "go".
	Go string
	// Env is added to the go command's environment (the rest is the
	// process's, with GOPROXY=off, GOWORK=off, GOFLAGS=-mod=mod).
	Env []string
}

// Result is what New did.
type Result struct {
	Dir     string   // the bot's directory, relative to the root: bots/<name>
	Written []string // files written, relative to the bot's directory
	Kept    []string // files of an existing bot that are not the templates', kept
	GoWork  bool     // go.work gained the module
	Data    Data     // what the templates saw
}

// New creates the bot o.Name in the repo at root: it renders the templates,
// tidies the module offline (go.sum from the module cache), moves the files
// into bots/<name> and adds the module to go.work. Every write goes through
// an os.Root of root, so no path or symlink leads outside it.
//
// It changes nothing when the name is invalid or reserved, the bot exists
// (without Force), root is not a botfleet root, or rendering or tidying
// fails. The work happens in a staging directory in bots/ that is renamed
// into place, so an interrupted run leaves at most a bots/.<name>.new-*
// directory. Cancelling ctx stops `go mod tidy`.
func New(ctx context.Context, root string, o Options) (*Result, error) {
	if err := CheckName(o.Name); err != nil {
		return nil, err
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("opening the repo: %w", err)
	}
	defer r.Close()
	for _, f := range []string{settings.FileName, GoWork, PkgMod} {
		if fi, err := r.Stat(f); err != nil || fi.IsDir() {
			return nil, &RootError{Root: root, Missing: f}
		}
	}
	s := o.Settings
	if s == nil {
		data, err := r.ReadFile(settings.FileName)
		if err != nil {
			return nil, fmt.Errorf("reading settings: %w", err)
		}
		if s, err = settings.Parse(data); err != nil {
			return nil, err
		}
	}
	goVersion, err := pkgGoVersion(r, s.Git.ModulePrefix+"/pkg")
	if err != nil {
		return nil, err
	}
	d := NewData(o.Name, s, goVersion)
	dir := path.Join(BotsDir, o.Name)
	res := &Result{Dir: dir, Data: d}

	existing, err := existingFiles(r, dir, o.Force)
	if err != nil {
		return nil, err
	}
	work, err := r.ReadFile(GoWork)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", GoWork, err)
	}
	newWork, changed, err := AddUse(work, "./"+dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", GoWork, err)
	}
	res.GoWork = changed

	// A bot rewritten with --force keeps the role its iam.yaml gives it.
	d.Role = existing[iampolicy.FileName] != nil
	files, err := Render(d)
	if err != nil {
		return nil, err
	}
	isTemplate := map[string]bool{"go.sum": true}
	for i, f := range files {
		isTemplate[f.Path] = true
		if f.Path == "go.mod" {
			files[i].Data = withRequires(f.Data, existing["go.mod"])
		}
		if overlayFile(f.Path) {
			files[i].Data = keepTag(f.Data, existing[f.Path], o.Name)
		}
	}
	var kept []File
	for _, p := range sortedKeys(existing) {
		if !isTemplate[p] {
			res.Kept = append(res.Kept, p)
			kept = append(kept, File{Path: p, Data: existing[p]})
		}
	}
	// Every target path is checked before anything is written: a symlink
	// inside the bot's directory could point at another bot, which os.Root
	// allows.
	for _, f := range files {
		if err := noSymlinks(r, dir, f.Path); err != nil {
			return nil, err
		}
	}

	stage, createdBots, err := stagingDir(r, o.Name)
	if err != nil {
		return nil, err
	}
	done := false
	defer func() {
		r.RemoveAll(stage)
		if !done && createdBots {
			r.Remove(BotsDir)
		}
	}()
	// The kept files are staged too, so that tidy sees their imports.
	for _, f := range slices.Concat(files, kept) {
		if err := writeFile(r, path.Join(stage, f.Path), f.Data); err != nil {
			return nil, err
		}
	}
	sum, err := seedSum(r, existing["go.sum"])
	if err != nil {
		return nil, err
	}
	if err := writeFile(r, path.Join(stage, "go.sum"), sum); err != nil {
		return nil, err
	}
	if err := tidy(ctx, o, filepath.Join(root, filepath.FromSlash(stage))); err != nil {
		return nil, err
	}
	if _, err := r.Stat(path.Join(stage, "go.sum")); err == nil {
		files = append(files, File{Path: "go.sum"})
	}

	if existing == nil {
		if err := r.Rename(stage, dir); err != nil {
			return nil, fmt.Errorf("moving the new bot into place: %w", err)
		}
	} else {
		for _, f := range files {
			if err := r.MkdirAll(path.Dir(path.Join(dir, f.Path)), 0o755); err != nil {
				return nil, err
			}
			if err := r.Rename(path.Join(stage, f.Path), path.Join(dir, f.Path)); err != nil {
				return nil, fmt.Errorf("writing %s: %w", path.Join(dir, f.Path), err)
			}
		}
	}
	for _, f := range files {
		res.Written = append(res.Written, f.Path)
	}
	slices.Sort(res.Written)
	done = true
	if changed {
		if err := writeFileAtomic(r, GoWork, newWork); err != nil {
			return nil, fmt.Errorf("adding %s to %s: %w", dir, GoWork, err)
		}
	}
	return res, nil
}

var goDirective = regexp.MustCompile(`(?m)^go\s+(\S+)\s*$`)

// pkgGoVersion reads the go directive of pkg/go.mod, checking that its
// module is the one the settings name.
func pkgGoVersion(r *os.Root, want string) (string, error) {
	data, err := r.ReadFile(PkgMod)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", PkgMod, err)
	}
	if got := modulePath(data); got != want {
		return "", fmt.Errorf("%s declares module %q, but %s's git.modulePrefix makes it %q", PkgMod, got, settings.FileName, want)
	}
	m := goDirective.FindSubmatch(data)
	if m == nil {
		return "", fmt.Errorf("%s has no go directive", PkgMod)
	}
	return string(m[1]), nil
}

var moduleDirective = regexp.MustCompile(`(?m)^module\s+"?([^"\s]+)"?\s*$`)

func modulePath(gomod []byte) string {
	if m := moduleDirective.FindSubmatch(gomod); m != nil {
		return string(m[1])
	}
	return ""
}

// existingFiles returns the files of the bot's directory dir, by path
// relative to it; nil when it does not exist. It refuses an existing bot
// without force, and a directory it must not write through.
func existingFiles(r *os.Root, dir string, force bool) (map[string][]byte, error) {
	fi, err := r.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checking %s: %w", dir, err)
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return nil, fmt.Errorf("%s is a symlink: refusing to write through it", dir)
	case !fi.IsDir():
		return nil, fmt.Errorf("%s exists and is not a directory: remove it first", dir)
	case !force:
		return nil, fmt.Errorf("%s %w", dir, ErrExists)
	}
	files := map[string][]byte{}
	err = fs.WalkDir(r.FS(), dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		rel := strings.TrimPrefix(p, dir+"/")
		if !de.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file: refusing to write through it", p)
		}
		data, err := r.ReadFile(p)
		if err != nil {
			return err
		}
		files[rel] = data
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	return files, nil
}

// noSymlinks fails when a directory on the way to dir/rel is a symlink.
func noSymlinks(r *os.Root, dir, rel string) error {
	p := dir
	for _, part := range strings.Split(path.Dir(rel), "/") {
		if part == "." {
			break
		}
		p = path.Join(p, part)
		fi, err := r.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("checking %s: %w", p, err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s is a symlink: refusing to write through it", p)
		}
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory: refusing to write through it", p)
		}
	}
	return nil
}

// stagingDir creates an empty directory next to the bot's, at the same
// depth, so the replace => ../../pkg resolves there too. createdBots
// reports whether it had to create bots/ itself.
func stagingDir(r *os.Root, name string) (stage string, createdBots bool, err error) {
	if _, err := r.Lstat(BotsDir); errors.Is(err, fs.ErrNotExist) {
		if err := r.Mkdir(BotsDir, 0o755); err != nil {
			return "", false, fmt.Errorf("creating %s: %w", BotsDir, err)
		}
		createdBots = true
	}
	b := make([]byte, 4)
	rand.Read(b)
	stage = path.Join(BotsDir, "."+name+".new-"+hex.EncodeToString(b))
	if err := r.Mkdir(stage, 0o755); err != nil {
		if createdBots {
			r.Remove(BotsDir)
		}
		return "", false, fmt.Errorf("creating a staging directory: %w", err)
	}
	return stage, createdBots, nil
}

func writeFile(r *os.Root, p string, data []byte) error {
	if err := r.MkdirAll(path.Dir(p), 0o755); err != nil {
		return err
	}
	if err := r.WriteFile(p, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	return nil
}

// writeFileAtomic replaces p, so that a concurrent reader sees the old or
// the new file, never half of one.
func writeFileAtomic(r *os.Root, p string, data []byte) error {
	tmp := p + ".new"
	if err := r.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	if err := r.Rename(tmp, p); err != nil {
		r.Remove(tmp)
		return err
	}
	return nil
}

// seedSum is the go.sum a new module starts from: every line of the
// repo's own go.sum files (pkg's and each bot's) and of the bot's old one.
// Those checksums were verified when the repo's modules were downloaded, so
// tidy finds every module it needs already summed and never asks the
// checksum database, which a machine behind a module proxy cannot reach.
// Tidy drops the lines the new module does not need.
func seedSum(r *os.Root, old []byte) ([]byte, error) {
	sums, err := fs.Glob(r.FS(), BotsDir+"/*/go.sum")
	if err != nil {
		return nil, fmt.Errorf("listing go.sum files: %w", err)
	}
	lines := map[string]bool{}
	add := func(data []byte) {
		for l := range strings.Lines(string(data)) {
			if l = strings.TrimSpace(l); l != "" {
				lines[l] = true
			}
		}
	}
	add(old)
	for _, p := range append([]string{path.Join(path.Dir(PkgMod), "go.sum")}, sums...) {
		data, err := r.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		add(data)
	}
	var b bytes.Buffer
	for _, l := range sortedKeys(lines) {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// tidy runs `go mod tidy` in dir with no network at all: modules come from
// the module cache (GOPROXY=off) and checksums from the seeded go.sum, so
// neither the proxy nor the checksum database is asked.
func tidy(ctx context.Context, o Options, dir string) error {
	goCmd := o.Go
	if goCmd == "" {
		goCmd = "go"
	}
	cmd := exec.CommandContext(ctx, goCmd, "mod", "tidy")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOPROXY=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
	cmd.Env = append(cmd.Env, o.Env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go mod tidy (offline, from the module cache): %w\n%s\nWarm the module cache first, e.g. with `cd pkg && go mod download`, then run this again",
			err, bytes.TrimSpace(out))
	}
	return nil
}

// requireLine is a requirement in a go.mod, in a block or on its own line.
var requireLine = regexp.MustCompile(`(?m)^(?:require\s+)?\s*([^\s()"/]+\.[^\s()"]+)\s+(v[^\s]+)`)

// withRequires adds old's requirements (but pkg's) to the template go.mod,
// so that tidying a rewritten bot whose kept files import more modules
// finds them offline. Tidy drops those nothing imports.
func withRequires(gomod, old []byte) []byte {
	if old == nil {
		return gomod
	}
	// The block goes right after the template's require, where tidy puts
	// its own, so a rewritten go.mod reads like a new one.
	loc := templateRequire.FindSubmatchIndex(gomod)
	if loc == nil {
		return gomod
	}
	pkg := string(gomod[loc[2]:loc[3]])
	var reqs []string
	inBlock := false
	for _, line := range strings.Split(string(old), "\n") {
		t := strings.TrimSpace(line)
		switch {
		case t == "require (":
			inBlock = true
			continue
		case inBlock && t == ")":
			inBlock = false
			continue
		case !inBlock && !strings.HasPrefix(t, "require "):
			continue
		}
		if m := requireLine.FindStringSubmatch(t); m != nil && m[1] != pkg {
			reqs = append(reqs, "\t"+m[1]+" "+m[2]+"\n")
		}
	}
	if len(reqs) == 0 {
		return gomod
	}
	// One block with pkg's, as a new bot's go.mod has it: tidy keeps the
	// direct requirements there and moves the indirect ones out, so the
	// result is what a new bot's tidy writes.
	block := "require (\n\t" + pkg + " " + string(gomod[loc[4]:loc[5]]) + "\n" + strings.Join(reqs, "") + ")\n"
	return slices.Concat(gomod[:loc[0]], []byte(block), gomod[loc[1]:])
}

// templateRequire is the template go.mod's one requirement, pkg's.
var templateRequire = regexp.MustCompile(`(?m)^require\s+(\S+)\s+(\S+)\n`)

// keepTag carries the image tag of an existing overlay into its rewritten
// version: releases set it, and --force must not roll a bot back.
func keepTag(rendered, old []byte, bot string) []byte {
	if old == nil {
		return rendered
	}
	var k struct {
		Images []struct {
			Name   string `json:"name"`
			NewTag string `json:"newTag"`
		} `json:"images"`
	}
	if yaml.Unmarshal(old, &k) != nil {
		return rendered
	}
	for _, img := range k.Images {
		if img.Name == bot && img.NewTag != "" {
			return newTagLine.ReplaceAll(rendered, []byte(`${1}`+fmt.Sprintf("%q", img.NewTag)))
		}
	}
	return rendered
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
