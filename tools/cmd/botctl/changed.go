package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/botfleet/botfleet/tools/internal/changed"
)

// changedOptions are `botctl changed`'s.
type changedOptions struct {
	*globalOptions
	base, head, format string
	explain            bool
}

func newChangedCmd(g *globalOptions) *cobra.Command {
	o := &changedOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "changed --base REF [--head REF]",
		Short: "List the bots whose images a range of commits changes",
		Long: "Compares --head with its merge base with --base (as a pull request's diff does)\n" +
			"and lists the bots whose image inputs differ: the Dockerfile and its dockerignore,\n" +
			"what it copies, and of pkg/ and bots/<bot>/ only the files of the Go packages the\n" +
			"bot links (go list -deps, GOWORK=off, as the image builds) and the module versions\n" +
			"it selects. READMEs, manifests, tests, docs, tools/ and go.work change no image.\n" +
			"The base revision is read from the module cache only (GOPROXY=off).",
		Example: "  botctl changed --base origin/main\n" +
			"  botctl changed --base $BEFORE --head $GITHUB_SHA --format lines",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("changed takes no arguments, got %q; the bots are found from the commits", args)}
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
	cmd.Flags().StringVar(&o.head, "head", "HEAD", "the revision whose changes are listed")
	cmd.Flags().StringVar(&o.format, "format", "json", "json (an array of names) or lines (one name a line)")
	cmd.Flags().BoolVar(&o.explain, "explain", false, "print on stderr why each bot is listed")
	return cmd
}

func (o *changedOptions) validate() error {
	if o.base == "" {
		return usageError{fmt.Errorf("--base is required")}
	}
	if o.format != "json" && o.format != "lines" {
		return usageError{fmt.Errorf("--format %s: want json or lines", o.format)}
	}
	return nil
}

func (o *changedOptions) run(ctx context.Context) error {
	root, err := o.root()
	if err != nil {
		return err
	}
	res, err := changed.Bots(ctx, changed.Options{Repo: root, Base: o.base, Head: o.head})
	if err != nil {
		return err
	}
	if o.explain {
		for _, b := range res.Bots {
			fmt.Fprintf(o.stderr, "%s: %s\n", b, res.Reasons[b])
		}
	}
	if o.format == "lines" {
		if len(res.Bots) > 0 {
			_, err = fmt.Fprintln(o.stdout, strings.Join(res.Bots, "\n"))
		}
		return err
	}
	out, err := json.Marshal(res.Bots)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(o.stdout, "%s\n", out)
	return err
}
