package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/spf13/cobra"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/botfleet/botfleet/tools/internal/scaffold"
	"github.com/botfleet/botfleet/tools/internal/settings"
)

// globalOptions are the flags every subcommand takes.
type globalOptions struct {
	repo string // the repo root; "" means found from the working directory
	// makeTarget phrases hints for the make target that runs botctl
	// (make bot NAME=x FORCE=1) rather than for botctl's own flags.
	makeTarget bool
	stdin      io.Reader
	stdout     io.Writer
	stderr     io.Writer
	fs         filesys.FileSystem
}

func newRootCmd(stdout, stderr io.Writer) (*cobra.Command, *globalOptions) {
	g := &globalOptions{stdout: stdout, stderr: stderr, fs: filesys.MakeFsOnDisk()}
	cmd := &cobra.Command{
		Use:           "botctl",
		Short:         "botfleet's CLI: render and validate the bots' manifests",
		Version:       botctlVersion(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.CompletionOptions.DisableDefaultCmd = true
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	cmd.PersistentFlags().StringVar(&g.repo, "repo", "", "the repo's root (default: the nearest directory upwards with "+settings.FileName+")")
	cmd.PersistentFlags().BoolVar(&g.makeTarget, "make-target", false, "phrase hints for the Makefile's targets (FORCE=1, not --force)")
	cmd.PersistentFlags().MarkHidden("make-target")
	cmd.AddCommand(newRenderCmd(g), newValidateCmd(g))
	cmd.AddCommand(newSettingsCmd(g), newInitCmd(g))
	cmd.AddCommand(newNewCmd(g))
	cmd.AddCommand(newChangedCmd(g), newSetImageCmd(g), newPromoteCmd(g), newBumpCmd(g))
	cmd.AddCommand(newCheckFilesCmd(g), newAffectedCmd(g), newSlackAppCmd(g))
	cmd.AddCommand(newSecretsCmd(g))
	return cmd, g
}

// version is botctl's version, set at build time:
// -ldflags "-X main.version=<version>" (the Makefile passes git describe).
var version string

// botctlVersion is version, else the module version go install stamped,
// else "dev".
func botctlVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
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

// checkBotName refuses a name no bot can have (scaffold.CheckName).
func checkBotName(name string) error {
	if err := scaffold.CheckName(name); err != nil {
		return inputError{err}
	}
	return nil
}

// oneBot is the Args check of a command that takes one bot, such as
// "render" or "secrets put"; hint, if any, follows "one bot" in its error.
func oneBot(command, hint string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != 1 {
			return usageError{fmt.Errorf("%s takes one bot%s, got %d arguments", command, hint, len(args))}
		}
		return nil
	}
}

// checkBotAndEnv refuses a bad bot name and a missing --env, for the
// commands that act on one bot in one environment.
func checkBotAndEnv(bot, env string) error {
	if err := checkBotName(bot); err != nil {
		return err
	}
	if env == "" {
		return usageError{fmt.Errorf("--env is required")}
	}
	return nil
}
