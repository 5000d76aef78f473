// Package slackapp creates and updates a bot's Slack app from the manifest
// made from the bot's code, through Slack's app manifest API
// (apps.manifest.validate, create and update), and keeps what create returns
// with the bot's tokens in its secret.
//
// The API takes an app configuration token: Slack issues it to one person,
// from https://api.slack.com/apps, for 12 hours, and each rotation
// (tooling.tokens.rotate) invalidates the refresh token it used. So apply
// runs on a person's machine with that person's token, given on stdin or in
// SLACK_CONFIG_TOKEN, used once and never stored: the person who applies
// also has to install the app and create its app-level token, which only
// Slack's pages can do, and a refresh token shared through Secrets Manager
// would make every rotation a race between whoever uses it next.
package slackapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/slack-go/slack"
	"sigs.k8s.io/yaml"

	"github.com/botfleet/botfleet/tools/internal/secretstore"
)

// ConfigTokenPrefix starts every app configuration token; the refresh
// token that comes with it starts with "xoxe-" and is not accepted.
const ConfigTokenPrefix = "xoxe.xoxp-"

// CheckConfigToken says what is wrong with token, or nil. It never quotes
// the token.
func CheckConfigToken(token string) error {
	switch {
	case token == "":
		return errors.New("no app configuration token: set SLACK_CONFIG_TOKEN or give it on stdin; " +
			"generate one at https://api.slack.com/apps (Your App Configuration Tokens, Generate Token)")
	case strings.HasPrefix(token, "xoxe-"):
		return errors.New("that is the refresh token: give the access token, which starts with " + ConfigTokenPrefix)
	case !strings.HasPrefix(token, ConfigTokenPrefix):
		return errors.New("not an app configuration token: it starts with " + ConfigTokenPrefix +
			" (bot and app-level tokens cannot manage apps)")
	}
	return nil
}

// Secrets is where apply keeps what create returns.
type Secrets interface {
	Put(ctx context.Context, name string, values, tags map[string]string) ([]string, error)
	Tag(ctx context.Context, name, key string) (string, error)
}

// Applier applies manifests. Slack must carry the configuration token
// (slack.OptionConfigToken) and the Web API URL.
type Applier struct {
	Slack   *slack.Client
	APIURL  string // the Web API URL Slack uses, for the install link
	Secrets Secrets
}

// Request is one apply.
type Request struct {
	Bot, Env string
	Manifest []byte // YAML, as botctl slack-app prints it
	// AppID adopts an app made by hand or by an apply whose secret could
	// not be written; "" means the app recorded in the bot's secret, or a
	// new one.
	AppID string
}

// Result is what an apply did.
type Result struct {
	AppID   string
	Created bool
	// Reinstall is set when the app's scopes changed (or it is new): it
	// must be installed (again) through InstallURL before it has them.
	Reinstall  bool
	InstallURL string
}

// ManifestError is an invalid_manifest answer: nothing was changed.
type ManifestError struct {
	Errors []slack.ManifestValidationError
}

func (e *ManifestError) Error() string {
	lines := []string{"Slack refused the manifest (nothing changed):"}
	for _, m := range e.Errors {
		lines = append(lines, "  "+m.Pointer+": "+m.Message)
	}
	lines = append(lines, "fix what the bot registers, or pkg/botkit/slack/manifest.go when botkit derives the manifest wrongly")
	return strings.Join(lines, "\n")
}

