package release

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/botfleet/botfleet/tools/internal/gitcmd"
	"github.com/botfleet/botfleet/tools/internal/overlay"
)

// Deployed reads, at revision rev of the repository at dir, the tag each
// bot's env overlay sets, and returns the commits of those that are a
// release's tags (bot to commit): what the running images were built from.
// A bot whose overlay has another tag, such as a new bot's placeholder, is
// left out; so is a bot without an env overlay.
func Deployed(ctx context.Context, dir, env, rev string) (map[string]string, error) {
	r := gitcmd.Repo{Dir: dir}
	if strings.HasPrefix(rev, "-") {
		return nil, fmt.Errorf("revision %q: not a revision", rev)
	}
	if _, err := r.Output(ctx, "rev-parse", "--verify", "-q", rev+"^{commit}"); err != nil {
		return nil, fmt.Errorf("revision %s: no such commit in %s (fetch it first)", rev, dir)
	}
	out, err := r.Output(ctx, "ls-tree", "-d", "--name-only", "-z", rev, "bots/")
	if err != nil {
		return nil, err
	}
	commits := map[string]string{}
	for _, p := range strings.Split(string(out), "\x00") {
		if p == "" {
			continue
		}
		bot := path.Base(p)
		data, err := r.Output(ctx, "cat-file", "blob", rev+":"+overlay.Path(bot, env))
		if err != nil {
			continue // no env overlay: not deployed there
		}
		tag, err := overlay.Tag(data, bot)
		if err != nil {
			return nil, fmt.Errorf("%s at %s: %w", overlay.Path(bot, env), rev, err)
		}
		if t, ok := ParseTag(tag); ok {
			commits[bot] = t.Commit
		}
	}
	return commits, nil
}
