package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/botfleet/botfleet/tools/internal/changed"
)

// affectedOptions are `botctl affected`'s.
type affectedOptions struct {
	*globalOptions
	base, head, format string
	explain            bool
}

func newAffectedCmd(g *globalOptions) *cobra.Command {
	o := &affectedOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "affected --base REF [--head REF]",
		Short: "List the modules whose tests a change can affect",
		Long: "Lists the modules (pkg, tools, bench, bots/<bot>) whose tests the changes since the merge\n" +
			"base of --base can affect: the module holding a change; every module whose tests\n" +
			"link the changed package (go list -deps -test, test files counted: a pkg change\n" +
			"reaches the bots that link it); every module for go.work, the Makefile and .ci/;\n" +
			"tools for anything its tests read (all but the bots' Go code and test data).\n" +
			"Without --head, the work tree is compared: uncommitted and untracked files count.\n" +
			"`make test-changed` tests these.",
		Example: "  botctl affected --base origin/main --format lines\n" +
			"  botctl affected --base $PR_BASE --head $GITHUB_SHA",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("affected takes no arguments, got %q; the modules are found from the changes", args)}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&o.base, "base", "", "the revision to compare with (required)")
	cmd.Flags().StringVar(&o.head, "head", "", "the revision whose changes count (default: the work tree)")
	cmd.Flags().StringVar(&o.format, "format", "json", "json (an array of module directories) or lines (one a line)")
	cmd.Flags().BoolVar(&o.explain, "explain", false, "print on stderr why each module is listed")
	return cmd
}

func (o *affectedOptions) validate() error {
	if o.base == "" {
		return usageError{fmt.Errorf("--base is required")}
	}
	if o.format != "json" && o.format != "lines" {
		return usageError{fmt.Errorf("--format %s: want json or lines", o.format)}
	}
	return nil
}

func (o *affectedOptions) run(ctx context.Context) error {
	root, err := o.root()
	if err != nil {
		return err
	}
	res, err := changed.Tests(ctx, changed.Options{Repo: root, Base: o.base, Head: o.head})
	if err != nil {
		return err
	}
	return printList(o.stdout, o.stderr, o.format, res.Modules, o.explain, res.Reasons)
}
