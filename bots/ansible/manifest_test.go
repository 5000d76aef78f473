package main

import (
	"testing"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/botkittest"
)

// TestSlackAppManifests: each environment's committed Slack app manifest
// is what the code registers; `go test -run TestSlackAppManifests -update`
// rewrites them (as `botctl slack-app ansible --env ENV` prints them).
func TestSlackAppManifests(t *testing.T) {
	botkittest.CheckSlackApps(t, []string{"dev", "prd"}, func(env string) *botkit.Bot {
		b := botkit.New("ansible")
		cfg := testConfig(t, playbookRepo(t))
		if err := setup(t.Context(), b, botkit.NewLive(&cfg), botkit.Env{Name: env, StateDir: t.TempDir()}); err != nil {
			t.Fatal(err)
		}
		return b
	})
}
