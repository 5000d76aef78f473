// Package render builds kustomizations in-process, as `kustomize build` and
// Argo CD do, from an injected filesystem.
package render

import (
	"fmt"
	"path/filepath"
	"sync"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/openapi"
)

// OverlayDir is the overlay of bot in env, relative to the repo root.
func OverlayDir(bot, env string) string {
	return filepath.Join("bots", bot, "manifests", "envs", env)
}

// Options are the build options Argo CD's `kustomize build` uses: files only
// from inside each kustomization's root, no plugins, no managed-by label, and
// the legacy resource order (unless a kustomization sets sortOptions).
func Options() *krusty.Options {
	o := krusty.MakeDefaultOptions()
	o.Reorder = krusty.ReorderOptionUnspecified
	o.LoadRestrictions = types.LoadRestrictionsRootOnly
	o.PluginConfig = types.DisabledPluginConfig()
	return o
}

// schemaParsed parses kyaml's built-in OpenAPI schema once, before the
// first build: kyaml parses it lazily into globals that it writes under its
// lock but reads without, so the first strategic-merge patches of two
// builds at once race (validate builds the overlays in parallel). Parsed
// first, they are only read. (A kustomization's `openapi:` field would make
// kustomize parse again; none here has one.)
var schemaParsed sync.Once

// Build builds the kustomization in dir (absolute, or relative to the
// filesystem's working directory). It is safe to call from several
// goroutines at once.
func Build(fsys filesys.FileSystem, dir string) (resmap.ResMap, error) {
	schemaParsed.Do(func() { openapi.Schema() })
	m, err := krusty.MakeKustomizer(Options()).Run(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("building %s: %w", dir, err)
	}
	return m, nil
}

// YAML builds the kustomization in dir and returns its objects as a YAML
// stream, byte for byte what `kustomize build dir` prints.
func YAML(fsys filesys.FileSystem, dir string) ([]byte, error) {
	m, err := Build(fsys, dir)
	if err != nil {
		return nil, err
	}
	out, err := m.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("building %s: %w", dir, err)
	}
	return out, nil
}

// Overlay renders bot's overlay for env in the repo at root.
func Overlay(fsys filesys.FileSystem, root, bot, env string) ([]byte, error) {
	dir := filepath.Join(root, OverlayDir(bot, env))
	if !fsys.IsDir(dir) {
		return nil, fmt.Errorf("bot %s has no %s overlay (%s)", bot, env, OverlayDir(bot, env))
	}
	return YAML(fsys, dir)
}
