package slackapp_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"github.com/botfleet/botfleet/pkg/awsx/awsfake"
	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
	"github.com/botfleet/botfleet/tools/internal/secretstore"
	"github.com/botfleet/botfleet/tools/internal/slackapp"
	"github.com/botfleet/botfleet/tools/internal/smfake"
)

type creds struct{}

func (creds) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: awsfake.AccessKey, SecretAccessKey: awsfake.SecretKey}, nil
}

type env struct {
	slack *slacktest.Server
	sm    *smfake.Fake
	a     *slackapp.Applier
}

func setup(t *testing.T, token string) env {
	t.Helper()
	srv := slacktest.New(t)
	sm := smfake.New(t)
	c := secretsmanager.New(secretsmanager.Options{Region: awsfake.Region, BaseEndpoint: aws.String(sm.URL),
		Credentials: aws.NewCredentialsCache(creds{})})
	return env{srv, sm, &slackapp.Applier{
		Slack:   slack.New("", slack.OptionAPIURL(srv.APIURL()), slack.OptionConfigToken(token)),
		APIURL:  srv.APIURL(),
		Secrets: secretstore.New(c),
	}}
}

// helloDev is hello's committed dev manifest, which its tests keep equal to
// what its code registers.
func helloDev(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../../bots/hello/slack-app.dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const secret = "botfleet/dev/hello"

func TestApplyCreatesThenUpdates(t *testing.T) {
	e := setup(t, slacktest.ConfigToken)
	m := helloDev(t)
	req := slackapp.Request{Bot: "hello", Env: "dev", Manifest: []byte(m)}

	res, err := e.a.Apply(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	apps := e.slack.Apps()
	if len(apps) != 1 || res.AppID != apps[0].ID || !res.Created || !res.Reinstall || !strings.Contains(res.InstallURL, "/oauth/v2/authorize?") {
		t.Fatalf("create: %+v, apps %+v", res, apps)
	}
	if diff := cmp.Diff([]string{`{"SLACK_SIGNING_SECRET":"fake-signing-secret-1"}`}, e.sm.Versions(secret)); diff != "" {
		t.Errorf("secret (-want +got):\n%s", diff)
	}
	tags := e.sm.Tags(secret)
	if tags[secretstore.AppIDTag] != res.AppID || tags[secretstore.ClientIDTag] == "" {
		t.Errorf("tags = %v, want the app id and client id", tags)
	}

	// The same manifest again updates the app it recorded, nothing to reinstall.
	res2, err := e.a.Apply(t.Context(), req)
	if err != nil || res2.AppID != res.AppID || res2.Created || res2.Reinstall || res2.InstallURL != "" {
		t.Fatalf("second apply = %+v, %v; want an update of %s, no reinstall", res2, err, res.AppID)
	}
	// A new scope (a reaction_added listener, say) needs a reinstall.
	more := strings.Replace(m, "      - usergroups:read\n", "      - reactions:read\n      - usergroups:read\n", 1)
	res3, err := e.a.Apply(t.Context(), slackapp.Request{Bot: "hello", Env: "dev", Manifest: []byte(more)})
	if err != nil || !res3.Reinstall {
		t.Fatalf("apply with a new scope = %+v, %v; want a reinstall", res3, err)
	}
	wantURL := e.slack.URL() + "/oauth/v2/authorize?client_id=" + tags[secretstore.ClientIDTag] +
		"&scope=app_mentions%3Aread%2Cchat%3Awrite%2Ccommands%2Cfiles%3Awrite%2Cim%3Ahistory%2Creactions%3Aread%2Cusergroups%3Aread"
	if res3.InstallURL != wantURL {
		t.Errorf("install URL = %s, want %s", res3.InstallURL, wantURL)
	}
	if apps := e.slack.Apps(); len(apps) != 1 || apps[0].Updates != 2 {
		t.Errorf("apps = %+v, want one updated twice", apps)
	}
	if n := len(e.sm.Versions(secret)); n != 1 {
		t.Errorf("updates wrote the secret: %d versions", n)
	}
}

func TestApplyRefuses(t *testing.T) {
	tests := []struct {
		name, token string
		manifest    func(string) string
		prepare     func(env)
		want        []string
	}{
		{name: "manifest lacking a scope", token: slacktest.ConfigToken,
			manifest: func(m string) string { return strings.Replace(m, "      - commands\n", "", 1) },
			want:     []string{"Slack refused the manifest (nothing changed)", "/oauth_config/scopes/bot: Slash commands", "fix what the bot registers"}},
		{name: "event lacking its scope", token: slacktest.ConfigToken,
			manifest: func(m string) string { return strings.Replace(m, "      - im:history\n", "", 1) },
			want:     []string{"/settings/event_subscriptions/bot_events/2: Event message.im requires the im:history scope"}},
		{name: "expired token", token: "xoxe.xoxp-1-expired",
			want: []string{"validating the manifest: invalid_auth: app configuration tokens last 12 hours"}},
		{name: "recorded app gone", token: slacktest.ConfigToken,
			prepare: func(e env) {
				_, _ = e.a.Secrets.Put(context.Background(), secret, nil, map[string]string{secretstore.AppIDTag: "A404"})
			},
			want: []string{"invalid_app_id: the app recorded for this bot is gone"}},
		{name: "secret not writable after create", token: slacktest.ConfigToken,
			prepare: func(e env) {
				e.sm.FailAlways(smfake.Target+"CreateSecret", awsfake.AccessDenied("secretsmanager:CreateSecret"))
			},
			want: []string{"was created but not recorded", "rerun with --app-id A"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t, tt.token)
			m := helloDev(t)
			if tt.manifest != nil {
				m = tt.manifest(m)
			}
			if tt.prepare != nil {
				tt.prepare(e)
			}
			before := len(e.sm.Versions(secret))
			_, err := e.a.Apply(t.Context(), slackapp.Request{Bot: "hello", Env: "dev", Manifest: []byte(m)})
			if err == nil {
				t.Fatal("apply succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			var me *slackapp.ManifestError
			if errors.As(err, &me) {
				if n := len(e.slack.Apps()); n != 0 {
					t.Errorf("an invalid manifest made %d apps", n)
				}
			}
			if n := len(e.sm.Versions(secret)); n != before {
				t.Errorf("secret versions %d -> %d, want unchanged", before, n)
			}
		})
	}
}

func TestCheckConfigToken(t *testing.T) {
	tests := []struct{ token, want string }{
		{slacktest.ConfigToken, ""},
		{"", "no app configuration token"},
		{"xoxe-1-refresh", "that is the refresh token"},
		{slacktest.BotToken, "not an app configuration token"},
	}
	for _, tt := range tests {
		err := slackapp.CheckConfigToken(tt.token)
		if (tt.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CheckConfigToken(%q) = %v, want %q", tt.token, err, tt.want)
		}
	}
}
