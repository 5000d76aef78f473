package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/botfleet/botfleet/tools/internal/changed"
	"github.com/botfleet/botfleet/tools/internal/gitcmd"
	"github.com/botfleet/botfleet/tools/internal/release"
)

// changedOptions are `botctl changed`'s.
type changedOptions struct {
	*globalOptions
	base, head, format   string
	deployed, deployedAt string
	eventName, eventPath string
	explain              bool
}

func newChangedCmd(g *globalOptions) *cobra.Command {
	o := &changedOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "changed (--base REF | --deployed ENV | --event-name NAME --event FILE) [--head REF]",
		Short: "List the bots whose images a range of commits changes",
		Long: "Compares --head with its merge base with a base (as a pull request's diff does)\n" +
			"and lists the bots whose image inputs differ: the Dockerfile and its dockerignore,\n" +
			"what it copies, and of pkg/ and bots/<bot>/ only the files of the Go packages the\n" +
			"bot links (go list -deps for linux/amd64, GOWORK=off, as the image builds) and the\n" +
			"module versions it selects; and every bot when botfleet.yaml moves the images\n" +
			"(account, region, registry, image prefix). READMEs, manifests, tests, docs, tools/\n" +
			"and go.work change no image. The base revision is read from the module cache only\n" +
			"(GOPROXY=off).\n\n" +
			"The base is --base; or, with --deployed ENV, each bot's own: the commit of the\n" +
			"release tag its ENV overlay has at --deployed-at (default --head), so a bot whose\n" +
			"last image failed to build stays listed, and a bot with no release yet is listed;\n" +
			"or, with --event-name and --event (GitHub Actions' $GITHUB_EVENT_NAME and\n" +
			"$GITHUB_EVENT_PATH), a pull request's base, or a push's previous commit (for a new\n" +
			"branch, what it adds to the default branch, origin/<default branch>).",
		Example: "  botctl changed --base origin/main\n" +
			"  botctl changed --deployed dev --deployed-at origin/main --head $GITHUB_SHA\n" +
			"  botctl changed --event-name $GITHUB_EVENT_NAME --event $GITHUB_EVENT_PATH --head $GITHUB_SHA",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("changed takes no arguments, got %q; the bots are found from the commits", args)}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&o.base, "base", "", "the revision to compare with")
	cmd.Flags().StringVar(&o.deployed, "deployed", "", "compare each bot with the release its overlay of this environment runs")
	cmd.Flags().StringVar(&o.deployedAt, "deployed-at", "", "with --deployed: the revision whose overlays are read (default --head)")
	cmd.Flags().StringVar(&o.eventName, "event-name", "", "a GitHub Actions event's name ($GITHUB_EVENT_NAME): pull_request or push")
	cmd.Flags().StringVar(&o.eventPath, "event", "", "with --event-name: the event's JSON file ($GITHUB_EVENT_PATH)")
	cmd.Flags().StringVar(&o.head, "head", "HEAD", "the revision whose changes are listed")
	cmd.Flags().StringVar(&o.format, "format", "json", "json (an array of names) or lines (one name a line)")
	cmd.Flags().BoolVar(&o.explain, "explain", false, "print on stderr why each bot is listed")
	return cmd
}

func (o *changedOptions) validate() error {
	given := 0
	for _, v := range []string{o.base, o.deployed, o.eventName} {
		if v != "" {
			given++
		}
	}
	switch {
	case given != 1:
		return usageError{fmt.Errorf("give one of --base, --deployed and --event-name")}
	case o.deployedAt != "" && o.deployed == "":
		return usageError{fmt.Errorf("--deployed-at goes with --deployed")}
	case (o.eventName == "") != (o.eventPath == ""):
		return usageError{fmt.Errorf("--event-name and --event go together")}
	}
	if o.format != "json" && o.format != "lines" {
		return usageError{fmt.Errorf("--format %s: want json or lines", o.format)}
	}
	return nil
}

