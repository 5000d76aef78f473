package slack

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/botfleet/botfleet/pkg/botkit"
)

// ManifestOptions say which app of a bot a manifest describes.
type ManifestOptions struct {
	// Env is the environment (dev, prd): each has its own Slack app, and
	// slash commands carry its suffix (botkit.SlashName).
	Env string
	// Description is the app's description; "" makes one from the bot's
	// name.
	Description string
	// PublicURL, when set, makes the app use the HTTP Events API at
	// PublicURL/slack/events, /slack/interactive, /slack/commands and
	// /slack/options; empty means Socket Mode.
	PublicURL string
}

// botScopes are the scopes of what botkit itself calls for every bot: it
// replies (chat.postMessage, chat.postEphemeral, chat.update: chat:write),
// uploads long output (files:write), looks up user groups for access rules
// (usergroups.users.list: usergroups:read), and takes mentions and direct
// messages (app_mentions:read, im:history).
var botScopes = []string{"app_mentions:read", "chat:write", "files:write", "im:history", "usergroups:read"}

// eventScopes are the scopes Slack requires to subscribe to an event.
// An event missing here is refused by Manifest, so that a bot never ships
// an app that Slack would not let subscribe.
var eventScopes = map[string][]string{
	"app_home_opened":         nil,
	"app_uninstalled":         nil,
	"tokens_revoked":          nil,
	"reaction_added":          {"reactions:read"},
	"reaction_removed":        {"reactions:read"},
	"member_joined_channel":   {"channels:read", "groups:read"},
	"member_left_channel":     {"channels:read", "groups:read"},
	"channel_created":         {"channels:read"},
	"channel_deleted":         {"channels:read"},
	"channel_rename":          {"channels:read"},
	"channel_archive":         {"channels:read"},
	"channel_unarchive":       {"channels:read"},
	"team_join":               {"users:read"},
	"user_change":             {"users:read"},
	"pin_added":               {"pins:read"},
	"pin_removed":             {"pins:read"},
	"file_shared":             {"files:read"},
	"emoji_changed":           {"emoji:read"},
	"subteam_created":         {"usergroups:read"},
	"subteam_updated":         {"usergroups:read"},
	"subteam_members_changed": {"usergroups:read"},
}

// maxSlashCommand is Slack's limit on a slash command's name, / included.
const maxSlashCommand = 32

// maxAppName is Slack's limit on an app's name.
const maxAppName = 35

// AppName is the name of bot's Slack app in env, "<bot> (<env>)", the
// bot's part cut so the whole fits Slack's limit.
func AppName(bot, env string) string {
	suffix := ""
	if env != "" {
		suffix = " (" + env + ")"
	}
	if room := maxAppName - len(suffix); len(bot) > room {
		bot = strings.TrimRight(bot[:room], "-")
	}
	return bot + suffix
}

