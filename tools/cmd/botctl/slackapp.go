package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// slackAppOptions are `botctl slack-app`'s.
type slackAppOptions struct {
	*globalOptions
	bot, env, publicURL string
}

func newSlackAppCmd(g *globalOptions) *cobra.Command {
	o := &slackAppOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "slack-app BOT --env ENV",
		Short: "Print a bot's Slack app manifest, made from its code",
		Long: "Runs the bot with -slack-manifest in ENV: its scopes, bot events, slash commands,\n" +
			"shortcuts, interactivity, home tab and Socket Mode follow from what its code\n" +
			"registers. Each bot's tests check that its committed slack-app.ENV.yaml is this.",
		Example: "  botctl slack-app hello --env dev > bots/hello/slack-app.dev.yaml",
		Args:    oneBot("slack-app", ""),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.bot = args[0]
			if err := checkBotAndEnv(o.bot, o.env); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&o.env, "env", "", "the environment (dev, prd)")
	cmd.Flags().StringVar(&o.publicURL, "public-url", "", "the bot's public https URL, for the HTTP Events API (default: Socket Mode)")
	cmd.AddCommand(newSlackAppApplyCmd(g))
	return cmd
}

func (o *slackAppOptions) run(ctx context.Context) error {
	m, err := o.manifest(ctx)
	if err != nil {
		return err
	}
	_, err = o.stdout.Write(m)
	return err
}

// manifest returns the bot's Slack app manifest in o.env, made by the bot.
func (o *slackAppOptions) manifest(ctx context.Context) ([]byte, error) {
	root, err := o.root()
	if err != nil {
		return nil, err
	}
	s, err := o.settings(root)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(s.EnvNames(), o.env) {
		return nil, usageError{fmt.Errorf("--env %s: the environments are %s", o.env, strings.Join(s.EnvNames(), ", "))}
	}
	dir := filepath.Join(root, "bots", o.bot)
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		return nil, fmt.Errorf("no bot %s: bots/%s/go.mod does not exist", o.bot, o.bot)
	}
	cmd := exec.CommandContext(ctx, "go", "run", ".", "-slack-manifest")
	cmd.Dir = dir
	// What a bot registers does not depend on its config, but its setup
	// may need a valid one: the local one is, where the bot has it.
	cfg := ""
	if _, err := os.Stat(filepath.Join(dir, "config", "local.yaml")); err == nil {
		cfg = filepath.Join("config", "local.yaml")
	}
	cmd.Env = append(os.Environ(), "BOT_ENV="+o.env, "BOT_CONFIG="+cfg, "BOT_PUBLIC_URL="+o.publicURL)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s -slack-manifest: %w\n%s", o.bot, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.Bytes(), nil
}
