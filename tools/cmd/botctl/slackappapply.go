package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/slack-go/slack"
	"github.com/spf13/cobra"

	"github.com/botfleet/botfleet/tools/internal/secretstore"
	"github.com/botfleet/botfleet/tools/internal/slackapp"
)

// defaultSlackAPIURL is Slack's Web API; SLACK_API_URL overrides it, as for
// the bots.
const defaultSlackAPIURL = "https://slack.com/api/"

// slackAppApplyOptions are `botctl slack-app apply`'s.
type slackAppApplyOptions struct {
	slackAppOptions
	appID string
}

func newSlackAppApplyCmd(g *globalOptions) *cobra.Command {
	o := &slackAppApplyOptions{slackAppOptions: slackAppOptions{globalOptions: g}}
	cmd := &cobra.Command{
		Use:   "apply BOT --env ENV",
		Short: "Create or update a bot's Slack app in ENV from its code",
		Long: "Makes the bot's manifest (as botctl slack-app does), has Slack validate it, then\n" +
			"updates the bot's app in ENV, or creates it and stores its signing secret, app id\n" +
			"and client id in the bot's secret (" + secretstore.Name("BOT", "ENV") + ", AWS Secrets Manager).\n" +
			"Prints the install link when the app is new or its scopes changed (installing\n" +
			"again is what grants new scopes). An invalid manifest changes nothing.\n\n" +
			"Slack's app manifest API takes an app configuration token: generate one at\n" +
			"https://api.slack.com/apps (Your App Configuration Tokens); it is yours and lasts\n" +
			"12 hours. Give it in SLACK_CONFIG_TOKEN or on stdin, never as an argument; botctl\n" +
			"uses it for this run and stores it nowhere.",
		Example: "  botctl slack-app apply hello --env dev    # paste the xoxe.xoxp-... token, then Enter",
		Args:    oneBot("slack-app apply", ""),
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
	cmd.Flags().StringVar(&o.appID, "app-id", "", "adopt this existing app (made by hand, or by an apply that could not record it)")
	return cmd
}

// configToken reads the app configuration token from SLACK_CONFIG_TOKEN or
// the first line of stdin.
func (o *slackAppApplyOptions) configToken() (string, error) {
	token := os.Getenv("SLACK_CONFIG_TOKEN")
	if token == "" {
		line, err := bufio.NewReader(o.stdin).ReadString('\n')
		if err != nil && line == "" {
			return "", inputError{slackapp.CheckConfigToken("")}
		}
		token = strings.TrimSpace(line)
	}
	if err := slackapp.CheckConfigToken(token); err != nil {
		return "", inputError{err}
	}
	return token, nil
}

func (o *slackAppApplyOptions) run(ctx context.Context) error {
	s, err := o.checkBotEnv(o.bot, o.env)
	if err != nil {
		return err
	}
	token, err := o.configToken()
	if err != nil {
		return err
	}
	m, err := o.manifest(ctx)
	if err != nil {
		return err
	}
	store, err := newSecretStore(ctx, s)
	if err != nil {
		return err
	}
	apiURL := os.Getenv("SLACK_API_URL")
	if apiURL == "" {
		apiURL = defaultSlackAPIURL
	}
	a := &slackapp.Applier{Slack: slack.New("", slack.OptionAPIURL(apiURL), slack.OptionConfigToken(token)), APIURL: apiURL, Secrets: store}
	res, err := a.Apply(ctx, slackapp.Request{Bot: o.bot, Env: o.env, Manifest: m, AppID: o.appID})
	if err != nil {
		return err
	}
	verb := "updated"
	if res.Created {
		verb = "created"
	}
	fmt.Fprintf(o.stdout, "%s %s's Slack app in %s: %s\n", verb, o.bot, o.env, res.AppID)
	switch {
	case res.Created:
		fmt.Fprintf(o.stdout, "install it in the workspace (an admin may have to approve it):\n  %s\n", res.InstallURL)
	case res.Reinstall:
		fmt.Fprintf(o.stdout, "its scopes changed: install it again to grant them (the bot token stays the same):\n  %s\n", res.InstallURL)
	}
	if res.Created {
		fmt.Fprintf(o.stdout, "then at https://api.slack.com/apps/%s (Basic Information, App-Level Tokens) create a token with connections:write,\n"+
			"and store both tokens: botctl secrets put %s --env %s  (SLACK_BOT_TOKEN=xoxb-..., SLACK_APP_TOKEN=xapp-... on stdin)\n",
			res.AppID, o.bot, o.env)
	}
	return nil
}
