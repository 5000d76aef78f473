package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/botfleet/botfleet/tools/internal/awsplatform"
	"github.com/botfleet/botfleet/tools/internal/literals"
	"github.com/botfleet/botfleet/tools/internal/settings"
	"github.com/botfleet/botfleet/tools/internal/validate"
)

// initOptions are `botctl init`'s.
type initOptions struct {
	*globalOptions
	dryRun bool
}

func newInitCmd(g *globalOptions) *cobra.Command {
	o := &initOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write the values of " + settings.FileName + " into manifests/ and the bots' overlays",
		Long: "Argo CD renders manifests/ and the bots' overlays without botctl, so they hold the\n" +
			"values of " + settings.FileName + " as literals: namespaces, the repo URL and revision, Argo CD's\n" +
			"namespace and the bots' projects, EFS volume handles, image names, IRSA role ARNs,\n" +
			"the AWS region, the Pod Security version. init sets each to what " + settings.FileName + "\n" +
			"says, editing only those values (comments and layout stay), and prints each change.\n" +
			"It also writes whole the files generated from " + settings.FileName + " and the bots' iam.yaml:\n" +
			"the ACK objects of " + awsplatform.Dir + " (each bot's ECR repository and IAM roles)\n" +
			"and the ACK controllers' Helm values and IAM policies in " + awsplatform.BootstrapDir + ".\n" +
			"Running it again changes nothing. The names in use today (namespaces, projects) are\n" +
			"read from manifests/efs/<env>.yaml and manifests/argocd/bots-<env>.yaml.",
		Example: "  botctl init\n  botctl init --dry-run",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context())
		},
	}
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "print the changes, write nothing")
	return cmd
}

func (o *initOptions) run(_ context.Context) error {
	root, err := o.root()
	if err != nil {
		return err
	}
	s, err := o.settings(root)
	if err != nil {
		return inputError{err}
	}
	p, err := literals.Make(o.fs, root, s)
	if err != nil {
		return err
	}
	files, err := o.awsFiles(root, s)
	if err != nil {
		return err
	}
	generated, err := awsplatform.Diff(o.fs, root, files)
	if err != nil {
		return err
	}
	for _, e := range p.Edits {
		fmt.Fprintln(o.stdout, e)
	}
	for _, c := range generated {
		fmt.Fprintf(o.stdout, "%s (generated)\n", c)
	}
	switch {
	case len(p.Edits) == 0 && len(generated) == 0:
		fmt.Fprintf(o.stdout, "botctl init: every value agrees with %s\n", settings.FileName)
		return nil
	case o.dryRun:
		fmt.Fprintf(o.stdout, "botctl init: %d values in %d files and %d generated files would change (--dry-run: nothing written)\n", len(p.Edits), len(p.Files()), len(generated))
		return nil
	}
	if err := p.Write(o.fs, root); err != nil {
		return err
	}
	if _, err := awsplatform.Write(o.fs, root, files); err != nil {
		return err
	}
	fmt.Fprintf(o.stdout, "botctl init: %d values in %d files and %d generated files changed; review with git diff, then commit\n", len(p.Edits), len(p.Files()), len(generated))
	return nil
}

// awsFiles are the generated files of the repo at root: its bots' ACK
// objects and the controllers' bootstrap (awsplatform). An iam.yaml or
// lifecycle policy it cannot read is the input's fault.
func (g *globalOptions) awsFiles(root string, s *settings.Settings) ([]awsplatform.File, error) {
	bots, err := validate.Bots(g.fs, root)
	if err != nil {
		return nil, err
	}
	files, err := awsplatform.Make(g.fs, root, s, bots)
	if err != nil {
		return nil, inputError{err}
	}
	return files, nil
}