// Manifest returns the Slack app manifest (YAML) of bot b in o.Env: its
// scopes, bot events, slash commands, shortcuts, interactivity, home tab
// and Socket Mode follow from what b registers. It fails for an event whose
// scopes it does not know.
func Manifest(b *botkit.Bot, o ManifestOptions) ([]byte, error) {
	name := AppName(b.Name(), o.Env)
	desc := o.Description
	if desc == "" {
		desc = "botfleet's " + b.Name() + " bot"
		if o.Env != "" {
			desc += ", " + o.Env + " environment"
		}
	}
	display := b.Name()
	if o.Env != "" && o.Env != botkit.EnvPrd {
		display += "-" + o.Env
	}
	scopes := slices.Clone(botScopes)
	events := []string{"app_home_opened", "app_mention", "message.im"}
	var slashes []slashCommand
	var shortcuts []shortcut
	for _, c := range b.Listeners() {
		switch c.Kind() {
		case botkit.KindSlash:
			sc := slashCommand{Command: botkit.SlashName(c.Name(), o.Env), Description: orDefault(c.Description(), "Run a "+b.Name()+" command"),
				ShouldEscape: true}
			if len(sc.Command) > maxSlashCommand {
				return nil, fmt.Errorf("slash command %s in %s: %d characters, Slack takes %d", sc.Command, o.Env, len(sc.Command), maxSlashCommand)
			}
			if ex := c.Examples(); len(ex) > 0 {
				sc.UsageHint = ex[0]
			}
			if o.PublicURL != "" {
				sc.URL = o.PublicURL + CommandsPath
			}
			slashes = append(slashes, sc)
			scopes = append(scopes, "commands")
		case botkit.KindShortcut:
			typ := "global"
			if c.OnMessage() {
				typ = "message"
			}
			shortcuts = append(shortcuts, shortcut{Name: c.Title(), Type: typ, CallbackID: c.ID(), Description: orDefault(c.Description(), c.Title())})
			scopes = append(scopes, "commands")
		case botkit.KindEvent:
			need, ok := eventScopes[c.ID()]
			if !ok {
				return nil, fmt.Errorf("event %s: botkit does not know which scopes Slack requires for it; add it to eventScopes in pkg/botkit/slack/manifest.go", c.ID())
			}
			events = append(events, c.ID())
			scopes = append(scopes, need...)
		}
	}
	slices.Sort(scopes)
	scopes = slices.Compact(scopes)
	slices.Sort(events)
	events = slices.Compact(events)

	m := manifest{}
	m.DisplayInformation.Name = name
	m.DisplayInformation.Description = desc
	m.Features.AppHome = appHome{HomeTabEnabled: true, MessagesTabEnabled: true}
	m.Features.BotUser = botUser{DisplayName: display, AlwaysOnline: true}
	m.Features.SlashCommands = slashes
	m.Features.Shortcuts = shortcuts
	m.OAuthConfig.Scopes.Bot = scopes
	m.Settings.EventSubscriptions.BotEvents = events
	m.Settings.Interactivity.IsEnabled = true
	m.Settings.SocketModeEnabled = o.PublicURL == ""
	if o.PublicURL != "" {
		m.Settings.EventSubscriptions.RequestURL = o.PublicURL + EventsPath
		m.Settings.Interactivity.RequestURL = o.PublicURL + InteractivePath
		m.Settings.Interactivity.MessageMenuOptionsURL = o.PublicURL + OptionsPath
	}
	var buf bytes.Buffer
	buf.WriteString(manifestHeader(b.Name(), o.Env))
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("encoding the manifest: %w", err)
	}
	return buf.Bytes(), enc.Close()
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// manifestHeader says what the file is and how it is used.
func manifestHeader(bot, env string) string {
	return strings.Join([]string{
		"# " + bot + "'s Slack app in " + orDefault(env, "this environment") + ", made from the bot's code (botctl slack-app " + bot + " --env " + env + ";",
		"# the bot's tests fail when it is out of date). Paste it at https://api.slack.com/apps",
		"# (\"Create New App\", \"From a manifest\"); each environment is its own app. Then install",
		"# the app (its xoxb- token is SLACK_BOT_TOKEN) and, under \"Basic Information\", create an",
		"# app-level token with connections:write (SLACK_APP_TOKEN).",
		"#",
		"# Scopes: what botkit calls (chat:write, files:write, usergroups:read), the events that",
		"# carry commands (app_mention, message.im) and the home tab (app_home_opened), then",
		"# what the bot registers: slash commands and shortcuts (commands), other events.",
		"",
	}, "\n")
}

type manifest struct {
	DisplayInformation struct {
		Name        string `yaml:"name"`
		Description string `yaml:"description"`
	} `yaml:"display_information"`
	Features struct {
		AppHome       appHome        `yaml:"app_home"`
		BotUser       botUser        `yaml:"bot_user"`
		SlashCommands []slashCommand `yaml:"slash_commands,omitempty"`
		Shortcuts     []shortcut     `yaml:"shortcuts,omitempty"`
	} `yaml:"features"`
	OAuthConfig struct {
		Scopes struct {
			Bot []string `yaml:"bot"`
		} `yaml:"scopes"`
	} `yaml:"oauth_config"`
	Settings struct {
		EventSubscriptions struct {
			RequestURL string   `yaml:"request_url,omitempty"`
			BotEvents  []string `yaml:"bot_events"`
		} `yaml:"event_subscriptions"`
		Interactivity struct {
			IsEnabled             bool   `yaml:"is_enabled"`
			RequestURL            string `yaml:"request_url,omitempty"`
			MessageMenuOptionsURL string `yaml:"message_menu_options_url,omitempty"`
		} `yaml:"interactivity"`
		OrgDeployEnabled     bool `yaml:"org_deploy_enabled"`
		SocketModeEnabled    bool `yaml:"socket_mode_enabled"`
		TokenRotationEnabled bool `yaml:"token_rotation_enabled"`
	} `yaml:"settings"`
}

type appHome struct {
	HomeTabEnabled             bool `yaml:"home_tab_enabled"`
	MessagesTabEnabled         bool `yaml:"messages_tab_enabled"`
	MessagesTabReadOnlyEnabled bool `yaml:"messages_tab_read_only_enabled"`
}

type botUser struct {
	DisplayName  string `yaml:"display_name"`
	AlwaysOnline bool   `yaml:"always_online"`
}

type slashCommand struct {
	Command      string `yaml:"command"`
	URL          string `yaml:"url,omitempty"`
	Description  string `yaml:"description"`
	UsageHint    string `yaml:"usage_hint,omitempty"`
	ShouldEscape bool   `yaml:"should_escape"`
}

type shortcut struct {
	Name        string `yaml:"name"`
	Type        string `yaml:"type"`
	CallbackID  string `yaml:"callback_id"`
	Description string `yaml:"description"`
}
