package validate

import (
	"fmt"

	"github.com/botfleet/botfleet/tools/internal/literals"
)

// checkLiterals reports each value of manifests/ and the overlays that
// disagrees with botfleet.yaml, at its file and line, with the command that
// writes it: the same plan `botctl init` carries out.
func (r *run) checkLiterals() {
	p, err := literals.Make(r.v.FS, r.v.Root, r.s)
	if err != nil {
		r.addProblem(Problem{Path: "botfleet.yaml", Msg: fmt.Sprintf("cannot compare the manifests with the settings: %v", err)})
		return
	}
	for _, e := range p.Edits {
		r.addProblem(Problem{Path: e.File, Line: e.Line, Field: e.Key, Msg: fmt.Sprintf("%q, botfleet.yaml says %q: run `botctl init` (it writes every value of botfleet.yaml into these files), then commit", e.Old, e.New)})
	}
}
