// Package validate checks a botfleet repo's manifests before Argo CD sees
// them: it builds every bot overlay and every kustomization under manifests/
// in-process, and checks each object strictly against the target Kubernetes
// version's schemas and Argo CD's CRDs, against the Pod Security "restricted"
// profile and Fargate's limits, against the cluster contract in docs/architecture.md, and
// against the settings in botfleet.yaml. It checks that each AppProject
// allows no more than its Applications hold, the ECR lifecycle policy
// against the overlays, that only jobs of the release environment use the
// release's credentials, and that CODEOWNERS owns what reaches the cluster
// or the pipeline. It also lints each bot's Dockerfile (LintDockerfile),
// and checks that an update of dependabot.yml covers each bot's go.mod,
// Dockerfile and requirements.txt.
//
// It reads the repo through an injected kustomize filesystem, so tests can
// use an in-memory one.
package validate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/botfleet/botfleet/tools/internal/kubeschema"
	"github.com/botfleet/botfleet/tools/internal/render"
	"github.com/botfleet/botfleet/tools/internal/settings"
)

// Validator checks the repo at Root of FS. Run may be called concurrently.
type Validator struct {
	FS   filesys.FileSystem
	Root string
	// Settings are the repo's; nil means Root's botfleet.yaml.
	Settings *settings.Settings
	// Parallel is how many kustomizations are built at once; 0 means
	// GOMAXPROCS.
	Parallel int
	// Configs checks each overlay's config file with the bot's own loader;
	// nil skips that check (it builds the bots).
	Configs ConfigChecker
	// SlackApps makes each bot's Slack app manifests from its code, to
	// compare with the committed ones; nil skips that check.
	SlackApps SlackAppMaker
}

// Problem is one thing wrong with the repo's manifests.
type Problem struct {
	Path   string // the directory built, or a file, relative to the repo root
	Line   int    // the line of the file at Path; 0 for none
	Object string // Kind/name, with the namespace in manifests/; "" for the directory
	Field  string // e.g. spec.template.spec.containers[0].image; "" for the object
	Msg    string
}

func (p Problem) String() string {
	parts := []string{p.Path}
	if p.Line > 0 {
		parts[0] += ":" + strconv.Itoa(p.Line)
	}
	if p.Object != "" {
		parts = append(parts, p.Object)
	}
	if p.Field != "" {
		parts = append(parts, p.Field)
	}
	return strings.Join(parts, ": ") + ": " + p.Msg
}

// Report is what Run found.
type Report struct {
	Problems []Problem
	// Pods are the Fargate sizes of the bots' pods, one per pod template of
	// each overlay that has a size.
	Pods []PodSize
}

// PodSize is what Fargate runs one pod template of a bot's overlay on.
type PodSize struct {
	Path     string // the overlay, relative to the repo root
	Object   string // Kind/name
	Requests string // what the pod asks for, as Fargate adds it up
	Size     FargateSize
}

func (p PodSize) String() string {
	return fmt.Sprintf("%s: %s: runs on Fargate's %s (requests %s)", p.Path, p.Object, p.Size, p.Requests)
}

// Names of the repo's layout.
const (
	BotsDir      = "bots"
	ManifestsDir = "manifests"
)

// target is one kustomization to build.
type target struct {
	dir      string // relative to the root, slash-separated
	bot, env string // set for a bot's overlay
}

// built is a target's build and what its checks found.
type built struct {
	target
	objects  []*object
	problems []Problem
	pods     []PodSize
	efsDirs  []string // directories of the EFS volume mounted outside config/ and state/
	failed   bool     // the build failed
}

// run is one Run's state.
type run struct {
	v        *Validator
	s        *settings.Settings
	schemas  *kubeschema.Set
	problems []Problem // found outside any target's build
	bots     []string  // the bots checked
	partial  bool      // some bots are not checked
}

