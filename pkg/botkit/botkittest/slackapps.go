package botkittest

import (
	"os"
	"testing"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/slack"
)

// CheckSlackApps fails t when a bot's committed Slack app manifest,
// slack-app.<env>.yaml in the working directory (the bot's own), is not what
// the bot that setup(env) registers needs: its scopes, events, slash
// commands and shortcuts. With update, it rewrites the files instead, as
// `botctl slack-app` would print them.
func CheckSlackApps(t testing.TB, envs []string, update bool, setup func(env string) *botkit.Bot) {
	t.Helper()
	for _, env := range envs {
		got, err := slack.Manifest(setup(env), slack.ManifestOptions{Env: env})
		if err != nil {
			t.Fatal(err)
		}
		path := "slack-app." + env + ".yaml"
		if update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if want, err := os.ReadFile(path); err != nil || string(got) != string(want) {
			t.Errorf("%s is not what the code registers (%v); run `go test -run TestSlackAppManifests -update` in the bot's directory. The code's:\n%s", path, err, got)
		}
	}
}
