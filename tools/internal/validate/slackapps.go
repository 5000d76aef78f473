package validate

import (
	"fmt"
	"path"

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
}

// checkSlackApps reads every bot's Slack app manifests (slack-app.<env>.yaml,
// made from its code; each bot's tests keep them so): each environment
// must have one, and no two apps may declare the same slash command, since
// Slack does not namespace them in a workspace, and one workspace often
// holds both environments' apps.
func (r *run) checkSlackApps() {
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
