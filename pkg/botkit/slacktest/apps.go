package slacktest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// ConfigToken is the app configuration token the fake accepts for the app
// manifest methods (apps.manifest.*). Real ones start with xoxe.xoxp-:
// Slack issues them to one person, from the apps page, for 12 hours.
const ConfigToken = "xoxe.xoxp-1-botfleet-fake"

// The credentials apps.manifest.create hands out for the n-th app.
func appCredentials(n int) map[string]any {
	return map[string]any{
		"client_id":          fmt.Sprintf("%s.%d", Team, 1000+n),
		"client_secret":      fmt.Sprintf("fake-client-secret-%d", n),
		"verification_token": fmt.Sprintf("fake-verification-%d", n),
		"signing_secret":     fmt.Sprintf("fake-signing-secret-%d", n),
	}
}

// App is an app made through the app manifest API.
type App struct {
	ID       string
	Manifest json.RawMessage // as last created or updated
	Scopes   []string        // its bot scopes, sorted
	Updates  int             // apps.manifest.update calls that changed it
}

// Apps returns the apps made with apps.manifest.create, in order.
func (s *Server) Apps() []App {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]App, 0, len(s.appOrder))
	for _, id := range s.appOrder {
		a := *s.apps[id]
		a.Manifest = slices.Clone(a.Manifest)
		a.Scopes = slices.Clone(a.Scopes)
		out = append(out, a)
	}
	return out
}

// manifestError is one entry of the errors array of invalid_manifest.
type manifestError struct {
	Message string `json:"message"`
	Pointer string `json:"pointer"`
}

// appManifest is the part of an app manifest the fake checks.
type appManifest struct {
	DisplayInformation struct {
		Name string `json:"name"`
	} `json:"display_information"`
	Features struct {
		BotUser *struct {
			DisplayName string `json:"display_name"`
		} `json:"bot_user"`
		SlashCommands []struct {
			Command string `json:"command"`
		} `json:"slash_commands"`
		Shortcuts []struct {
			CallbackID string `json:"callback_id"`
		} `json:"shortcuts"`
	} `json:"features"`
	OAuthConfig struct {
		Scopes struct {
			Bot []string `json:"bot"`
		} `json:"scopes"`
	} `json:"oauth_config"`
	Settings struct {
		EventSubscriptions *struct {
			RequestURL string   `json:"request_url"`
			BotEvents  []string `json:"bot_events"`
		} `json:"event_subscriptions"`
		Interactivity *struct {
			IsEnabled  bool   `json:"is_enabled"`
			RequestURL string `json:"request_url"`
		} `json:"interactivity"`
		SocketModeEnabled bool `json:"socket_mode_enabled"`
	} `json:"settings"`
}

// maxAppNameLen is Slack's limit on display_information.name.
const maxAppNameLen = 35

// eventScope is the scope Slack requires before an app may subscribe to a
// bot event, for the events the fake knows; it accepts others unchecked.
var eventScope = map[string]string{
	"app_mention":           "app_mentions:read",
	"message.im":            "im:history",
	"message.channels":      "channels:history",
	"message.groups":        "groups:history",
	"message.mpim":          "mpim:history",
	"reaction_added":        "reactions:read",
	"reaction_removed":      "reactions:read",
	"member_joined_channel": "channels:read",
	"channel_created":       "channels:read",
	"team_join":             "users:read",
}

