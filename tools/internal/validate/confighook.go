package validate

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// A bot's config in Git (docs/architecture.md, "Cluster contract"): each
// overlay holds ConfigFile, generates the ConfigMap <bot>ConfigSuffix from
// it, and runs the Job <bot>ConfigSuffix as an Argo CD sync hook, which
// installs the file at BOT_CONFIG with the bot's image and loader.
const (
	ConfigFile   = "config.yaml"
	ConfigSuffix = "-config"
	// ConfigSource is where the hook's container finds ConfigFile: the
	// ConfigMap's mount.
	ConfigSource = "/git"
	InstallFlag  = "-install-config"

	hookAnnotation       = "argocd.argoproj.io/hook"
	hookDeleteAnnotation = "argocd.argoproj.io/hook-delete-policy"
	waveAnnotation       = "argocd.argoproj.io/sync-wave"
)

// ConfigChecker checks a bot's config file for an environment with the
// bot's own loader (its binary's -install-config FILE -dry-run). The error
// is the loader's, naming the file and line.
type ConfigChecker interface {
	CheckConfig(ctx context.Context, bot, env, file string) error
}

// isConfigHook reports whether o is bot's config hook.
func isConfigHook(bot string, o *object) bool {
	return o.kind == "Job" && o.name == bot+ConfigSuffix
}

// wave returns an object's Argo CD sync wave (0 when it has none).
func wave(annotations map[string]string) (int, error) {
	w, ok := annotations[waveAnnotation]
	if !ok {
		return 0, nil
	}
	return strconv.Atoi(w)
}

// checkConfigHook checks the Job that installs the bot's config: a Sync hook
// in a wave before the Deployment's and after the ConfigMap's, that runs the
// bot's image with -install-config on the ConfigMap's file, in this
// environment, writing only the bot's config directory.
func (r *run) checkConfigHook(t target, j *batchv1.Job, add addFunc) {
	fix := fmt.Sprintf(" (see bots/hello/manifests/envs/%s/config-hook.yaml, which `make bot` writes)", t.env)
	a := j.Annotations
	if a[hookAnnotation] != "Sync" {
		add(`metadata.annotations["`+hookAnnotation+`"]`, "%q, want Sync: the hook runs after its ConfigMap is applied (a PreSync hook runs before it exists)%s", a[hookAnnotation], fix)
	}
	if a[hookDeleteAnnotation] != "BeforeHookCreation" {
		add(`metadata.annotations["`+hookDeleteAnnotation+`"]`, "%q, want BeforeHookCreation: the Job of the last sync stays, with its status and log, until the next one replaces it%s", a[hookDeleteAnnotation], fix)
	}
	if w, err := wave(a); err != nil || w >= 0 {
		add(`metadata.annotations["`+waveAnnotation+`"]`, "%q, want a negative wave: the config is installed before the Deployment (wave 0) starts a bot that reads it%s", a[waveAnnotation], fix)
	}
	spec := &j.Spec.Template.Spec
	const f = "spec.template.spec"
	if len(spec.Containers) != 1 {
		add(f+".containers", "%d containers, want 1: the bot's image with %s", len(spec.Containers), InstallFlag)
		return
	}
	c := &spec.Containers[0]
	cf := f + ".containers[0]"
	if name, tag, ok := splitImage(c.Image); !ok || name != r.s.ImageRepo(t.bot) || tag == "" {
		add(cf+".image", "%q, want the bot's image %s:<tag>, whose loader checks the file%s", c.Image, r.s.ImageRepo(t.bot), fix)
	}
	src := path.Join(ConfigSource, ConfigFile)
	if len(c.Command) > 0 || !slices.Equal(c.Args, []string{InstallFlag, src}) {
		add(cf+".args", "%q, want [%s, %s] and no command (the image's entrypoint is the bot)%s", c.Args, InstallFlag, src, fix)
	}
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	if env["BOT_ENV"] != t.env {
		add(cf+".env", "BOT_ENV is %q, want %q", env["BOT_ENV"], t.env)
	}
	if want := fmt.Sprintf("%s/%s/%s/%s.yaml", EFSMount, EFSConfigDir, t.bot, t.env); env["BOT_CONFIG"] != want {
		add(cf+".env", "BOT_CONFIG is %q, want %q, the file the bot reads", env["BOT_CONFIG"], want)
	}
	checkResources(add, cf, c)
	if !hasConfigMount(spec, c, t.bot) {
		add(cf+".volumeMounts", "want %s/%s of the EFS claim %s at %s by subPath, writable: the hook installs the file there", EFSConfigDir, t.bot, EFSClaim, path.Join(EFSMount, EFSConfigDir, t.bot))
	}
	gitMounted := slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
		return m.MountPath == ConfigSource && slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool {
			return v.Name == m.Name && v.ConfigMap != nil && strings.HasPrefix(v.ConfigMap.Name, t.bot+ConfigSuffix)
		})
	})
	if !gitMounted {
		add(cf+".volumeMounts", "want the ConfigMap %s%s mounted at %s", t.bot, ConfigSuffix, ConfigSource)
	}
}