// Run checks the named bots (every bot when none is named) and manifests/,
// and returns the problems found and the bots' pod sizes, each in a stable
// order. The error is for what stops the checks themselves: unreadable
// settings, a cancelled ctx.
func (v *Validator) Run(ctx context.Context, bots []string) (*Report, error) {
	s := v.Settings
	if s == nil {
		data, err := v.FS.ReadFile(filepath.Join(v.Root, settings.FileName))
		if err != nil {
			return nil, fmt.Errorf("reading settings: %w", err)
		}
		if s, err = settings.Parse(data); err != nil {
			return nil, err
		}
	}
	schemas, err := kubeschema.Load(s.KubernetesMinor())
	if err != nil {
		return nil, err
	}
	r := &run{v: v, s: s, schemas: schemas}
	targets, err := r.targets(bots)
	if err != nil {
		return nil, err
	}
	results, err := r.buildAll(ctx, targets)
	if err != nil {
		return nil, err
	}
	r.cross(results)
	r.checkConfigs(ctx, results)
	r.checkLiterals()
	r.checkAWSPlatform()
	r.checkLifecycle()
	r.checkWorkflows()
	r.checkCodeOwners()
	r.checkDockerfiles()
	r.checkDependabot()
	r.checkSlackApps(ctx)
	r.checkOperator()
	rep := &Report{}
	rep.Problems = append(rep.Problems, r.problems...)
	for _, b := range results {
		rep.Problems = append(rep.Problems, b.problems...)
		rep.Pods = append(rep.Pods, b.pods...)
	}
	slices.SortStableFunc(rep.Problems, func(a, b Problem) int { return strings.Compare(a.Path, b.Path) })
	rep.Problems = slices.CompactFunc(rep.Problems, func(a, b Problem) bool { return a == b })
	return rep, nil
}

func (r *run) abs(dir string) string { return filepath.Join(r.v.Root, filepath.FromSlash(dir)) }

func (r *run) addProblem(p Problem) { r.problems = append(r.problems, p) }

// Bots lists the bots of the repo at root: the directories under bots/ that
// have a manifests/ directory.
func Bots(fsys filesys.FileSystem, root string) ([]string, error) {
	dir := filepath.Join(root, BotsDir)
	if !fsys.IsDir(dir) {
		return nil, nil
	}
	names, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing bots: %w", err)
	}
	var bots []string
	for _, n := range names {
		if fsys.IsDir(filepath.Join(dir, n, ManifestsDir)) {
			bots = append(bots, n)
		}
	}
	slices.Sort(bots)
	return bots, nil
}

// targets lists what to build: manifests/ first, then each bot's overlays.
func (r *run) targets(only []string) ([]target, error) {
	fsys := r.v.FS
	var ts []target
	dirs, err := r.kustomizationDirs(ManifestsDir)
	if err != nil {
		return nil, err
	}
	for _, d := range dirs {
		ts = append(ts, target{dir: d})
	}
	bots, err := Bots(fsys, r.v.Root)
	if err != nil {
		return nil, err
	}
	if len(only) > 0 {
		for _, b := range only {
			if !slices.Contains(bots, b) {
				r.addProblem(Problem{Path: path.Join(BotsDir, b), Msg: fmt.Sprintf("no bot %q (the bots are: %s)", b, strings.Join(bots, ", "))})
			}
		}
		n := len(bots)
		bots = slices.DeleteFunc(bots, func(b string) bool { return !slices.Contains(only, b) })
		r.partial = len(bots) < n
	}
	r.bots = bots
	for _, bot := range bots {
		envsDir := path.Join(BotsDir, bot, ManifestsDir, "envs")
		var envs []string
		if fsys.IsDir(r.abs(envsDir)) {
			if envs, err = fsys.ReadDir(r.abs(envsDir)); err != nil {
				return nil, fmt.Errorf("listing %s: %w", envsDir, err)
			}
		}
		slices.Sort(envs)
		for _, env := range r.s.EnvNames() {
			if !slices.Contains(envs, env) {
				r.addProblem(Problem{Path: path.Join(envsDir, env), Msg: fmt.Sprintf("missing: every bot has an overlay per environment (botfleet.yaml has %s)", strings.Join(r.s.EnvNames(), ", "))})
			}
		}
		for _, env := range envs {
			dir := path.Join(envsDir, env)
			if !fsys.IsDir(r.abs(dir)) {
				continue
			}
			if _, ok := r.s.Environments[env]; !ok {
				r.addProblem(Problem{Path: dir, Msg: fmt.Sprintf("unknown environment %q (botfleet.yaml has %s)", env, strings.Join(r.s.EnvNames(), ", "))})
				continue
			}
			ts = append(ts, target{dir: dir, bot: bot, env: env})
		}
	}
	return ts, nil
}

