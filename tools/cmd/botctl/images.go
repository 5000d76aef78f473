package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/botfleet/botfleet/tools/internal/changed"
	"github.com/botfleet/botfleet/tools/internal/overlay"
)

// setImageOptions are `botctl set-image`'s.
type setImageOptions struct {
	*globalOptions
	bots                 []string
	env, tag             string
	allChanged           bool
	base, head           string
	baseGiven, headGiven bool
}

func newSetImageCmd(g *globalOptions) *cobra.Command {
	o := &setImageOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "set-image BOT... --env ENV --tag TAG",
		Short: "Set the image tag of bots in an overlay",
		Long: "Sets images[name=BOT].newTag in bots/BOT/manifests/envs/ENV/kustomization.yaml,\n" +
			"editing only that value (comments, order and indentation stay). A tag that is\n" +
			"already set is reported unchanged. With --all-changed, the bots are those\n" +
			"`botctl changed --base REF --head REF` lists. Nothing is written unless every\n" +
			"bot can be set.",
		Example: "  botctl set-image hello ansible --env dev --tag 3f2a1bc\n" +
			"  botctl set-image --all-changed --base $BEFORE --head $GITHUB_SHA --env dev --tag ${GITHUB_SHA::7}",
		RunE: func(cmd *cobra.Command, args []string) error {
			o.bots = args
			o.baseGiven, o.headGiven = cmd.Flags().Changed("base"), cmd.Flags().Changed("head")
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&o.env, "env", "", "the environment (dev, prd)")
	cmd.Flags().StringVar(&o.tag, "tag", "", "the image tag, e.g. the commit")
	cmd.Flags().BoolVar(&o.allChanged, "all-changed", false, "set the tag of every bot that changed between --base and --head")
	cmd.Flags().StringVar(&o.base, "base", "", "with --all-changed: the revision to compare with")
	cmd.Flags().StringVar(&o.head, "head", "HEAD", "with --all-changed: the revision whose changes count")
	return cmd
}

func (o *setImageOptions) validate() error {
	switch {
	case o.env == "":
		return usageError{fmt.Errorf("--env is required")}
	case o.tag == "":
		return usageError{fmt.Errorf("--tag is required")}
	case o.allChanged && len(o.bots) > 0:
		return usageError{fmt.Errorf("name bots or use --all-changed, not both")}
	case o.allChanged && o.base == "":
		return usageError{fmt.Errorf("--all-changed needs --base")}
	case !o.allChanged && (o.baseGiven || o.headGiven):
		return usageError{fmt.Errorf("--base and --head go with --all-changed")}
	case !o.allChanged && len(o.bots) == 0:
		return usageError{fmt.Errorf("name at least one bot, or use --all-changed")}
	}
	if err := overlay.ValidateTag(o.tag); err != nil {
		return usageError{fmt.Errorf("--tag: %w", err)}
	}
	return checkBotNames(o.bots)
}

func (o *setImageOptions) run(ctx context.Context) error {
	root, err := o.root()
	if err != nil {
		return err
	}
	if err := o.checkEnv(root, o.env); err != nil {
		return err
	}
	bots := o.bots
	if o.allChanged {
		res, err := changed.Bots(ctx, changed.Options{Repo: root, Base: o.base, Head: o.head})
		if err != nil {
			return err
		}
		if bots = res.Bots; len(bots) == 0 {
			fmt.Fprintf(o.stdout, "no bot changed between %s and %s\n", shortCommit(res.Base), shortCommit(res.Head))
			return nil
		}
	}
	tags := make(map[string]string, len(bots))
	for _, b := range bots {
		tags[b] = o.tag
	}
	return o.applyTags(root, o.env, tags)
}

// promoteOptions are `botctl promote`'s.
type promoteOptions struct {
	*globalOptions
	bots             []string
	from, to, format string
	all              bool
}

