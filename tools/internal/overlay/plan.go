package overlay

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Edit is the new tag of one bot in one overlay.
type Edit struct {
	Bot, Env string
	Path     string // the kustomization file, relative to the repo root
	Old, New string // the tags
	data     []byte // the file with the new tag
}

// Changed reports whether the edit changes the file.
func (e Edit) Changed() bool { return e.Old != e.New }

func (e Edit) String() string {
	if !e.Changed() {
		return fmt.Sprintf("%s: %s %s unchanged", e.Path, e.Bot, e.New)
	}
	return fmt.Sprintf("%s: %s %s -> %s", e.Path, e.Bot, orNone(e.Old), e.New)
}

func orNone(tag string) string {
	if tag == "" {
		return "(no tag)"
	}
	return tag
}

// Plan reads the overlays for env of the bots in tags (bot name to tag),
// under the repo at root, and returns the edits that set those tags, sorted
// by bot; it writes nothing. It reports every bot it cannot edit (unknown
// bot, no such overlay, no image entry, bad tag), joined, and then returns
// no edits.
func Plan(fsys filesys.FileSystem, root, env string, tags map[string]string) ([]Edit, error) {
	var (
		edits []Edit
		errs  []error
	)
	for _, bot := range sortedKeys(tags) {
		e, err := plan(fsys, root, bot, env, tags[bot])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		edits = append(edits, e)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return edits, nil
}

func plan(fsys filesys.FileSystem, root, bot, env, tag string) (Edit, error) {
	e := Edit{Bot: bot, Env: env, Path: Path(bot, env), New: tag}
	data, err := read(fsys, root, bot, env)
	if err != nil {
		return e, err
	}
	if e.Old, err = Tag(data, bot); err != nil {
		return e, fmt.Errorf("%s: %w", e.Path, err)
	}
	if e.data, _, err = SetTag(data, bot, tag); err != nil {
		return e, fmt.Errorf("%s: %w", e.Path, err)
	}
	return e, nil
}

// read returns bot's overlay file for env, or an error that says which of
// bot and overlay is missing.
func read(fsys filesys.FileSystem, root, bot, env string) ([]byte, error) {
	if !fsys.IsDir(filepath.Join(root, "bots", bot)) {
		return nil, fmt.Errorf("unknown bot %q: no directory bots/%s", bot, bot)
	}
	p := filepath.Join(root, filepath.FromSlash(Path(bot, env)))
	if !fsys.Exists(p) {
		return nil, fmt.Errorf("bot %s has no %s overlay (%s)", bot, env, Path(bot, env))
	}
	return fsys.ReadFile(p)
}

// Tags returns the tag each of bots has in its overlay for env; like Plan,
// it reports every bot it cannot read, joined.
func Tags(fsys filesys.FileSystem, root, env string, bots []string) (map[string]string, error) {
	tags := make(map[string]string, len(bots))
	var errs []error
	for _, bot := range bots {
		data, err := read(fsys, root, bot, env)
		if err == nil {
			var tag string
			if tag, err = Tag(data, bot); err == nil && tag == "" {
				err = errors.New("no newTag to take")
			}
			if err != nil {
				err = fmt.Errorf("%s: %w", Path(bot, env), err)
			}
			tags[bot] = tag
		}
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return tags, nil
}

// BotsWith lists the bots (sorted) that have an overlay for env.
func BotsWith(fsys filesys.FileSystem, root, env string) ([]string, error) {
	matches, err := fsys.Glob(filepath.Join(root, "bots", "*", "manifests", "envs", env, "kustomization.yaml"))
	if err != nil {
		return nil, err
	}
	var bots []string
	for _, m := range matches {
		bots = append(bots, filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(m))))))
	}
	slices.Sort(bots)
	return bots, nil
}

// Apply writes the edits that change a file.
func Apply(fsys filesys.FileSystem, root string, edits []Edit) error {
	for _, e := range edits {
		if !e.Changed() {
			continue
		}
		if err := fsys.WriteFile(filepath.Join(root, filepath.FromSlash(e.Path)), e.data); err != nil {
			return fmt.Errorf("writing %s: %w", e.Path, err)
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
