package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/botfleet/botfleet/tools/internal/render"
)

// renderOptions are `botctl render`'s.
type renderOptions struct {
	*globalOptions
	bot, env string
}

func newRenderCmd(g *globalOptions) *cobra.Command {
	o := &renderOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "render BOT --env ENV",
		Short: "Print a bot's built overlay, as Argo CD builds it",
		Long: "Builds bots/BOT/manifests/envs/ENV with kustomize, in-process (the legacy\n" +
			"resource order of `kustomize build`), and prints the objects as YAML.",
		Example: "  botctl render hello --env dev",
		Args:    oneBot("render", ""),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.bot = args[0]
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&o.env, "env", "", "the environment (dev, prd)")
	return cmd
}

func (o *renderOptions) validate() error { return checkBotAndEnv(o.bot, o.env) }

func (o *renderOptions) run(_ context.Context) error {
	root, err := o.root()
	if err != nil {
		return err
	}
	s, err := o.settings(root)
	if err != nil {
		return err
	}
	if _, ok := s.Environments[o.env]; !ok {
		return usageError{fmt.Errorf("--env %s: want one of %v (botfleet.yaml)", o.env, s.EnvNames())}
	}
	out, err := render.Overlay(o.fs, root, o.bot, o.env)
	if err != nil {
		return err
	}
	_, err = o.stdout.Write(out)
	return err
}