func newPromoteCmd(g *globalOptions) *cobra.Command {
	o := &promoteOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "promote BOT... --from dev --to prd",
		Short: "Copy bots' image tags from one overlay to another",
		Long: "Sets each bot's newTag in its --to overlay to the one in its --from overlay.\n" +
			"With --all, every bot with a --from overlay whose tag differs. Nothing is\n" +
			"written unless every bot can be promoted. --format json prints the tags that\n" +
			"changed, [{\"bot\", \"env\", \"path\", \"old\", \"new\"}], for the pipeline to mark\n" +
			"those images in ECR as promoted.",
		Example: "  botctl promote hello --from dev --to prd\n" +
			"  botctl promote --all --from dev --to prd",
		RunE: func(cmd *cobra.Command, args []string) error {
			o.bots = args
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&o.from, "from", "", "the environment whose tags are taken (dev)")
	cmd.Flags().StringVar(&o.to, "to", "", "the environment whose overlays are set (prd)")
	cmd.Flags().BoolVar(&o.all, "all", false, "promote every bot whose tags differ")
	cmd.Flags().StringVar(&o.format, "format", "text", "text (a line per bot) or json (the tags that changed)")
	return cmd
}

func (o *promoteOptions) validate() error {
	switch {
	case o.from == "" || o.to == "":
		return usageError{fmt.Errorf("--from and --to are required")}
	case o.from == o.to:
		return usageError{fmt.Errorf("--from and --to are both %s", o.from)}
	case o.all && len(o.bots) > 0:
		return usageError{fmt.Errorf("name bots or use --all, not both")}
	case !o.all && len(o.bots) == 0:
		return usageError{fmt.Errorf("name at least one bot, or use --all")}
	case o.format != "text" && o.format != "json":
		return usageError{fmt.Errorf("--format %s: want text or json", o.format)}
	}
	return checkBotNames(o.bots)
}

func (o *promoteOptions) run(_ context.Context) error {
	root, err := o.root()
	if err != nil {
		return err
	}
	for _, env := range []string{o.from, o.to} {
		if err := o.checkEnv(root, env); err != nil {
			return err
		}
	}
	bots := o.bots
	if o.all {
		if bots, err = overlay.BotsWith(o.fs, root, o.from); err != nil {
			return err
		}
	}
	tags, err := overlay.Tags(o.fs, root, o.from, bots)
	if err != nil {
		return err
	}
	if o.all {
		to, err := overlay.Tags(o.fs, root, o.to, bots)
		if err != nil {
			return err
		}
		for b, tag := range to {
			if tags[b] == tag {
				delete(tags, b)
			}
		}
		if len(tags) == 0 {
			if o.format == "json" {
				_, err := fmt.Fprintln(o.stdout, "[]")
				return err
			}
			fmt.Fprintf(o.stdout, "every bot's %s tag is its %s tag already\n", o.to, o.from)
			return nil
		}
	}
	if o.format == "text" {
		return o.applyTags(root, o.to, tags)
	}
	edits, err := o.writeTags(root, o.to, tags)
	if err != nil {
		return err
	}
	type promoted struct {
		Bot  string `json:"bot"`
		Env  string `json:"env"`
		Path string `json:"path"`
		Old  string `json:"old"`
		New  string `json:"new"`
	}
	out := []promoted{}
	for _, e := range edits {
		if e.Changed() {
			out = append(out, promoted{Bot: e.Bot, Env: e.Env, Path: e.Path, Old: e.Old, New: e.New})
		}
	}
	js, err := json.Marshal(out)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(o.stdout, "%s\n", js)
	return err
}

// checkEnv fails unless env is one of the settings' environments.
func (g *globalOptions) checkEnv(root, env string) error {
	s, err := g.settings(root)
	if err != nil {
		return err
	}
	if _, ok := s.Environments[env]; !ok {
		return usageError{fmt.Errorf("environment %q: want one of %v (%s)", env, s.EnvNames(), "botfleet.yaml")}
	}
	return nil
}

// applyTags sets the tags (bot to tag) in env's overlays, all or none, and
// prints one line per bot.
func (g *globalOptions) applyTags(root, env string, tags map[string]string) error {
	edits, err := g.writeTags(root, env, tags)
	if err != nil {
		return err
	}
	for _, e := range edits {
		fmt.Fprintln(g.stdout, e)
	}
	return nil
}

// writeTags sets the tags (bot to tag) in env's overlays, all or none.
func (g *globalOptions) writeTags(root, env string, tags map[string]string) ([]overlay.Edit, error) {
	edits, err := overlay.Plan(g.fs, root, env, tags)
	if err != nil {
		return nil, fmt.Errorf("nothing written:\n%w", err)
	}
	return edits, overlay.Apply(g.fs, root, edits)
}

func checkBotNames(bots []string) error {
	for _, b := range bots {
		if err := checkBotName(b); err != nil {
			return err
		}
	}
	return nil
}

func shortCommit(commit string) string { return commit[:min(len(commit), 12)] }
