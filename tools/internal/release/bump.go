// Package release moves an environment's image tags forward once a
// release's images are pushed: it sets them in the overlays on the tip of
// the branch Argo CD follows, pushes one commit (again on top, should the
// branch move meanwhile), and moves the tag deployed/<env> to the released
// commit. It never moves a tag backwards: a release run again after a newer
// one leaves the newer images running.
package release

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/botfleet/botfleet/tools/internal/gitcmd"
	"github.com/botfleet/botfleet/tools/internal/overlay"
)

// Options say what Bump releases, and where.
type Options struct {
	Repo   string // a clone's work tree, without uncommitted changes
	Remote string // "" means origin
	Branch string // the branch the overlays are pushed to; "" means main
	Env    string // the environment whose overlays are set
	Tag    string // the image tag released (see ParseTag); its commit must be in Repo
	// Bots are the bots whose images were pushed under Tag.
	Bots []string
	// Failed are the bots whose images failed to build: reported, left as
	// they are, and they hold DeployedTag back.
	Failed []string
	// DeployedTag is moved to Tag's commit when every bot is set (or already
	// newer), e.g. deployed/dev; "" moves none.
	DeployedTag string
	// Attempts is how many pushes are tried when the branch moves meanwhile;
	// 0 means 5.
	Attempts int
	// Backoff is the wait before attempt n+1 is n times Backoff; 0 waits not.
	Backoff time.Duration
}

// Outcome is what Bump did with one bot.
type Outcome string

// Outcomes.
const (
	Set       Outcome = "set"       // its tag moved forward to the release's
	Unchanged Outcome = "unchanged" // it had the release's tag already
	Refused   Outcome = "refused"   // it runs a newer image (or one of another line of history)
	Gone      Outcome = "gone"      // its overlay is no longer on the branch
	Failed    Outcome = "failed"    // its image did not build
)

// BotResult is what happened to one bot's overlay.
type BotResult struct {
	Bot      string
	Outcome  Outcome
	Old, New string // the tags before and after
	Why      string // for Refused, Gone and Failed
}

func (b BotResult) String() string {
	switch b.Outcome {
	case Set:
		return fmt.Sprintf("%s: %s -> %s", b.Bot, b.Old, b.New)
	case Unchanged:
		return fmt.Sprintf("%s: %s unchanged", b.Bot, b.New)
	}
	return fmt.Sprintf("%s: %s: %s", b.Bot, b.Outcome, b.Why)
}

// Report is what Bump did.
type Report struct {
	Bots   []BotResult // sorted by bot
	Commit string      // the commit pushed to the branch; "" when none was needed
	// Deployed says what became of Options.DeployedTag.
	Deployed string
}

// OK reports whether every bot runs the release's image or a newer one it
// did not touch, and nothing was refused or failed.
func (r *Report) OK() bool {
	return !slices.ContainsFunc(r.Bots, func(b BotResult) bool { return b.Outcome == Refused || b.Outcome == Failed })
}