// Apply validates r's manifest, then updates the bot's app in r.Env, or
// creates it and stores its signing secret, app id and client id in the
// bot's secret. An invalid manifest changes nothing.
func (a *Applier) Apply(ctx context.Context, r Request) (Result, error) {
	manifest, err := yaml.YAMLToJSON(r.Manifest)
	if err != nil {
		return Result{}, fmt.Errorf("converting the manifest to JSON: %w", err)
	}
	name := secretstore.Name(r.Bot, r.Env)
	appID := r.AppID
	if appID == "" {
		if appID, err = a.Secrets.Tag(ctx, name, secretstore.AppIDTag); err != nil {
			return Result{}, err
		}
	}
	if v, err := a.Slack.ValidateManifestRawContext(ctx, manifest, "", appID); err != nil {
		return Result{}, slackErr("validating the manifest", v, err)
	}
	if appID == "" {
		return a.create(ctx, name, manifest)
	}
	u, err := a.Slack.UpdateManifestRawContext(ctx, manifest, "", appID)
	if err != nil {
		var resp *slack.ManifestResponse
		if u != nil {
			resp = &u.ManifestResponse
		}
		return Result{}, slackErr("updating app "+appID, resp, err)
	}
	res := Result{AppID: appID, Reinstall: u.PermissionsUpdated}
	if r.AppID != "" { // adopted: record it for the next apply
		if _, err := a.Secrets.Put(ctx, name, nil, map[string]string{secretstore.AppIDTag: appID}); err != nil {
			return res, err
		}
	}
	if res.Reinstall {
		clientID, err := a.Secrets.Tag(ctx, name, secretstore.ClientIDTag)
		if err != nil {
			return res, err
		}
		res.InstallURL = "https://api.slack.com/apps/" + appID + " (Install App)" // adopted: no client id recorded
		if clientID != "" {
			res.InstallURL = a.installURL(clientID, manifest)
		}
	}
	return res, nil
}

func (a *Applier) create(ctx context.Context, name string, manifest []byte) (Result, error) {
	c, err := a.Slack.CreateManifestRawContext(ctx, manifest, "")
	if err != nil {
		return Result{}, slackErr("creating the app", c, err)
	}
	res := Result{AppID: c.AppId, Created: true, Reinstall: true, InstallURL: c.OAuthAuthorizeUrl}
	values := map[string]string{}
	tags := map[string]string{secretstore.AppIDTag: c.AppId}
	if c.Credentials != nil {
		values[secretstore.SigningSecret] = c.Credentials.SigningSecret
		tags[secretstore.ClientIDTag] = c.Credentials.ClientId
	}
	if _, err := a.Secrets.Put(ctx, name, values, tags); err != nil {
		// Slack shows the signing secret again on the app's page; the app
		// id lets the next apply adopt the app instead of making another.
		return res, fmt.Errorf("app %s was created but not recorded: %w; rerun with --app-id %s, then copy the signing secret from "+
			"https://api.slack.com/apps/%s (Basic Information) into botctl secrets put", c.AppId, err, c.AppId, c.AppId)
	}
	return res, nil
}

// installURL is Slack's OAuth v2 authorize link of the app with the
// manifest's bot scopes, as apps.manifest.create returns it: on the Web
// API's host (slack.com), at /oauth/v2/authorize.
func (a *Applier) installURL(clientID string, manifest []byte) string {
	var m struct {
		OAuthConfig struct {
			Scopes struct {
				Bot []string `json:"bot"`
			} `json:"scopes"`
		} `json:"oauth_config"`
	}
	_ = json.Unmarshal(manifest, &m) // Slack accepted it: it is JSON
	base := strings.TrimSuffix(strings.TrimSuffix(a.APIURL, "/"), "/api") + "/oauth/v2/authorize"
	scopes := slices.Clone(m.OAuthConfig.Scopes.Bot)
	slices.Sort(scopes)
	return base + "?" + url.Values{"client_id": {clientID}, "scope": {strings.Join(scopes, ",")}}.Encode()
}

// slackErr explains a failed call: an invalid manifest with Slack's
// pointers, an expired or rotated token with how to get a new one.
func slackErr(what string, resp *slack.ManifestResponse, err error) error {
	switch err.Error() {
	case "invalid_manifest":
		if resp != nil {
			return &ManifestError{Errors: resp.Errors}
		}
	case "invalid_auth", "token_expired", "token_revoked", "not_authed":
		return fmt.Errorf("%s: %w: app configuration tokens last 12 hours and die when rotated; "+
			"generate a new one at https://api.slack.com/apps (Your App Configuration Tokens)", what, err)
	case "invalid_app_id":
		return fmt.Errorf("%s: %w: the app recorded for this bot is gone or not yours; pass --app-id, "+
			"or remove the tag %s from its secret to create a new app", what, err, secretstore.AppIDTag)
	}
	return fmt.Errorf("%s: %w", what, err)
}
