package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"

	"github.com/botfleet/botfleet/pkg/botkit"
)

// requireTools registers the programs a deploy runs as the bot's
// requirements, so -check-config fails and /readyz is not ready while one
// is missing, before any user runs into it.
func requireTools(b *botkit.Bot, live *botkit.Live[Config]) {
	for _, prog := range []struct {
		name string
		path func() string
	}{
		{"git", func() string { return "git" }},
		{"ansible-playbook", func() string { return live.Load().AnsiblePlaybook }},
	} {
		b.Requires(prog.name, func(context.Context) error {
			if _, err := exec.LookPath(prog.path()); err != nil {
				if text, ok := missingTool(err); ok {
					return errors.New(text)
				}
				return err
			}
			return nil
		})
	}
}

// checkTools refuses a deploy, before anything runs or is recorded, when a
// program it needs cannot be run: the user is told which, and that the
// bot's operators must install it.
func checkTools(cfg *Config) error {
	for _, prog := range []string{"git", cfg.AnsiblePlaybook} {
		if _, err := exec.LookPath(prog); err != nil {
			if text, ok := missingTool(err); ok {
				return &botkit.UserError{Msg: "I can't deploy: " + text + ". Nothing was run.", Err: err}
			}
			return err
		}
	}
	return nil
}

// missingTool says in a phrase which program err could not start, and
// why, if that is what err is about.
func missingTool(err error) (string, bool) {
	var ee *exec.Error
	if !errors.As(err, &ee) {
		return "", false
	}
	why := ee.Err.Error()
	switch {
	case errors.Is(ee.Err, exec.ErrNotFound):
		why = "it is not in the bot's PATH"
	case errors.Is(ee.Err, fs.ErrNotExist):
		why = "there is no such file"
	case errors.Is(ee.Err, fs.ErrPermission):
		why = "the bot may not run it"
	}
	return fmt.Sprintf("`%s` is missing where the bot runs (%s); the bot's operators must install it", botkit.Escape(ee.Name), why), true
}
