package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/botfleet/botfleet/tools/internal/release"
)

// bumpOptions are `botctl bump`'s.
type bumpOptions struct {
	*globalOptions
	bots, failed           []string
	env, tag               string
	remote, branch, deploy string
	attempts               int
}

func newBumpCmd(g *globalOptions) *cobra.Command {
	o := &bumpOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "bump BOT... --env ENV --tag TAG [--failed BOT,...]",
		Short: "Set a release's image tag in an environment's overlays on main, and push it",
		Long: "What the release pipeline runs once images are pushed. On the tip of --branch\n" +
			"(fetched from --remote, checked out detached), sets TAG in each BOT's ENV overlay\n" +
			"where that moves its tag forward, commits once ([skip ci]) and pushes; when the\n" +
			"branch moved meanwhile, it starts again on the new tip. A bot whose overlay names a\n" +
			"later release (its commit descends from TAG's, or the same commit rebuilt later) is\n" +
			"refused and left alone, so re-running an old release never rolls dev back. Then it\n" +
			"moves --deployed-tag to TAG's commit, forward only, unless a bot failed or was\n" +
			"refused. TAG is <commit> or <commit>-rebuild-<run id>. Exits 1 when a bot was\n" +
			"refused or failed (the others are pushed).",
		Example: "  botctl bump hello ecs --env dev --tag $GITHUB_SHA --failed ansible --deployed-tag deployed/dev",
		RunE: func(cmd *cobra.Command, args []string) error {
			o.bots = args
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&o.env, "env", "", "the environment whose overlays are set (dev)")
	cmd.Flags().StringVar(&o.tag, "tag", "", "the released image tag: <commit> or <commit>-rebuild-<run id>")
	cmd.Flags().StringSliceVar(&o.failed, "failed", nil, "bots whose images failed to build: reported, left as they are")
	cmd.Flags().StringVar(&o.remote, "remote", "origin", "the remote to fetch from and push to")
	cmd.Flags().StringVar(&o.branch, "branch", "main", "the branch Argo CD follows")
	cmd.Flags().StringVar(&o.deploy, "deployed-tag", "", "a tag to move to the released commit, e.g. deployed/dev")
	cmd.Flags().IntVar(&o.attempts, "attempts", 5, "pushes to try when the branch moves meanwhile")
	return cmd
}

func (o *bumpOptions) validate() error {
	o.failed = slices.DeleteFunc(o.failed, func(s string) bool { return s == "" })
	switch {
	case o.env == "":
		return usageError{fmt.Errorf("--env is required")}
	case o.tag == "":
		return usageError{fmt.Errorf("--tag is required")}
	case o.attempts < 1:
		return usageError{fmt.Errorf("--attempts %d: want 1 or more", o.attempts)}
	}
	if _, ok := release.ParseTag(o.tag); !ok {
		return usageError{fmt.Errorf("--tag %q: want a release's tag, the 40-hex commit or <commit>-rebuild-<run id>", o.tag)}
	}
	return checkBotNames(append(slices.Clone(o.bots), o.failed...))
}

func (o *bumpOptions) run(ctx context.Context) error {
	root, err := o.root()
	if err != nil {
		return err
	}
	if err := o.checkEnv(root, o.env); err != nil {
		return err
	}
	rep, err := release.Bump(ctx, release.Options{
		Repo: root, Remote: o.remote, Branch: o.branch, Env: o.env, Tag: o.tag,
		Bots: o.bots, Failed: o.failed, DeployedTag: o.deploy,
		Attempts: o.attempts, Backoff: 3 * time.Second,
	})
	if err != nil {
		return err
	}
	for _, b := range rep.Bots {
		fmt.Fprintln(o.stdout, b)
	}
	if rep.Commit != "" {
		fmt.Fprintf(o.stdout, "pushed %s to %s\n", rep.Commit, o.branch)
	}
	if rep.Deployed != "" {
		fmt.Fprintln(o.stdout, rep.Deployed)
	}
	if !rep.OK() {
		fmt.Fprintf(o.stderr, "botctl bump: not every bot runs %s in %s (above: refused or failed)\n", o.tag, o.env)
		return errProblems
	}
	return nil
}
