package validate

import (
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/botfleet/botfleet/tools/internal/codeowners"
	"github.com/botfleet/botfleet/tools/internal/settings"
	"github.com/botfleet/botfleet/tools/internal/workflows"
)

// WorkflowsDir holds the GitHub Actions workflows.
const WorkflowsDir = ".github/workflows"

// ReleaseCredentials are the release's credentials and the GitHub
// environment only main may use, which alone holds them (README.md, "How a
// change reaches production"): the deploy key, which pushes to main past
// its protection, and the AWS role that pushes images, whose trust policy
// accepts the environment's OIDC subject only.
func ReleaseCredentials() workflows.Protected {
	return workflows.Protected{Environment: "release", Secrets: []string{"DEPLOY_KEY"}, Roles: []string{"botfleet-github-release"}}
}

// codeOwned are the paths whose changes reach the cluster or the release
// pipeline unreviewed but for their code owners: the cluster side (the root
// Application syncs it by itself), the workflows (they hold the deploy key)
// and the settings.
var codeOwned = []string{ManifestsDir + "/", ".github/", settings.FileName}

// checkWorkflows checks that only jobs of the release environment use the
// release's credentials.
func (r *run) checkWorkflows() {
	var files []string
	for _, pat := range []string{"*.yml", "*.yaml"} {
		m, err := r.v.FS.Glob(filepath.Join(r.v.Root, filepath.FromSlash(WorkflowsDir), pat))
		if err != nil {
			continue
		}
		files = append(files, m...)
	}
	slices.Sort(files)
	for _, f := range files {
		rel := path.Join(WorkflowsDir, filepath.Base(f))
		data, err := r.v.FS.ReadFile(f)
		if err != nil {
			r.addProblem(Problem{Path: rel, Msg: err.Error()})
			continue
		}
		problems, err := workflows.CheckProtected(rel, data, ReleaseCredentials())
		if err != nil {
			r.addProblem(Problem{Path: rel, Msg: err.Error()})
			continue
		}
		for _, p := range problems {
			r.addProblem(Problem{Path: rel, Line: p.Line, Msg: p.Key + ": " + p.Msg})
		}
	}
}

// checkCodeOwners checks that every file under codeOwned has a code owner
// in the CODEOWNERS file GitHub reads.
func (r *run) checkCodeOwners() {
	var file string
	var data []byte
	for _, loc := range codeowners.Locations {
		if d, err := r.v.FS.ReadFile(r.abs(loc)); err == nil {
			file, data = loc, d
			break
		}
	}
	if file == "" {
		r.addProblem(Problem{Path: codeowners.Locations[0], Msg: fmt.Sprintf("missing: %s need code owners, whose review main's protection requires (\"Require review from Code Owners\"); a merge there reaches the cluster or the release pipeline", strings.Join(codeOwned, ", "))})
		return
	}
	owners, err := codeowners.Parse(data)
	if err != nil {
		r.addProblem(Problem{Path: file, Msg: err.Error()})
		return
	}
	for _, root := range codeOwned {
		var unowned []string
		var rule *codeowners.Rule
		check := func(p string) {
			if o, ru := owners.Owners(p); len(o) == 0 {
				unowned = append(unowned, p)
				if rule == nil {
					rule = ru
				}
			}
		}
		if !strings.HasSuffix(root, "/") {
			check(root)
		} else {
			_ = r.v.FS.Walk(r.abs(strings.TrimSuffix(root, "/")), func(p string, info fs.FileInfo, err error) error {
				if err != nil || info.IsDir() {
					return nil
				}
				rel, err := filepath.Rel(r.v.Root, p)
				if err == nil {
					check(filepath.ToSlash(rel))
				}
				return nil
			})
		}
		if len(unowned) == 0 {
			continue
		}
		why := "no line matches it"
		if rule != nil {
			why = fmt.Sprintf("line %d, %q, the last to match, names no owner", rule.Line, rule.Pattern)
		}
		r.addProblem(Problem{Path: file, Msg: fmt.Sprintf("%s has no code owner (%s: %s): add a line /%s @<team>", root, strings.Join(first(unowned, 3), ", "), why, root)})
	}
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(slices.Clone(s[:n]), "…")
	}
	return s
}
