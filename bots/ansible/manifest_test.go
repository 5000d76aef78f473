package main

import (
	"os"
	"testing"

	"github.com/botfleet/botfleet/pkg/botkit"
	slackbot "github.com/botfleet/botfleet/pkg/botkit/slack"
)

// TestSlackAppManifests: each environment's committed Slack app manifest
// is what the code registers; `go test -run TestSlackAppManifests -update`
// rewrites them (as `botctl slack-app ansible --env ENV` prints them).
func TestSlackAppManifests(t *testing.T) {
	for _, env := range []string{"dev", "prd"} {
		b := botkit.New("ansible")
		cfg := testConfig(t, playbookRepo(t), t.TempDir())
		if err := setup(t.Context(), b, botkit.NewLive(&cfg), botkit.Env{Name: env}); err != nil {
			t.Fatal(err)
		}
		got, err := slackbot.Manifest(b, slackbot.ManifestOptions{Env: env})
		if err != nil {
			t.Fatal(err)
		}
		path := "slack-app." + env + ".yaml"
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if want, err := os.ReadFile(path); err != nil || string(got) != string(want) {
			t.Errorf("%s is not what the code registers (%v); run `go test -run TestSlackAppManifests -update`. The code's:\n%s", path, err, got)
		}
	}
}
