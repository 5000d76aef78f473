package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/botfleet/botfleet/tools/internal/botbin"
	"github.com/botfleet/botfleet/tools/internal/iampolicy"
	"github.com/botfleet/botfleet/tools/internal/validate"
)

// errProblems means validate printed the problems it found.
var errProblems = errors.New("problems found")

// validateOptions are `botctl validate`'s.
type validateOptions struct {
	*globalOptions
	bots []string
}

func newValidateCmd(g *globalOptions) *cobra.Command {
	o := &validateOptions{globalOptions: g}
	return &cobra.Command{
		Use:   "validate [BOT...]",
		Short: "Check every bot's overlays (or the named bots') and manifests/",
		Long: "Builds every overlay of every bot (or of the named bots) and every kustomization\n" +
			"under manifests/, and checks each object: strictly against the target Kubernetes\n" +
			"version's schemas and Argo CD's CRDs, Pod Security \"restricted\", Fargate's limits,\n" +
			"the cluster contract (docs/architecture.md) and botfleet.yaml; the AppProjects against what\n" +
			"their Applications hold; the ECR lifecycle policy against the overlays; that only\n" +
			"jobs of the environment release use the deploy key or the AWS push role; that\n" +
			"CODEOWNERS owns manifests/, .github/ and botfleet.yaml; checks each overlay's config.yaml\n" +
			"with the bot's own loader (it builds the bot and runs -install-config FILE -dry-run);\n" +
			"and lints each bot's Dockerfile\n" +
			"(BuildKit's parser and offline lint rules, and the repo's image rules). Prints one\n" +
			"line per problem (directory: object: field: problem, or file:line: problem) and\n" +
			"exits 1 when there is any; else one line per bot pod with the Fargate size it\n" +
			"runs on (its requests plus Fargate's 256Mi, rounded up to a CPU and memory\n" +
			"combination).",
		Example: "  botctl validate\n  botctl validate hello",
		RunE: func(cmd *cobra.Command, args []string) error {
			o.bots = args
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
}

func (o *validateOptions) validate() error {
	for _, b := range o.bots {
		if err := checkBotName(b); err != nil {
			return err
		}
	}
	return nil
}

func (o *validateOptions) run(ctx context.Context) error {
	root, err := o.root()
	if err != nil {
		return err
	}
	bin, err := os.MkdirTemp("", "botctl-validate-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bin)
	bots := &botbin.Checker{Root: root, Dir: bin}
	v := &validate.Validator{FS: o.fs, Root: root, Configs: bots, SlackApps: bots}
	rep, err := v.Run(ctx, o.bots)
	if err != nil {
		return err
	}
	lines := make([]string, 0, len(rep.Problems))
	for _, p := range rep.Problems {
		lines = append(lines, p.String())
	}
	iam, err := o.checkIAM(ctx, root)
	if err != nil {
		return err
	}
	lines = append(lines, iam...)
	for _, l := range lines {
		fmt.Fprintln(o.stdout, l)
	}
	if len(lines) > 0 {
		fmt.Fprintf(o.stderr, "botctl validate: %d problem(s)\n", len(lines))
		return errProblems
	}
	for _, p := range rep.Pods {
		fmt.Fprintln(o.stdout, p)
	}
	what := "every bot"
	if len(o.bots) > 0 {
		what = strings.Join(o.bots, ", ")
	}
	fmt.Fprintf(o.stdout, "botctl validate: %s and manifests/: no problems\n", what)
	return nil
}

// checkIAM checks each bot's iam.yaml against the AWS calls in its code
// (iampolicy): a bot that calls AWS must declare exactly what they need.
func (o *validateOptions) checkIAM(ctx context.Context, root string) ([]string, error) {
	bots := o.bots
	if len(bots) == 0 {
		var err error
		if bots, err = validate.Bots(o.fs, root); err != nil {
			return nil, err
		}
	}
	var out []string
	for _, b := range bots {
		dir := filepath.Join(root, "bots", b)
		if !o.fs.Exists(filepath.Join(dir, "go.mod")) {
			continue
		}
		ops, err := iampolicy.Ops(ctx, dir)
		if err != nil {
			return nil, err
		}
		file := "bots/" + b + "/" + iampolicy.FileName
		data, err := o.fs.ReadFile(filepath.Join(dir, iampolicy.FileName))
		switch {
		case err != nil && len(ops) == 0:
			continue // calls no AWS, declares nothing
		case err != nil:
			var need []string
			for _, op := range ops {
				need = append(need, iampolicy.Actions(op)...)
			}
			out = append(out, fmt.Sprintf("%s: missing: the code calls AWS (%s at %s); declare the actions it needs: %s",
				file, ops[0], ops[0].Pos, strings.Join(need, ", ")))
			continue
		}
		d, err := iampolicy.Parse(data)
		if err != nil {
			out = append(out, fmt.Sprintf("%s: %v", file, err))
			continue
		}
		out = append(out, iampolicy.Check(file, d, ops)...)
	}
	return out, nil
}
