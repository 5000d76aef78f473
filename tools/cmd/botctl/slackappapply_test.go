package main

import (
	"strings"
	"testing"

	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
	"github.com/botfleet/botfleet/pkg/golden"
	"github.com/botfleet/botfleet/tools/internal/smfake"
)

// TestSlackAppApply creates hello's dev app, applies it again, and checks
// what botctl prints against testdata/slack-app-apply.golden (the fake's
// address replaced by SLACK).
func TestSlackAppApply(t *testing.T) {
	srv := slacktest.New(t)
	sm := smfake.New(t)
	sm.Env(t)
	t.Setenv("SLACK_API_URL", srv.APIURL())
	t.Setenv("SLACK_CONFIG_TOKEN", "")

	var got strings.Builder
	for i := range 2 {
		code, out, errs := runIn(t, slacktest.ConfigToken+"\n", "--repo", repoDir, "slack-app", "apply", "hello", "--env", "dev")
		if code != exitOK {
			t.Fatalf("apply %d: exit %d, stderr %s", i+1, code, errs)
		}
		got.WriteString("$ botctl slack-app apply hello --env dev\n" + out)
	}
	text := strings.ReplaceAll(got.String(), srv.URL(), "SLACK")
	if strings.Contains(text, slacktest.ConfigToken) || strings.Contains(text, "fake-signing-secret") {
		t.Errorf("output quotes a secret:\n%s", text)
	}
	golden.Check(t, "testdata/slack-app-apply.golden", text)
	if apps := srv.Apps(); len(apps) != 1 || apps[0].Updates != 1 {
		t.Errorf("apps = %+v, want one, updated once", apps)
	}
	if v := sm.Versions("botfleet/dev/hello"); len(v) != 1 || !strings.Contains(v[0], "SLACK_SIGNING_SECRET") {
		t.Errorf("secret versions = %d, want one with the signing secret", len(v))
	}
}

func TestSlackAppApplyRefusesTokens(t *testing.T) {
	t.Setenv("SLACK_CONFIG_TOKEN", "")
	tests := []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{name: "token as an argument", args: []string{"slack-app", "apply", "hello", "--env", "dev", slacktest.ConfigToken},
			want: "argument 8 holds a Slack token"},
		{name: "no token", args: []string{"slack-app", "apply", "hello", "--env", "dev"}, want: "no app configuration token"},
		{name: "refresh token", stdin: "xoxe-1-refresh\n", args: []string{"slack-app", "apply", "hello", "--env", "dev"}, want: "that is the refresh token"},
		{name: "bot token", stdin: slacktest.BotToken + "\n", args: []string{"slack-app", "apply", "hello", "--env", "dev"}, want: "not an app configuration token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := runIn(t, tt.stdin, append([]string{"--repo", repoDir}, tt.args...)...)
			if code != exitUsage || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errs, exitUsage, tt.want)
			}
		})
	}
}
