package slacktest_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
)

// socketApp is a valid Socket Mode app with a slash command.
const socketApp = `{"display_information":{"name":"hello (dev)"},
 "features":{"bot_user":{"display_name":"hello-dev"},"slash_commands":[{"command":"/hello-dev","description":"d"}]},
 "oauth_config":{"scopes":{"bot":["app_mentions:read","chat:write","commands","im:history"]}},
 "settings":{"event_subscriptions":{"bot_events":["app_mention","message.im"]},"interactivity":{"is_enabled":true},"socket_mode_enabled":true}}`

func TestManifestValidateErrors(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	c := slack.New("", slack.OptionAPIURL(srv.APIURL()), slack.OptionConfigToken(slacktest.ConfigToken))
	tests := []struct {
		name, manifest, token string
		wantErr               string
		wantPointers          []string
	}{
		{name: "valid", manifest: socketApp},
		{name: "no commands scope", manifest: strings.Replace(socketApp, `"commands",`, "", 1),
			wantErr: "invalid_manifest", wantPointers: []string{"/oauth_config/scopes/bot"}},
		{name: "event without its scope", manifest: strings.Replace(socketApp, `"im:history"`, `"users:read"`, 1),
			wantErr: "invalid_manifest", wantPointers: []string{"/settings/event_subscriptions/bot_events/1"}},
		{name: "neither socket mode nor URLs", manifest: strings.Replace(socketApp, `"socket_mode_enabled":true`, `"socket_mode_enabled":false`, 1),
			wantErr: "invalid_manifest", wantPointers: []string{"/settings/event_subscriptions", "/settings/interactivity", "/settings/interactivity"}},
		{name: "no name", manifest: strings.Replace(socketApp, `"hello (dev)"`, `""`, 1),
			wantErr: "invalid_manifest", wantPointers: []string{"/display_information/name"}},
		{name: "bot token", manifest: socketApp, token: slacktest.BotToken, wantErr: "not_allowed_token_type"},
		{name: "unknown token", manifest: socketApp, token: "xoxe.xoxp-1-other", wantErr: "invalid_auth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := c.ValidateManifestRawContext(t.Context(), json.RawMessage(tt.manifest), tt.token, "")
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("validate: err = %v, want %s", err, tt.wantErr)
			}
			var got []string
			if resp != nil {
				for _, e := range resp.Errors {
					if e.Message == "" {
						t.Errorf("error at %s has no message", e.Pointer)
					}
					got = append(got, e.Pointer)
				}
			}
			if diff := cmp.Diff(tt.wantPointers, got); diff != "" {
				t.Errorf("error pointers (-want +got):\n%s", diff)
			}
		})
	}
	if apps := srv.Apps(); len(apps) != 0 {
		t.Errorf("validate made apps: %+v", apps)
	}
}

func TestManifestCreateUpdate(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	c := slack.New("", slack.OptionAPIURL(srv.APIURL()), slack.OptionConfigToken(slacktest.ConfigToken))
	created, err := c.CreateManifestRawContext(t.Context(), json.RawMessage(socketApp), "")
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.AppId == "" || created.Credentials == nil || created.Credentials.SigningSecret == "" ||
		!strings.Contains(created.OAuthAuthorizeUrl, "scope=app_mentions%3Aread%2Cchat%3Awrite%2Ccommands%2Cim%3Ahistory") {
		t.Fatalf("create = %+v, want an app id, credentials and an authorize URL with the scopes", created)
	}

	same, err := c.UpdateManifestRawContext(t.Context(), json.RawMessage(strings.Replace(socketApp, `"d"`, `"new text"`, 1)), "", created.AppId)
	if err != nil || same.AppId != created.AppId || same.PermissionsUpdated {
		t.Fatalf("update of the description = %+v, %v; want the same app, permissions not updated", same, err)
	}
	more, err := c.UpdateManifestRawContext(t.Context(), json.RawMessage(strings.Replace(socketApp, `"chat:write",`, `"chat:write","files:write",`, 1)), "", created.AppId)
	if err != nil || !more.PermissionsUpdated {
		t.Fatalf("update adding a scope = %+v, %v; want permissions updated", more, err)
	}
	if _, err := c.UpdateManifestRawContext(t.Context(), json.RawMessage(socketApp), "", "A404"); err == nil || err.Error() != "invalid_app_id" {
		t.Errorf("update of an unknown app: err = %v, want invalid_app_id", err)
	}
	bad := strings.Replace(socketApp, `"commands",`, "", 1)
	if _, err := c.UpdateManifestRawContext(t.Context(), json.RawMessage(bad), "", created.AppId); err == nil || err.Error() != "invalid_manifest" {
		t.Errorf("update with an invalid manifest: err = %v, want invalid_manifest", err)
	}

	apps := srv.Apps()
	if len(apps) != 1 || apps[0].Updates != 2 || !strings.Contains(string(apps[0].Manifest), "files:write") {
		t.Errorf("apps = %+v, want one, updated twice, with files:write (the invalid update changed nothing)", apps)
	}
	exported, err := c.ExportManifestRawContext(t.Context(), "", created.AppId)
	if err != nil || !strings.Contains(string(exported), "files:write") {
		t.Errorf("export = %s, %v; want the last manifest", exported, err)
	}
}
