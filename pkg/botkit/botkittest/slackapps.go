package botkittest

import (
	"testing"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/slack"
	"github.com/botfleet/botfleet/pkg/golden"
)

// CheckSlackApps fails t when a bot's committed Slack app manifest,
// slack-app.<env>.yaml in the working directory (the bot's own), is not what
// the bot that setup(env) registers needs: its scopes, events, slash
// commands and shortcuts. With -update (pkg/golden's flag), it rewrites the
// files instead, as `botctl slack-app` would print them.
func CheckSlackApps(t testing.TB, envs []string, setup func(env string) *botkit.Bot) {
	t.Helper()
	for _, env := range envs {
		got, err := slack.Manifest(setup(env), slack.ManifestOptions{Env: env})
		if err != nil {
			t.Fatal(err)
		}
		golden.Check(t, "slack-app."+env+".yaml", got)
	}
}
