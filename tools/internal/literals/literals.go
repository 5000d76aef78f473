// Package literals writes the values of botfleet.yaml that Argo CD needs as
// literals (it renders manifests/ and the bots' overlays without botfleet's
// tools) into those files: namespaces, the Git repo and revision, Argo CD's
// namespace and the bots' projects, EFS volume handles, image names, IRSA
// role ARNs, the AWS region, the Pod Security version.
//
// It edits values only, one scalar at a time (overlay.SetScalars), so
// comments and layout stay. A value that names something (a namespace, a
// project) is recognised by what it is now: the files the layout ties to an
// environment (manifests/efs/<env>.yaml, manifests/argocd/bots-<env>.yaml)
// say what each environment's namespace and project are called today, and
// every occurrence of those names is renamed with the settings.
package literals

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	yv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/botfleet/botfleet/tools/internal/awsplatform"
	"github.com/botfleet/botfleet/tools/internal/overlay"
	"github.com/botfleet/botfleet/tools/internal/settings"
)

// Files the layout ties to the settings.
const (
	manifestsDir = "manifests"
	rootApp      = "manifests/argocd/root.yaml"
	// Loggings holds the region inside Fluent Bit's config, a block scalar.
	loggingConf = "manifests/addons/fargate-logging/aws-observability.yaml"
)

// BotConfigFile is a bot's config in its overlay, which holds no literal
// of the settings.
const BotConfigFile = "config.yaml"

func efsFile(env string) string    { return "manifests/efs/" + env + ".yaml" }
func appSetFile(env string) string { return "manifests/argocd/bots-" + env + ".yaml" }

// Edit is one value to change.
type Edit struct {
	File     string // relative to the repo root, slash-separated
	Line     int
	Key      string // the YAML key, or what the value is inside a text
	Old, New string
}

func (e Edit) String() string {
	return fmt.Sprintf("%s:%d: %s: %q -> %q", e.File, e.Line, e.Key, e.Old, e.New)
}

// Plan is the edits that make the repo's literals agree with the settings,
// and the files with them applied.
type Plan struct {
	Edits []Edit
	files map[string][]byte // by File, only the changed ones
}

// Files returns the changed files, sorted.
func (p *Plan) Files() []string {
	names := make([]string, 0, len(p.files))
	for f := range p.files {
		names = append(names, f)
	}
	slices.Sort(names)
	return names
}

// Write writes the changed files under root.
func (p *Plan) Write(fsys filesys.FileSystem, root string) error {
	for _, f := range p.Files() {
		if err := fsys.WriteFile(filepath.Join(root, filepath.FromSlash(f)), p.files[f]); err != nil {
			return fmt.Errorf("writing %s: %w", f, err)
		}
	}
	return nil
}

// names are today's names of what the settings name, read from the files
// the layout ties to them.
type names struct {
	repoURL, revision, argocd string
	namespace                 map[string]string // old namespace -> new
	project                   map[string]string // old project -> new
}

