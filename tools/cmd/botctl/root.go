package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"

	"github.com/spf13/cobra"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/botfleet/botfleet/tools/internal/settings"
)

// globalOptions are the flags every subcommand takes.
type globalOptions struct {
	repo   string // the repo root; "" means found from the working directory
	stdout io.Writer
	stderr io.Writer
	fs     filesys.FileSystem
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	g := &globalOptions{stdout: stdout, stderr: stderr, fs: filesys.MakeFsOnDisk()}
	cmd := &cobra.Command{
		Use:           "botctl",
		Short:         "botfleet's CLI: render and validate the bots' manifests",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.CompletionOptions.DisableDefaultCmd = true
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	cmd.PersistentFlags().StringVar(&g.repo, "repo", "", "the repo's root (default: the nearest directory upwards with "+settings.FileName+")")
	cmd.AddCommand(newRenderCmd(g), newValidateCmd(g))
	cmd.AddCommand(newSettingsCmd(g))
	cmd.AddCommand(newNewCmd(g))
	cmd.AddCommand(newChangedCmd(g), newSetImageCmd(g), newPromoteCmd(g), newBumpCmd(g))
	return cmd
}

// root returns the repo's root, absolute.
func (g *globalOptions) root() (string, error) {
	if g.repo != "" {
		abs, err := filepath.Abs(g.repo)
		if err != nil {
			return "", err
		}
		if !g.fs.Exists(filepath.Join(abs, settings.FileName)) {
			return "", fmt.Errorf("--repo %s: no %s there", g.repo, settings.FileName)
		}
		return abs, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if g.fs.Exists(filepath.Join(dir, settings.FileName)) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not in a botfleet repo: no " + settings.FileName + " here or above; use --repo")
		}
		dir = parent
	}
}

// settings loads the settings of the repo at root.
func (g *globalOptions) settings(root string) (*settings.Settings, error) {
	data, err := g.fs.ReadFile(filepath.Join(root, settings.FileName))
	if err != nil {
		return nil, err
	}
	return settings.Parse(data)
}

// botName is a bot's name: a DNS-1123 label (STYLE.md).
var botName = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$`)

func checkBotName(name string) error {
	if !botName.MatchString(name) {
		return usageError{fmt.Errorf("bot name %q: want a DNS label of lowercase letters, digits and dashes (%s)", name, botName)}
	}
	return nil
}