// kustomizationFile returns the kustomization file in dir, or "".
func (r *run) kustomizationFile(dir string) string {
	for _, name := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		if p := filepath.Join(r.abs(dir), name); r.v.FS.Exists(p) && !r.v.FS.IsDir(p) {
			return p
		}
	}
	return ""
}

// kustomizationDirs lists the directories under dir (itself included) that
// hold a Kustomization; Components are built as part of the overlays that use
// them.
func (r *run) kustomizationDirs(dir string) ([]string, error) {
	var dirs []string
	if !r.v.FS.IsDir(r.abs(dir)) {
		return nil, nil
	}
	err := r.v.FS.Walk(r.abs(dir), func(p string, info fs.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if !info.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(r.v.Root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		f := r.kustomizationFile(rel)
		if f == "" {
			return nil
		}
		data, err := r.v.FS.ReadFile(f)
		if err != nil {
			return err
		}
		var k struct{ Kind string }
		if err := yaml.Unmarshal(data, &k); err != nil {
			r.addProblem(Problem{Path: rel, Msg: fmt.Sprintf("reading %s: %v", filepath.Base(f), err)})
			return nil
		}
		if k.Kind != "Component" {
			dirs = append(dirs, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	return dirs, nil
}

// buildAll builds and checks every target, Parallel at a time, and returns
// the results in the targets' order.
func (r *run) buildAll(ctx context.Context, ts []target) ([]*built, error) {
	n := r.v.Parallel
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	results := make([]*built, len(ts))
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, t := range ts {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			results[i] = r.build(t)
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return results, nil
}

// build builds one target and checks each of its objects.
func (r *run) build(t target) *built {
	b := &built{target: t}
	m, err := render.Build(r.v.FS, r.abs(t.dir))
	if err != nil {
		var msg string
		if u := errors.Unwrap(err); u != nil {
			msg = u.Error()
		} else {
			msg = err.Error()
		}
		b.failed = true
		// One line, with paths relative to the repo.
		msg = strings.Join(strings.Fields(strings.ReplaceAll(msg, r.v.Root+string(filepath.Separator), "")), " ")
		b.problems = append(b.problems, Problem{Path: t.dir, Msg: "kustomize build: " + msg})
		return b
	}
	for _, res := range m.Resources() {
		js, err := res.MarshalJSON()
		if err != nil {
			b.problems = append(b.problems, Problem{Path: t.dir, Object: res.CurId().String(), Msg: err.Error()})
			continue
		}
		o, err := newObject(js, res.CurId().IsClusterScoped())
		if err != nil {
			b.problems = append(b.problems, Problem{Path: t.dir, Object: res.CurId().String(), Msg: err.Error()})
			continue
		}
		b.objects = append(b.objects, o)
		b.problems = append(b.problems, r.checkObject(t, o)...)
		if t.bot != "" {
			r.checkBotPod(b, o)
		}
	}
	if t.bot != "" {
		b.problems = append(b.problems, r.checkBotOverlay(t, b.objects)...)
		b.problems = append(b.problems, r.checkBotSecrets(t, b.objects)...)
	}
	return b
}
