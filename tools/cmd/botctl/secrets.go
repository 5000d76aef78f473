package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/spf13/cobra"

	"github.com/botfleet/botfleet/pkg/awsx"
	"github.com/botfleet/botfleet/tools/internal/secretstore"
	"github.com/botfleet/botfleet/tools/internal/settings"
)

func newSecretsCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secrets",
		Short: "Store a bot's Slack tokens and webhook secrets in AWS Secrets Manager",
	}
	cmd.AddCommand(newSecretsPutCmd(g))
	return cmd
}

// secretsPutOptions are `botctl secrets put`'s.
type secretsPutOptions struct {
	*globalOptions
	bot, env string
}

func newSecretsPutCmd(g *globalOptions) *cobra.Command {
	o := &secretsPutOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "put BOT --env ENV",
		Short: "Store a bot's tokens, read from stdin, in its secret in ENV",
		Long: "Reads KEY=VALUE lines from stdin (" + strings.Join(secretstore.Keys, ", ") + ",\n" +
			"and the bot's webhook secrets, <BOT>_WEBHOOK_*, 32 characters or more) and merges\n" +
			"them into the secret " + secretstore.Name("BOT", "ENV") + " in AWS Secrets Manager, as a new version;\n" +
			"keys not given keep their value. The External Secrets Operator copies it into the\n" +
			"bot's namespace, and the bot restarts with it (docs/architecture.md). Tokens are\n" +
			"never taken as arguments (shell history, ps) nor from files. AWS credentials and\n" +
			"region come from the SDK's chain (AWS_PROFILE, ...); the region defaults to\n" +
			settings.FileName + "'s.",
		Example: "  botctl secrets put hello --env dev     # paste SLACK_BOT_TOKEN=xoxb-... and SLACK_APP_TOKEN=xapp-..., then Ctrl-D\n" +
			"  pass show slack/hello-dev | botctl secrets put hello --env dev\n" +
			"  echo ALERTS_WEBHOOK_TOKEN=$(openssl rand -hex 32) | botctl secrets put alerts --env dev",
		Args: oneBot("secrets put", " (tokens come on stdin)"),
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

func (o *secretsPutOptions) validate() error { return checkBotAndEnv(o.bot, o.env) }

func (o *secretsPutOptions) run(ctx context.Context) error {
	s, err := o.checkBotEnv(o.bot, o.env)
	if err != nil {
		return err
	}
	values, err := secretstore.Parse(o.stdin, o.bot)
	if err != nil {
		return inputError{fmt.Errorf("stdin: %w", err)}
	}
	store, err := newSecretStore(ctx, s)
	if err != nil {
		return err
	}
	name := secretstore.Name(o.bot, o.env)
	keys, err := store.Put(ctx, name, values, nil)
	if err != nil {
		return err
	}
	given := slices.Sorted(func(yield func(string) bool) {
		for k := range values {
			if !yield(k) {
				return
			}
		}
	})
	fmt.Fprintf(o.stdout, "stored %s in %s (it holds %s)\n", strings.Join(given, ", "), name, strings.Join(keys, ", "))
	return nil
}

// checkBotEnv loads the settings and checks bot exists and env is one of
// theirs.
func (g *globalOptions) checkBotEnv(bot, env string) (*settings.Settings, error) {
	root, err := g.root()
	if err != nil {
		return nil, err
	}
	s, err := g.settings(root)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(s.EnvNames(), env) {
		return nil, usageError{fmt.Errorf("--env %s: the environments are %s", env, strings.Join(s.EnvNames(), ", "))}
	}
	if _, err := os.Stat(filepath.Join(root, "bots", bot, "go.mod")); err != nil {
		return nil, inputError{fmt.Errorf("no bot %s: bots/%s/go.mod does not exist", bot, bot)}
	}
	return s, nil
}

// newSecretStore returns a store on the SDK's default chain, in the
// settings' region unless AWS_REGION says otherwise.
func newSecretStore(ctx context.Context, s *settings.Settings) (*secretstore.Store, error) {
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = s.AWS.Region
	}
	cfg, err := awsx.New(awsx.Options{Bot: "botctl"}).For(ctx, awsx.Target{Region: region})
	if err != nil {
		return nil, err
	}
	return secretstore.New(secretsmanager.NewFromConfig(cfg)), nil
}