// checkResources checks that a container asks for CPU and memory, requests
// equal to limits: Fargate sizes the pod from its requests.
func checkResources(add addFunc, cf string, c *corev1.Container) {
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, hasReq := c.Resources.Requests[res]
		lim, hasLim := c.Resources.Limits[res]
		switch {
		case !hasReq || !hasLim:
			add(cf+".resources", "%s: set requests and limits, equal: Fargate sizes the pod from them", res)
		case req.Cmp(lim) != 0:
			add(cf+".resources", "%s: requests %s != limits %s: Fargate sizes the pod from requests; keep them equal", res, req.String(), lim.String())
		}
	}
}

// checkConfigOverlay checks that a bot's overlay carries its config file: the
// file, the ConfigMap generated from it (in a wave before the hook's) and
// the hook.
func (r *run) checkConfigOverlay(t target, objects []*object) []Problem {
	file := path.Join(t.dir, ConfigFile)
	var out []Problem
	missing := func(what string) {
		out = append(out, Problem{Path: t.dir, Msg: fmt.Sprintf("%s: every bot's overlay installs its config from Git; copy config.yaml, config-hook.yaml and the configMapGenerator of bots/hello/manifests/envs/%s, with the name %s", what, t.env, t.bot)})
	}
	data, err := r.v.FS.ReadFile(r.abs(file))
	if err != nil {
		missing("no " + ConfigFile)
		return out
	}
	if !slices.ContainsFunc(objects, func(o *object) bool { return isConfigHook(t.bot, o) }) {
		missing("no Job " + t.bot + ConfigSuffix + " (the sync hook)")
	}
	i := slices.IndexFunc(objects, func(o *object) bool {
		return o.kind == "ConfigMap" && strings.HasPrefix(o.name, t.bot+ConfigSuffix)
	})
	if i < 0 {
		missing("no ConfigMap " + t.bot + ConfigSuffix + " (configMapGenerator)")
		return out
	}
	cm, ok := objects[i].typed.(*corev1.ConfigMap)
	if !ok {
		return out
	}
	if cm.Data[ConfigFile] != string(data) {
		out = append(out, Problem{Path: t.dir, Object: objects[i].id(false), Field: "data", Msg: fmt.Sprintf("lacks %s as it is in %s: generate it from the file (configMapGenerator files: [%s])", ConfigFile, file, ConfigFile)})
	}
	if w, err := wave(cm.Annotations); err != nil || w >= -1 {
		out = append(out, Problem{Path: t.dir, Object: objects[i].id(false), Field: `metadata.annotations["` + waveAnnotation + `"]`, Msg: fmt.Sprintf("%q, want a wave before the hook's (-2): the hook mounts it", cm.Annotations[waveAnnotation])})
	}
	return out
}

var loaderLine = regexp.MustCompile(`^(\S+?):(\d+): (.*)$`)

// checkConfigs checks each built overlay's config file with the bot's
// loader, when the Validator has a ConfigChecker.
func (r *run) checkConfigs(ctx context.Context, results []*built) {
	if r.v.Configs == nil {
		return
	}
	for _, b := range results {
		if b.bot == "" || b.failed {
			continue
		}
		file := path.Join(b.dir, ConfigFile)
		if !r.v.FS.Exists(r.abs(file)) {
			continue // checkConfigOverlay says so
		}
		err := r.v.Configs.CheckConfig(ctx, b.bot, b.env, file)
		if err == nil {
			continue
		}
		for line := range strings.SplitSeq(strings.TrimSpace(err.Error()), "\n") {
			p := Problem{Path: file}
			switch m := loaderLine.FindStringSubmatch(line); {
			case m != nil && m[1] == file:
				p.Line, _ = strconv.Atoi(m[2])
				p.Msg = "the bot's loader refuses it: " + m[3] + "; fix the file (check it with `botctl validate " + b.bot + "`)"
			case strings.HasPrefix(line, file+": "):
				p.Msg = "the bot's loader refuses it: " + strings.TrimPrefix(line, file+": ") + "; fix the file (check it with `botctl validate " + b.bot + "`)"
			default:
				p.Msg = "cannot check it with the bot's loader: " + line
			}
			b.problems = append(b.problems, p)
		}
	}
}