// checkManifest parses and checks a manifest as Slack's schema and rules
// do, for the rules the fake knows. It returns the manifest and the errors
// of an invalid_manifest answer.
func checkManifest(raw string) (*appManifest, []manifestError) {
	var m appManifest
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, []manifestError{{Message: "manifest is not valid JSON: " + err.Error(), Pointer: "/"}}
	}
	var errs []manifestError
	switch name := m.DisplayInformation.Name; {
	case name == "":
		errs = append(errs, manifestError{"Field is required", "/display_information/name"})
	case len(name) > maxAppNameLen:
		errs = append(errs, manifestError{fmt.Sprintf("Must be %d characters or fewer", maxAppNameLen), "/display_information/name"})
	}
	scopes := m.OAuthConfig.Scopes.Bot
	if len(scopes) > 0 && (m.Features.BotUser == nil || m.Features.BotUser.DisplayName == "") {
		errs = append(errs, manifestError{"Bot scopes require a bot user", "/features/bot_user"})
	}
	if (len(m.Features.SlashCommands) > 0 || len(m.Features.Shortcuts) > 0) && !slices.Contains(scopes, "commands") {
		errs = append(errs, manifestError{"Slash commands and shortcuts require the commands scope", "/oauth_config/scopes/bot"})
	}
	socket := m.Settings.SocketModeEnabled
	if es := m.Settings.EventSubscriptions; es != nil {
		if es.RequestURL == "" && !socket && len(es.BotEvents) > 0 {
			errs = append(errs, manifestError{"Event Subscription requires either Request URL or Socket Mode Enabled", "/settings/event_subscriptions"})
		}
		for i, ev := range es.BotEvents {
			if need, ok := eventScope[ev]; ok && !slices.Contains(scopes, need) {
				errs = append(errs, manifestError{fmt.Sprintf("Event %s requires the %s scope", ev, need),
					fmt.Sprintf("/settings/event_subscriptions/bot_events/%d", i)})
			}
		}
	}
	if in := m.Settings.Interactivity; in != nil && in.IsEnabled && in.RequestURL == "" && !socket {
		errs = append(errs, manifestError{"Interactivity requires a Request URL", "/settings/interactivity"},
			manifestError{"Interactivity requires Socket Mode enabled", "/settings/interactivity"})
	}
	return &m, errs
}

// manifestParam reads the manifest argument, a JSON app manifest encoded as
// a string (an object in a JSON body is taken too, as Slack does).
func manifestParam(p url.Values) (string, bool) {
	raw := strings.TrimSpace(p.Get("manifest"))
	return raw, raw != ""
}

func invalidManifest(errs []manifestError) (map[string]any, string) {
	return map[string]any{"errors": errs}, "invalid_manifest"
}

// serveAppsLocked serves apps.manifest.validate, create, update and export.
// s.mu must be held.
func (s *Server) serveAppsLocked(method string, p url.Values) (map[string]any, string) {
	if method == "apps.manifest.export" {
		a, ok := s.apps[p.Get("app_id")]
		if !ok {
			return nil, "invalid_app_id"
		}
		return map[string]any{"manifest": a.Manifest}, ""
	}
	raw, ok := manifestParam(p)
	if !ok {
		return nil, "invalid_arguments"
	}
	var prev *App
	if id := p.Get("app_id"); id != "" || method == "apps.manifest.update" {
		if prev, ok = s.apps[id]; !ok {
			return nil, "invalid_app_id"
		}
	}
	m, errs := checkManifest(raw)
	if len(errs) > 0 {
		return invalidManifest(errs)
	}
	scopes := slices.Sorted(slices.Values(m.OAuthConfig.Scopes.Bot))
	scopes = slices.Compact(scopes)
	switch method {
	case "apps.manifest.validate":
		return map[string]any{"errors": []manifestError{}}, ""
	case "apps.manifest.create":
		n := s.nextLocked()
		a := &App{ID: fmt.Sprintf("A%07d", n), Manifest: json.RawMessage(raw), Scopes: scopes}
		s.apps[a.ID] = a
		s.appOrder = append(s.appOrder, a.ID)
		creds := appCredentials(n)
		authorize := s.http.URL + "/oauth/v2/authorize?" + url.Values{"client_id": {creds["client_id"].(string)},
			"scope": {strings.Join(scopes, ",")}}.Encode()
		return map[string]any{"app_id": a.ID, "credentials": creds, "oauth_authorize_url": authorize,
			"team_id": Team, "team_domain": TeamDomain}, ""
	default: // update
		changed := !slices.Equal(prev.Scopes, scopes)
		prev.Manifest, prev.Scopes = json.RawMessage(raw), scopes
		prev.Updates++
		return map[string]any{"app_id": prev.ID, "permissions_updated": changed}, ""
	}
}