// Bump sets o.Tag in o.Env's overlay of each of o.Bots on the tip of
// o.Branch, where that moves the bot's tag forward, and pushes one commit;
// then it moves o.DeployedTag forward. A bot whose overlay names a newer
// release (its commit descends from o.Tag's, or is the same and rebuilt
// later), or one of unrelated history, is refused and left alone. Bump
// checks out the branch's tip, detached, in o.Repo. The error is for what
// stopped it (bad options, git); a refusal is in the report.
func Bump(ctx context.Context, o Options) (*Report, error) {
	o.Remote = cmp.Or(o.Remote, "origin")
	o.Branch = cmp.Or(o.Branch, "main")
	if o.Attempts <= 0 {
		o.Attempts = 5
	}
	tag, ok := ParseTag(o.Tag)
	if !ok {
		return nil, fmt.Errorf("tag %q: want a release's tag, <40-hex commit> or <commit>-rebuild-<run id>", o.Tag)
	}
	if o.Env == "" {
		return nil, errors.New("no environment")
	}
	if both := intersect(o.Bots, o.Failed); len(both) > 0 {
		return nil, fmt.Errorf("%s: both built and failed", strings.Join(both, ", "))
	}
	r := gitcmd.Repo{Dir: o.Repo}
	if _, err := r.Output(ctx, "cat-file", "-e", tag.Commit+"^{commit}"); err != nil {
		return nil, fmt.Errorf("commit %s of tag %s is not in %s (fetch all history: actions/checkout with fetch-depth: 0)", tag.Commit, o.Tag, o.Repo)
	}
	dirty, err := r.Line(ctx, "status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return nil, err
	}
	if dirty != "" {
		return nil, fmt.Errorf("%s has uncommitted changes; bump works on a clean clone:\n%s", o.Repo, dirty)
	}

	b := &bumper{o: o, r: r, tag: tag, fs: filesys.MakeFsOnDisk()}
	rep, err := b.push(ctx)
	if err != nil {
		return nil, err
	}
	for _, f := range o.Failed {
		rep.Bots = append(rep.Bots, BotResult{Bot: f, Outcome: Failed, Why: "its image did not build; the next release builds it again"})
	}
	slices.SortFunc(rep.Bots, func(a, b BotResult) int { return strings.Compare(a.Bot, b.Bot) })
	switch {
	case o.DeployedTag == "":
	case !rep.OK():
		rep.Deployed = fmt.Sprintf("%s stays: not every bot runs this release", o.DeployedTag)
	default:
		if rep.Deployed, err = b.moveDeployed(ctx); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

type bumper struct {
	o   Options
	r   gitcmd.Repo
	tag Tag
	fs  filesys.FileSystem
}

// push sets the tags on the branch's tip and pushes them, again on the new
// tip when the push is rejected.
func (b *bumper) push(ctx context.Context) (*Report, error) {
	remoteRef := "refs/remotes/" + b.o.Remote + "/" + b.o.Branch
	var lastErr error
	for attempt := 1; attempt <= b.o.Attempts; attempt++ {
		if attempt > 1 && b.o.Backoff > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Duration(attempt-1) * b.o.Backoff):
			}
		}
		if _, err := b.r.Output(ctx, "fetch", "-q", "--no-tags", b.o.Remote, "+refs/heads/"+b.o.Branch+":"+remoteRef); err != nil {
			return nil, err
		}
		if _, err := b.r.Output(ctx, "checkout", "-q", "--detach", remoteRef); err != nil {
			return nil, err
		}
		rep, err := b.plan(ctx)
		if err != nil {
			return nil, err
		}
		var paths, set []string
		for _, r := range rep.Bots {
			if r.Outcome == Set {
				paths = append(paths, overlay.Path(r.Bot, b.o.Env))
				set = append(set, r.Bot)
			}
		}
		if len(set) == 0 {
			return rep, nil
		}
		if _, err := b.r.Output(ctx, append([]string{"add", "--"}, paths...)...); err != nil {
			return nil, err
		}
		msg := fmt.Sprintf("release %s to %s: %s [skip ci]", b.tag.short(), b.o.Env, strings.Join(set, " "))
		if _, err := b.r.Output(ctx, "commit", "-q", "-m", msg); err != nil {
			return nil, err
		}
		if _, lastErr = b.r.Output(ctx, "push", "-q", b.o.Remote, "HEAD:refs/heads/"+b.o.Branch); lastErr == nil {
			if rep.Commit, err = b.r.Line(ctx, "rev-parse", "HEAD"); err != nil {
				return nil, err
			}
			return rep, nil
		}
	}
	return nil, fmt.Errorf("pushing the %s tags to %s: %d attempts: %w", b.o.Env, b.o.Branch, b.o.Attempts, lastErr)
}

// plan decides, on the checked-out tip, what to do with each bot, and
// writes the overlays whose tags move forward.
func (b *bumper) plan(ctx context.Context) (*Report, error) {
	rep := &Report{}
	tags := map[string]string{}
	for _, bot := range b.o.Bots {
		res := BotResult{Bot: bot, New: b.tag.String()}
		data, err := b.fs.ReadFile(filepath.Join(b.o.Repo, filepath.FromSlash(overlay.Path(bot, b.o.Env))))
		if err != nil {
			res.Outcome, res.Why = Gone, fmt.Sprintf("no %s overlay on %s any more (%s); its image is pushed but set nowhere", b.o.Env, b.o.Branch, overlay.Path(bot, b.o.Env))
			rep.Bots = append(rep.Bots, res)
			continue
		}
		if res.Old, err = overlay.Tag(data, bot); err != nil {
			return nil, fmt.Errorf("%s: %w", overlay.Path(bot, b.o.Env), err)
		}
		res.Outcome, res.Why, err = b.compare(ctx, res.Old)
		if err != nil {
			return nil, err
		}
		if res.Outcome == Set {
			tags[bot] = res.New
		}
		rep.Bots = append(rep.Bots, res)
	}
	if len(tags) == 0 {
		return rep, nil
	}
	edits, err := overlay.Plan(b.fs, b.o.Repo, b.o.Env, tags)
	if err != nil {
		return nil, err
	}
	return rep, overlay.Apply(b.fs, b.o.Repo, edits)
}

