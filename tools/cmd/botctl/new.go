package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/botfleet/botfleet/tools/internal/awsplatform"
	"github.com/botfleet/botfleet/tools/internal/scaffold"
)

// newOptions are `botctl new`'s.
type newOptions struct {
	*globalOptions
	name  string
	force bool
}

func newNewCmd(g *globalOptions) *cobra.Command {
	o := &newOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "new NAME",
		Short: "Create a bot, bots/NAME, from the templates",
		Long: "Creates bots/NAME from botctl's templates (a copy of the example bot under its own\n" +
			"name): its Go module with go.mod and go.sum tidied offline from the module cache,\n" +
			"tests, config, README, Dockerfile, Kustomize base and dev/prd overlays, example\n" +
			"Secrets and a Slack app manifest per environment; adds it to go.work; prints the\n" +
			"next steps. Values such as the module path, registry and namespaces come from\n" +
			"botfleet.yaml.\n\n" +
			"NAME is a lowercase letter followed by lowercase letters, digits and dashes, at\n" +
			"most 40 characters, not ending in a dash. An existing bot is refused unless\n" +
			"--force, which rewrites its template files and keeps every other file (and the\n" +
			"overlays' image tags).",
		Example: "  botctl new deploy-bot\n  botctl new hello --force   # regenerate the example",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("new takes one bot name, got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	cmd.Flags().BoolVar(&o.force, "force", false, "rewrite the template files of an existing bot (other files are kept)")
	return cmd
}

func (o *newOptions) validate() error {
	return checkBotName(o.name)
}

func (o *newOptions) run(ctx context.Context) error {
	root, err := o.root()
	if err != nil {
		return err
	}
	res, err := scaffold.New(ctx, root, scaffold.Options{Name: o.name, Force: o.force})
	if errors.Is(err, scaffold.ErrExists) {
		if o.makeTarget {
			return inputError{fmt.Errorf("%w: make bot NAME=%s FORCE=1 rewrites its template files (and keeps its other files)", err, o.name)}
		}
		return inputError{fmt.Errorf("%w: pass --force to rewrite its template files (its other files are kept)", err)}
	}
	if err != nil {
		return err
	}
	w := o.stdout
	fmt.Fprintf(w, "created %s: %d files\n", res.Dir, len(res.Written))
	for _, f := range res.Written {
		fmt.Fprintf(w, "  %s/%s\n", res.Dir, f)
	}
	if len(res.Kept) > 0 {
		fmt.Fprintf(w, "kept (not from the templates): %s\n", strings.Join(res.Kept, ", "))
	}
	if res.GoWork {
		fmt.Fprintf(w, "added ./%s to %s\n", res.Dir, scaffold.GoWork)
	}
	// Its ECR repository (and, once it has an iam.yaml, its roles) as ACK
	// objects, as `botctl init` writes them.
	s, err := o.settings(root)
	if err != nil {
		return inputError{err}
	}
	files, err := o.awsFiles(root, s)
	if err != nil {
		return err
	}
	changes, err := awsplatform.Write(o.fs, root, files)
	if err != nil {
		return err
	}
	for _, c := range changes {
		verb := "wrote"
		if c.What == "not generated" {
			verb = "removed"
		}
		fmt.Fprintf(w, "%s %s\n", verb, c.Path)
	}
	steps, err := scaffold.NextSteps(res.Data)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nNext steps (also in %s/README.md):\n\n%s", res.Dir, steps)
	return nil
}
