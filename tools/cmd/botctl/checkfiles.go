package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/botfleet/botfleet/tools/internal/repofiles"
)

// checkFilesOptions are `botctl check-files`'.
type checkFilesOptions struct {
	*globalOptions
}

func newCheckFilesCmd(g *globalOptions) *cobra.Command {
	o := &checkFilesOptions{globalOptions: g}
	return &cobra.Command{
		Use:   "check-files",
		Short: "Check every file git tracks: no binaries, nothing over 1 MiB, no secrets",
		Long: "Reads the files git tracks (git ls-files) and fails on: an executable binary\n" +
			"(ELF, Mach-O, PE), a file with the executable bit that is not a script (#!),\n" +
			"a file over 1 MiB, and a string shaped like a secret (Slack tokens, AWS access\n" +
			"keys and secret keys, private keys). " + repofiles.AllowlistFile + " at the repo's root\n" +
			"names the large files and the fake secrets committed on purpose, each with why.\n" +
			"Prints one line per problem (file: problem, or file:line: problem); never the\n" +
			"secret. `make lint` runs it.",
		Example: "  botctl check-files",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context())
		},
	}
}

func (o *checkFilesOptions) run(ctx context.Context) error {
	root, err := o.root()
	if err != nil {
		return err
	}
	var allow *repofiles.Allowlist
	data, err := os.ReadFile(filepath.Join(root, repofiles.AllowlistFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	default:
		if allow, err = repofiles.ParseAllowlist(data); err != nil {
			return fmt.Errorf("%s: %w", repofiles.AllowlistFile, err)
		}
	}
	files, err := repofiles.Tracked(ctx, root)
	if err != nil {
		return err
	}
	problems, err := repofiles.Check(os.DirFS(root), files, allow)
	if err != nil {
		return err
	}
	for _, p := range problems {
		fmt.Fprintln(o.stdout, p)
	}
	if len(problems) > 0 {
		fmt.Fprintf(o.stderr, "botctl check-files: %d problem(s)\n", len(problems))
		return errProblems
	}
	fmt.Fprintf(o.stdout, "botctl check-files: %d tracked files: no binaries, none over 1 MiB, no secrets\n", len(files))
	return nil
}