// compare tells whether the release's tag is ahead of old, the tag an
// overlay has: Set when it is (or old is no release's tag, such as a new
// bot's placeholder, or names a commit this clone lacks), Unchanged when it
// is old, Refused when old is newer or of unrelated history.
func (b *bumper) compare(ctx context.Context, old string) (Outcome, string, error) {
	cur, ok := ParseTag(old)
	if !ok {
		return Set, "", nil
	}
	if cur == b.tag {
		return Unchanged, "", nil
	}
	if cur.Commit == b.tag.Commit {
		if cur.Rebuild > b.tag.Rebuild {
			return Refused, fmt.Sprintf("it runs %s, a later build of the same commit; not moving it back to %s", old, b.tag), nil
		}
		return Set, "", nil
	}
	if _, err := b.r.Output(ctx, "cat-file", "-e", cur.Commit+"^{commit}"); err != nil {
		return Set, "", nil // a commit no longer in the history: nothing to keep
	}
	forward, err := b.r.Test(ctx, "merge-base", "--is-ancestor", cur.Commit, b.tag.Commit)
	if err != nil || forward {
		return Set, "", err
	}
	back, err := b.r.Test(ctx, "merge-base", "--is-ancestor", b.tag.Commit, cur.Commit)
	if err != nil {
		return "", "", err
	}
	if back {
		return Refused, fmt.Sprintf("it runs %s, built from a later commit; not moving it back to %s", old, b.tag), nil
	}
	return Refused, fmt.Sprintf("it runs %s, whose commit is not an ancestor of %s: not replacing it", old, b.tag.Commit), nil
}

// moveDeployed moves the deployed tag, on the remote, to the release's
// commit if that is a descendant of where it is; the push fails if someone
// else moved the tag meanwhile.
func (b *bumper) moveDeployed(ctx context.Context) (string, error) {
	ref := "refs/tags/" + b.o.DeployedTag
	out, err := b.r.Line(ctx, "ls-remote", b.o.Remote, ref)
	if err != nil {
		return "", err
	}
	old, _, _ := strings.Cut(out, "\t")
	if old == b.tag.Commit {
		return fmt.Sprintf("%s is at %s already", b.o.DeployedTag, b.tag.Commit[:12]), nil
	}
	if old != "" {
		if _, err := b.r.Output(ctx, "fetch", "-q", "--no-tags", b.o.Remote, "+"+ref+":"+ref); err != nil {
			return "", err
		}
		forward, err := b.r.Test(ctx, "merge-base", "--is-ancestor", old, b.tag.Commit)
		if err != nil {
			return "", err
		}
		if !forward {
			return fmt.Sprintf("%s stays at %s: %s does not descend from it, and it never moves back", b.o.DeployedTag, old[:12], b.tag.Commit[:12]), nil
		}
	}
	if _, err := b.r.Output(ctx, "push", "-q", "--force-with-lease="+ref+":"+old, b.o.Remote, b.tag.Commit+":"+ref); err != nil {
		return "", fmt.Errorf("moving %s: %w", b.o.DeployedTag, err)
	}
	if old == "" {
		return fmt.Sprintf("%s created at %s", b.o.DeployedTag, b.tag.Commit[:12]), nil
	}
	return fmt.Sprintf("%s moved from %s to %s", b.o.DeployedTag, old[:12], b.tag.Commit[:12]), nil
}

func intersect(a, b []string) []string {
	var both []string
	for _, x := range a {
		if slices.Contains(b, x) {
			both = append(both, x)
		}
	}
	return both
}
