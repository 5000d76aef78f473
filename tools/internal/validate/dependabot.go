package validate

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// DependabotConfig is where Dependabot reads what it updates.
const DependabotConfig = ".github/dependabot.yml"

// dependabotManifests are, per Dependabot ecosystem, the file of a bot's
// directory that the ecosystem updates: the bot's module, its image's bases
// (LintDockerfile keeps them where Dependabot reads them) and its Python
// requirements (the ansible image's pin).
var dependabotManifests = []struct{ ecosystem, file string }{
	{"gomod", "go.mod"},
	{"docker", DockerfileName},
	{"pip", "requirements.txt"},
}

// dependabotFile is the part of dependabot.yml this package reads.
type dependabotFile struct {
	Updates []dependabotUpdate `json:"updates"`
}

type dependabotUpdate struct {
	Ecosystem   string   `json:"package-ecosystem"`
	Directory   string   `json:"directory"`
	Directories []string `json:"directories"`
}

// covers reports whether u updates the ecosystem's files in dir.
func (u dependabotUpdate) covers(ecosystem, dir string) bool {
	if u.Ecosystem != ecosystem {
		return false
	}
	return slices.ContainsFunc(append([]string{u.Directory}, u.Directories...), func(pattern string) bool {
		return dependabotDirMatch(pattern, "/"+dir)
	})
}

// checkDependabot checks that an update of dependabot.yml covers each file
// of each bot of the run that Dependabot can update, so a pin nobody bumps
// (a new bot's requirements.txt, say) fails here instead of aging quietly.
func (r *run) checkDependabot() {
	type need struct{ ecosystem, dir, file string }
	var needs []need
	for _, bot := range r.bots {
		dir := path.Join(BotsDir, bot)
		for _, m := range dependabotManifests {
			if r.v.FS.Exists(r.abs(path.Join(dir, m.file))) {
				needs = append(needs, need{m.ecosystem, dir, m.file})
			}
		}
	}
	if len(needs) == 0 {
		return
	}
	data, err := r.v.FS.ReadFile(r.abs(DependabotConfig))
	if err != nil {
		msg := fmt.Sprintf("reading: %v", err)
		if !r.v.FS.Exists(r.abs(DependabotConfig)) {
			msg = "missing: Dependabot keeps the bots' modules, base images and pins up to date from it"
		}
		r.addProblem(Problem{Path: DependabotConfig, Msg: msg})
		return
	}
	var cfg dependabotFile
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		r.addProblem(Problem{Path: DependabotConfig, Msg: fmt.Sprintf("parse: %v", err)})
		return
	}
	for _, n := range needs {
		covered := slices.ContainsFunc(cfg.Updates, func(u dependabotUpdate) bool { return u.covers(n.ecosystem, n.dir) })
		if !covered {
			r.addProblem(Problem{Path: DependabotConfig, Msg: fmt.Sprintf(`no %s update covers %s (its %s), so Dependabot never bumps it: add "/%s", or a glob such as "/%s/*", to a %s update's directories`, n.ecosystem, n.dir, n.file, n.dir, BotsDir, n.ecosystem)})
		}
	}
}

// dependabotDirMatch reports whether a directory or directories entry of
// dependabot.yml names dir (slash-rooted): exactly, by a glob of
// path.Match, or by a pattern ending in /** for everything below it.
func dependabotDirMatch(pattern, dir string) bool {
	if pattern == "" {
		return false
	}
	pattern = path.Clean(pattern)
	if prefix, ok := strings.CutSuffix(pattern, "/**"); ok {
		return dir == prefix || strings.HasPrefix(dir, strings.TrimSuffix(prefix, "/")+"/")
	}
	ok, err := path.Match(pattern, dir)
	return err == nil && ok
}
