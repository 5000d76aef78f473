package validate

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// slackApp is what checkSlackApps reads of a bot's Slack app manifest.
type slackApp struct {
	Features struct {
		SlashCommands []struct {
			Command string `json:"command"`
		} `json:"slash_commands"`
		Shortcuts []struct {
			CallbackID string `json:"callback_id"`
		} `json:"shortcuts"`
	} `json:"features"`
	Settings struct {
		SocketModeEnabled bool `json:"socket_mode_enabled"`
	} `json:"settings"`
	OAuthConfig struct {
		Scopes struct {
			Bot []string `json:"bot"`
		} `json:"scopes"`
	} `json:"oauth_config"`
}

// SlackAppMaker makes a bot's Slack app manifest in an environment from its
// code (its binary's -slack-manifest); nil, nil for a bot with no code.
type SlackAppMaker interface {
	SlackManifest(ctx context.Context, bot, env string) ([]byte, error)
}

// checkSlackApps reads every bot's Slack app manifests (slack-app.<env>.yaml,
// made from its code; each bot's tests keep them so): each environment
// must have one, and no two apps may declare the same slash command, since
// Slack does not namespace them in a workspace, and one workspace often
// holds both environments' apps. With a SlackAppMaker, each must be what
// the bot's code makes: a scope the code needs and the file lacks fails
// here, naming it, as well as in the bot's own tests.
func (r *run) checkSlackApps(ctx context.Context) {
	type owner struct{ file, bot string }
	seen := map[string]owner{}
	for _, bot := range r.bots {
		for _, env := range r.s.EnvNames() {
			file := path.Join(BotsDir, bot, "slack-app."+env+".yaml")
			data, err := r.v.FS.ReadFile(r.abs(file))
			if err != nil {
				r.addProblem(Problem{Path: file, Msg: fmt.Sprintf("missing: each environment is its own Slack app; write it with `botctl slack-app %s --env %s > %s`", bot, env, file)})
				continue
			}
			var app slackApp
			if err := yaml.Unmarshal(data, &app); err != nil {
				r.addProblem(Problem{Path: file, Msg: fmt.Sprintf("parse: %v", err)})
				continue
			}
			r.checkSlackAppCode(ctx, bot, env, file, data, app)
			for _, sc := range app.Features.SlashCommands {
				if prev, dup := seen[sc.Command]; dup {
					r.addProblem(Problem{Path: file, Msg: fmt.Sprintf("slash command %s is declared by %s too; Slack gives a workspace one %s: rename one bot's slash command", sc.Command, prev.file, sc.Command)})
					continue
				}
				seen[sc.Command] = owner{file, bot}
			}
		}
	}
}

// checkSlackAppCode compares bot's Slack app manifest file in env with the
// one its code makes.
func (r *run) checkSlackAppCode(ctx context.Context, bot, env, file string, data []byte, app slackApp) {
	if r.v.SlackApps == nil {
		return
	}
	code, err := r.v.SlackApps.SlackManifest(ctx, bot, env)
	if err != nil {
		r.addProblem(Problem{Path: file, Msg: fmt.Sprintf("cannot make it from the code: %v", err)})
		return
	}
	if code == nil || bytes.Equal(code, data) {
		return
	}
	fix := fmt.Sprintf("rewrite it with `botctl slack-app %s --env %s > %s` (or `go test -run TestSlackAppManifests -update` in %s)", bot, env, file, path.Join(BotsDir, bot))
	var want slackApp
	if err := yaml.Unmarshal(code, &want); err != nil {
		r.addProblem(Problem{Path: file, Msg: fmt.Sprintf("the code's manifest: parse: %v", err)})
		return
	}
	missing := slices.DeleteFunc(slices.Clone(want.OAuthConfig.Scopes.Bot), func(sc string) bool { return slices.Contains(app.OAuthConfig.Scopes.Bot, sc) })
	extra := slices.DeleteFunc(slices.Clone(app.OAuthConfig.Scopes.Bot), func(sc string) bool { return slices.Contains(want.OAuthConfig.Scopes.Bot, sc) })
	var what []string
	if len(missing) > 0 {
		what = append(what, "lacks the scopes the code needs: "+strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		what = append(what, "has scopes the code does not need: "+strings.Join(extra, ", "))
	}
	if len(what) == 0 {
		r.addProblem(Problem{Path: file, Msg: "differs from what the bot's code registers: " + fix})
		return
	}
	r.addProblem(Problem{Path: file, Msg: fmt.Sprintf("%s: %s, then `botctl slack-app apply %s --env %s` and reinstall the app (its scopes changed)", strings.Join(what, "; "), fix, bot, env)})
}
