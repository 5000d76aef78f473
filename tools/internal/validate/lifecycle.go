package validate

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/botfleet/botfleet/tools/internal/lifecycle"
	"github.com/botfleet/botfleet/tools/internal/overlay"
	"github.com/botfleet/botfleet/tools/internal/settings"
)

// The history of a bot's ECR repository that the lifecycle policy is
// tested against: earlier promotions (each a rollback target), each
// followed by dev releases, then the release prd runs, then more dev
// releases than any count rule keeps, then the release dev runs.
const (
	simEarlierPromotions = 20
	simReleasesBetween   = 250
	simReleasesSince     = 1000
)

// PromotedTag is the extra tag the promote workflow gives an image when it
// promotes it to env: immutable, and kept by the lifecycle policy.
func PromotedTag(env, tag string) string { return env + "-" + tag }

// checkLifecycle tests the repo's ECR lifecycle policy (lifecycle.File)
// against each bot's overlays: in a simulated history of the bot's
// repository, no image an overlay names may expire, nor an earlier promoted
// one (reverting a promotion rolls back to it). The first environment in
// deploy order is released to; the others are promoted to.
func (r *run) checkLifecycle() {
	data, err := r.v.FS.ReadFile(filepath.Join(r.v.Root, filepath.FromSlash(lifecycle.File)))
	if err != nil {
		r.addProblem(Problem{Path: lifecycle.File, Msg: "missing: every bot's ECR repository gets this lifecycle policy (its Repository in manifests/platform/aws)"})
		return
	}
	policy, err := lifecycle.Parse(data)
	if err != nil {
		r.addProblem(Problem{Path: lifecycle.File, Msg: err.Error()})
		return
	}
	var envs []string
	for _, env := range settings.Envs {
		if _, ok := r.s.Environments[env]; ok {
			envs = append(envs, env)
		}
	}
	if len(envs) == 0 {
		return
	}
	released, promoted := envs[0], envs[1:]
	tags := map[string]map[string]string{} // env to bot to tag
	for _, env := range envs {
		t, err := overlay.Tags(r.v.FS, r.v.Root, env, r.bots)
		if err != nil {
			return // the overlays' own checks say why
		}
		tags[env] = t
	}
	for _, bot := range r.bots {
		for _, msg := range simulate(policy, bot, released, promoted, tags) {
			r.addProblem(Problem{Path: lifecycle.File, Msg: msg})
		}
	}
}

// simulate pushes a history of bot's images, evaluates the policy a day
// after the last push, and says which image that must stay expires: one an
// overlay names, or (once) an earlier promoted one.
func simulate(policy *lifecycle.Policy, bot, released string, promoted []string, tags map[string]map[string]string) []string {
	var (
		images []lifecycle.Image
		t      = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		runs   = map[string][]string{} // tag to what runs it
	)
	push := func(tag string, promote bool) {
		t = t.Add(time.Hour)
		img := lifecycle.Image{Digest: tag, Tags: []string{tag}, PushedAt: t}
		if promote {
			for _, env := range promoted {
				img.Tags = append(img.Tags, PromotedTag(env, tag))
			}
		}
		images = append(images, img)
	}
	earlier := bot + "-earlier-"
	for i := range simEarlierPromotions {
		push(fmt.Sprintf("%s%d", earlier, i), true)
		for j := range simReleasesBetween {
			push(fmt.Sprintf("%s-between-%d-%d", bot, i, j), false)
		}
	}
	// The images the promoted environments run are pushed before the
	// releases since: they must outlive any number of them. dev runs the
	// newest image, unless it runs a promoted one too.
	devTag := tags[released][bot]
	for _, env := range promoted {
		tag := tags[env][bot]
		runs[tag] = append(runs[tag], env)
		if len(runs[tag]) == 1 {
			push(tag, true)
		}
	}
	for i := range simReleasesSince {
		push(fmt.Sprintf("%s-since-%d", bot, i), false)
	}
	if len(runs[devTag]) == 0 {
		push(devTag, false)
	}
	runs[devTag] = append(runs[devTag], released)

	var msgs []string
	rollback := false
	for _, img := range policy.Expire(images, t.Add(24*time.Hour)) {
		var what string
		switch {
		case len(runs[img.Digest]) > 0:
			verb := "runs"
			if len(runs[img.Digest]) > 1 {
				verb = "run"
			}
			what = fmt.Sprintf("the image %s %s (tag %s)", strings.Join(runs[img.Digest], " and "), verb, img.Digest)
		case strings.HasPrefix(img.Digest, earlier) && !rollback:
			rollback = true
			what = "an image promoted earlier, which reverting a promotion rolls back to"
		default:
			continue
		}
		msgs = append(msgs, fmt.Sprintf("bot %s: expires %s, in a history of %d promotions %d releases apart, then %d releases: keep the images tagged %s by a rule of higher priority than the others",
			bot, what, simEarlierPromotions+1, simReleasesBetween, simReleasesSince, promotedTags(promoted)))
	}
	return msgs
}

// promotedTags names the promotion tags, e.g. "prd-<tag>".
func promotedTags(envs []string) string {
	names := make([]string, 0, len(envs))
	for _, env := range envs {
		names = append(names, PromotedTag(env, "<tag>"))
	}
	return strings.Join(names, ", ")
}
