// Command ansible deploys a Git branch of an app to an environment from
// Slack, by running ansible-playbook from a playbook repo on EFS.
package main

import (
	"context"

	"github.com/botfleet/botfleet/bots/ansible/internal/proc"
	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/botmain"
)

func main() {
	// First, before any child starts: the bot adopts and reaps what its
	// playbooks leave behind, so a cancel finds it (see proc.Subreap).
	subreapErr := proc.Subreap()
	botmain.Main("ansible", func(ctx context.Context, b *botkit.Bot, live *botkit.Live[Config], env botkit.Env) error {
		if subreapErr != nil && env.Logger != nil {
			env.Logger.Warn("processes a playbook leaves behind go to init, not to the bot", "err", subreapErr)
		}
		return setup(ctx, b, live, env)
	})
}