// Make reads the repo at root and returns the edits that make its literals
// agree with s; it writes nothing. It errs when a file the layout ties to
// the settings is missing or unreadable, naming it.
func Make(fsys filesys.FileSystem, root string, s *settings.Settings) (*Plan, error) {
	r := &reader{fsys: fsys, root: root}
	n := names{namespace: map[string]string{}, project: map[string]string{}}
	root0, err := r.doc(rootApp, "Application")
	if err != nil {
		return nil, err
	}
	n.repoURL = lookup(root0, "spec", "source", "repoURL")
	n.revision = lookup(root0, "spec", "source", "targetRevision")
	n.argocd = lookup(root0, "metadata", "namespace")
	for _, env := range s.EnvNames() {
		pvc, err := r.doc(efsFile(env), "PersistentVolumeClaim")
		if err != nil {
			return nil, err
		}
		ns, _ := s.Namespace(env)
		if old := lookup(pvc, "metadata", "namespace"); old != "" {
			n.namespace[old] = ns
		}
		set, err := r.doc(appSetFile(env), "ApplicationSet")
		if err != nil {
			return nil, err
		}
		if old := lookup(set, "spec", "template", "spec", "project"); old != "" {
			n.project[old] = s.ArgoCD.EnvProject(env)
		}
	}

	p := &Plan{files: map[string][]byte{}}
	files, err := r.yamlFiles(manifestsDir)
	if err != nil {
		return nil, err
	}
	bots, err := r.dirs("bots")
	if err != nil {
		return nil, err
	}
	for _, bot := range bots {
		for _, env := range s.EnvNames() {
			dir := path.Join("bots", bot, "manifests", "envs", env)
			fs, err := r.yamlFiles(dir)
			if err != nil {
				return nil, err
			}
			// The bot's own config is the bot's business, not Argo CD's;
			// its ServiceAccount patch is generated whole (awsplatform).
			files = append(files, slices.DeleteFunc(fs, func(f string) bool {
				return path.Base(f) == BotConfigFile || path.Base(f) == awsplatform.ServiceAccountPatchName
			})...)
		}
	}
	for _, f := range files {
		w := &walker{s: s, n: n, file: f}
		w.env, w.bot = fileScope(f, s)
		if err := r.plan(p, w); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// fileScope returns the environment (and bot) a file belongs to by its
// place in the layout; "" for a file of every environment.
func fileScope(f string, s *settings.Settings) (env, bot string) {
	segs := strings.Split(f, "/")
	if len(segs) == 6 && segs[0] == "bots" && segs[2] == "manifests" && segs[3] == "envs" {
		return segs[4], segs[1]
	}
	for _, e := range s.EnvNames() {
		if f == efsFile(e) || f == appSetFile(e) {
			return e, ""
		}
	}
	return "", ""
}

type reader struct {
	fsys filesys.FileSystem
	root string
}

func (r *reader) abs(rel string) string { return filepath.Join(r.root, filepath.FromSlash(rel)) }

// docs decodes every document of a YAML file.
func docs(data []byte) ([]*yv3.Node, error) {
	dec := yv3.NewDecoder(bytes.NewReader(data))
	var out []*yv3.Node
	for {
		var d yv3.Node
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(d.Content) == 1 && d.Content[0].Kind == yv3.MappingNode {
			out = append(out, d.Content[0])
		}
	}
}

// doc returns the first document of kind in file.
func (r *reader) doc(file, kind string) (*yv3.Node, error) {
	data, err := r.fsys.ReadFile(r.abs(file))
	if err != nil {
		return nil, fmt.Errorf("reading %s (botctl init takes the names in use from it): %w", file, err)
	}
	ds, err := docs(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	for _, d := range ds {
		if lookup(d, "kind") == kind {
			return d, nil
		}
	}
	return nil, fmt.Errorf("%s: no %s (botctl init takes the names in use from it)", file, kind)
}

// yamlFiles lists the .yaml files under dir, recursively, sorted.
func (r *reader) yamlFiles(dir string) ([]string, error) {
	if !r.fsys.IsDir(r.abs(dir)) {
		return nil, nil
	}
	var out []string
	err := r.fsys.Walk(r.abs(dir), func(p string, info fs.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		rel, err := filepath.Rel(r.root, p)
		if err != nil {
			return err
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	slices.Sort(out)
	return out, nil
}

func (r *reader) dirs(dir string) ([]string, error) {
	if !r.fsys.IsDir(r.abs(dir)) {
		return nil, nil
	}
	entries, err := r.fsys.ReadDir(r.abs(dir))
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	var out []string
	for _, e := range entries {
		if r.fsys.IsDir(r.abs(path.Join(dir, e))) {
			out = append(out, e)
		}
	}
	slices.Sort(out)
	return out, nil
}

// plan finds the file's edits and adds them, and the edited file, to p.
func (r *reader) plan(p *Plan, w *walker) error {
	data, err := r.fsys.ReadFile(r.abs(w.file))
	if err != nil {
		return fmt.Errorf("reading %s: %w", w.file, err)
	}
	ds, err := docs(data)
	if err != nil {
		return fmt.Errorf("%s: %w", w.file, err)
	}
	for _, d := range ds {
		w.kind = lookup(d, "kind")
		w.walk(d, nil)
	}
	out, err := overlay.SetScalars(data, w.scalars)
	if err != nil {
		return fmt.Errorf("%s: %w; set it by hand", w.file, err)
	}
	out, texts := w.texts(out)
	if len(w.edits) == 0 && len(texts) == 0 {
		return nil
	}
	edits := append(w.edits, texts...)
	slices.SortStableFunc(edits, func(a, b Edit) int { return a.Line - b.Line })
	p.Edits = append(p.Edits, edits...)
	p.files[w.file] = out
	return nil
}

// lookup returns the scalar at keys in a mapping, "" when there is none.
func lookup(n *yv3.Node, keys ...string) string {
	for _, k := range keys {
		if n == nil || n.Kind != yv3.MappingNode {
			return ""
		}
		var next *yv3.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	if n == nil || n.Kind != yv3.ScalarNode {
		return ""
	}
	return n.Value
}

// walker finds the values of one file that the settings decide.
type walker struct {
	s        *settings.Settings
	n        names
	file     string
	env, bot string // the file's, by its place; "" for none
	kind     string // of the document walked
	scalars  []overlay.Scalar
	edits    []Edit
}

func (w *walker) set(key string, v *yv3.Node, want string) {
	if v.Kind != yv3.ScalarNode || v.Value == want || want == "" {
		return
	}
	w.scalars = append(w.scalars, overlay.Scalar{Node: v, Value: want})
	w.edits = append(w.edits, Edit{File: w.file, Line: v.Line, Key: key, Old: v.Value, New: want})
}

// renamed returns the new name of a namespace, "" when it is none of them.
func (w *walker) renamed(ns string) string {
	if ns == w.n.argocd && ns != "" {
		return w.s.ArgoCD.Namespace
	}
	return w.n.namespace[ns]
}

var psaVersion = regexp.MustCompile(`^pod-security\.kubernetes\.io/(enforce|warn|audit)-version$`)

// walk visits a mapping or sequence; keys is the path of keys to it.
func (w *walker) walk(n *yv3.Node, keys []string) {
	switch n.Kind {
	case yv3.SequenceNode:
		for _, e := range n.Content {
			if len(keys) > 0 && keys[len(keys)-1] == "sourceRepos" && e.Kind == yv3.ScalarNode && e.Value == w.n.repoURL {
				w.set("sourceRepos[]", e, w.s.Git.RepoURL)
			}
			w.walk(e, keys)
		}
	case yv3.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i].Value, n.Content[i+1]
			path := append(slices.Clone(keys), k)
			if v.Kind != yv3.ScalarNode {
				w.walk(v, path)
				continue
			}
			w.scalar(n, path, v)
		}
	}
}

// scalar decides one scalar value at path, in mapping m.
func (w *walker) scalar(m *yv3.Node, path []string, v *yv3.Node) {
	key := strings.Join(path, ".")
	k := path[len(path)-1]
	top := len(path) == 2 && path[0] == "metadata"
	switch {
	case k == "repoURL" && v.Value == w.n.repoURL:
		w.set(key, v, w.s.Git.RepoURL)
	case (k == "targetRevision" || k == "revision") && v.Value == w.n.revision:
		w.set(key, v, w.s.Git.Revision)
	case k == "namespace" && len(path) == 1 && w.env != "" && w.bot != "":
		// A bot overlay's kustomization: its environment's namespace.
		ns, _ := w.s.Namespace(w.env)
		w.set(key, v, ns)
	case k == "namespace":
		w.set(key, v, w.renamed(v.Value))
	case top && k == "name" && w.kind == "Namespace",
		k == "name" && lookup(m, "kind") == "Namespace": // an AppProject's clusterResourceWhitelist
		w.set(key, v, w.renamed(v.Value))
	case top && k == "name" && w.kind == "AppProject":
		w.set(key, v, w.n.project[v.Value])
	case k == "project":
		w.set(key, v, w.n.project[v.Value])
	case k == "volumeHandle" && w.env != "" && w.bot == "":
		w.set(key, v, w.s.Environments[w.env].EFS.VolumeHandle())
	case k == "newName" && w.bot != "" && lookup(m, "name") == w.bot:
		w.set("images[name="+w.bot+"].newName", v, w.s.ImageRepo(w.bot))
	case k == "eks.amazonaws.com/role-arn" && w.bot != "" && strings.Contains(v.Value, ":role/botfleet-external-secrets-"):
		// The ServiceAccount of the bot's SecretStore: the environment's
		// External Secrets role (manifests/README.md), not the bot's.
		w.set(key, v, w.s.RoleARN("external-secrets", w.env))
	case k == "eks.amazonaws.com/role-arn" && w.bot != "":
		w.set(key, v, w.s.RoleARN(w.bot, w.env))
	case k == "region" && w.kind == "SecretStore":
		w.set(key, v, w.s.AWS.Region)
	case k == "value" && lookup(m, "name") == "AWS_REGION":
		w.set("env[name=AWS_REGION].value", v, w.s.AWS.Region)
	case psaVersion.MatchString(k) && v.Value != "latest":
		w.set(key, v, "v"+w.s.Kubernetes.Version)
	}
}

var fluentRegion = regexp.MustCompile(`(?m)^(\s+region\s+)(\S+)$`)

// texts edits the values inside texts that are no YAML scalar of their
// own: the namespaces in PromQL selectors, the region of Fluent Bit's
// output. Only these exact forms are touched.
func (w *walker) texts(data []byte) ([]byte, []Edit) {
	var edits []Edit
	lineOf := func(off int) int { return bytes.Count(data[:off], []byte("\n")) + 1 }
	replace := func(re *regexp.Regexp, group int, what string, want func(old string) string) {
		var out []byte
		last := 0
		for _, m := range re.FindAllSubmatchIndex(data, -1) {
			s, e := m[2*group], m[2*group+1]
			if bol := bytes.LastIndexByte(data[:s], '\n') + 1; bytes.HasPrefix(bytes.TrimLeft(data[bol:s], " \t"), []byte("#")) {
				continue // comments stay as written
			}
			old := string(data[s:e])
			nw := want(old)
			if nw == "" || nw == old {
				continue
			}
			edits = append(edits, Edit{File: w.file, Line: lineOf(s), Key: what, Old: old, New: nw})
			out = append(out, data[last:s]...)
			out = append(out, nw...)
			last = e
		}
		if out != nil {
			data = append(out, data[last:]...)
		}
	}
	if strings.HasPrefix(w.file, manifestsDir+"/addons/monitoring/") && len(w.n.namespace) > 0 {
		// Queries (namespace="…") and the alerts' texts the rules' tests
		// expect name the namespaces; a namespace is a DNS label, so a
		// whole word of one is one.
		olds := slices.Sorted(maps.Keys(w.n.namespace))
		for i := range olds {
			olds[i] = regexp.QuoteMeta(olds[i])
		}
		word := regexp.MustCompile(`(?:^|[^a-z0-9-])(` + strings.Join(olds, "|") + `)(?:$|[^a-z0-9-])`)
		replace(word, 1, "namespace in a query or an alert's text", func(old string) string { return w.n.namespace[old] })
	}
	if w.file == loggingConf {
		replace(fluentRegion, 2, "region in Fluent Bit's output", func(string) string { return w.s.AWS.Region })
	}
	return data, edits
}