func (o *changedOptions) run(ctx context.Context) error {
	root, err := o.root()
	if err != nil {
		return err
	}
	opts := changed.Options{Repo: root, Base: o.base, Head: o.head}
	switch {
	case o.deployed != "":
		if err := o.checkEnv(root, o.deployed); err != nil {
			return err
		}
		if opts.Bases, err = release.Deployed(ctx, root, o.deployed, cmp.Or(o.deployedAt, o.head)); err != nil {
			return err
		}
	case o.eventName != "":
		var why string
		if opts.Base, why, err = o.eventBase(ctx, root); err != nil {
			return err
		}
		fmt.Fprintf(o.stderr, "botctl changed: %s event: comparing with %s (%s)\n", o.eventName, opts.Base, why)
	}
	res, err := changed.Bots(ctx, opts)
	if err != nil {
		return err
	}
	return printList(o.stdout, o.stderr, o.format, res.Bots, o.explain, res.Reasons)
}

// event is what eventBase reads of a GitHub Actions event's payload.
type event struct {
	Before      string `json:"before"`
	PullRequest *struct {
		Base struct {
			SHA string `json:"sha"`
		} `json:"base"`
	} `json:"pull_request"`
	Repository struct {
		DefaultBranch string `json:"default_branch"`
	} `json:"repository"`
}

// eventBase picks the revision to compare a GitHub Actions run's commit
// with: a pull request's base; a push's previous commit, or, for a new
// branch (before is all zeros) or a force-push (before is gone), the tip of
// the default branch as fetched (origin/<branch>), so that a branch is
// judged by what it adds, never by every bot.
func (o *changedOptions) eventBase(ctx context.Context, root string) (base, why string, err error) {
	data, err := o.fs.ReadFile(o.eventPath)
	if err != nil {
		return "", "", fmt.Errorf("reading the event: %w", err)
	}
	var ev event
	if err := json.Unmarshal(data, &ev); err != nil {
		return "", "", fmt.Errorf("reading the event %s: %w", o.eventPath, err)
	}
	repo := gitcmd.Repo{Dir: root}
	switch o.eventName {
	case "pull_request", "pull_request_target":
		if ev.PullRequest == nil || ev.PullRequest.Base.SHA == "" {
			return "", "", fmt.Errorf("%s event %s has no pull_request.base.sha", o.eventName, o.eventPath)
		}
		return ev.PullRequest.Base.SHA, "the pull request's base", nil
	case "push":
		if ev.Before != "" && strings.Trim(ev.Before, "0") != "" {
			if ok, _ := repo.Test(ctx, "cat-file", "-e", ev.Before+"^{commit}"); ok {
				return ev.Before, "the commit before the push", nil
			}
		}
		branch := ev.Repository.DefaultBranch
		if branch == "" {
			return "", "", fmt.Errorf("push event %s has no repository.default_branch", o.eventPath)
		}
		ref := "refs/remotes/origin/" + branch
		if ok, _ := repo.Test(ctx, "rev-parse", "--verify", "-q", ref+"^{commit}"); !ok {
			return "", "", fmt.Errorf("a new branch is compared with %s, which this clone lacks (actions/checkout with fetch-depth: 0)", ref)
		}
		return ref, "a new branch or a force-push: what it adds to " + branch, nil
	}
	return "", "", usageError{fmt.Errorf("--event-name %s: no base to compare with for it (known: pull_request, pull_request_target, push); use --base", o.eventName)}
}

// printList writes what affected and changed found: one per line or a JSON
// array (the workflows read either), with each one's reason on stderr when
// explain is set, so stdout stays machine-readable.
func printList(stdout, stderr io.Writer, format string, names []string, explain bool, reasons map[string]string) error {
	if explain {
		for _, n := range names {
			fmt.Fprintf(stderr, "%s: %s\n", n, reasons[n])
		}
	}
	if format == "lines" {
		if len(names) == 0 {
			return nil
		}
		_, err := fmt.Fprintln(stdout, strings.Join(names, "\n"))
		return err
	}
	out, err := json.Marshal(names)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", out)
	return err
}
