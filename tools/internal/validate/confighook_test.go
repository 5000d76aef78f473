package validate

import (
	"context"
	"errors"
	"path"
	"slices"
	"strings"
	"testing"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/botfleet/botfleet/tools/internal/render"
)

// TestConfigHookProblems: each way an overlay can fail to install its config
// from Git is a problem that names the file (or overlay and object) and the
// fix.
func TestConfigHookProblems(t *testing.T) {
	const (
		devHook   = dev + "config-hook.yaml"
		devConfig = dev + "config.yaml"
		hookObj   = devDir + ": Job/hello-config: "
		container = "spec.template.spec.containers[0]"
	)
	tests := []struct {
		name    string
		changes []change
		remove  []string
		want    string // a whole line, or its end after "…"
	}{
		{name: "no config file", remove: []string{devConfig},
			want: "…" + devDir + ": kustomize build: "},
		{name: "no generator", changes: []change{{devKust, "configMapGenerator:", "x-configMapGenerator:"}},
			want: "…" + devDir + ": kustomize build: "},
		{name: "generator gone", changes: []change{{devKust, "configMapGenerator:\n  - name: hello-config\n    files:\n      - config.yaml\n", "configMapGenerator:\n  - name: other\n    files:\n      - config.yaml\n"}},
			want: devDir + ": no ConfigMap hello-config (configMapGenerator): every bot's overlay installs its config from Git; copy config.yaml, config-hook.yaml and the configMapGenerator of bots/hello/manifests/envs/dev, with the name hello"},
		{name: "no hook", changes: []change{{devKust, "  - config-hook.yaml\n", ""}},
			want: "…" + devDir + ": no Job hello-config (the sync hook): every bot's overlay installs its config from Git"},
		{name: "ConfigMap from literals", changes: []change{{devKust, "    files:\n      - config.yaml\n", "    literals:\n      - config.yaml=greeting\n"}},
			want: devDir + `: ConfigMap/hello-config-` + "…"},
		{name: "ConfigMap after the hook", changes: []change{{devKust, `sync-wave: "-2"`, `sync-wave: "-1"`}},
			want: "…" + `metadata.annotations["argocd.argoproj.io/sync-wave"]: "-1", want a wave before the hook's (-2): the hook mounts it`},
		{name: "PreSync hook", changes: []change{{devHook, "hook: Sync", "hook: PreSync"}},
			want: hookObj + `metadata.annotations["argocd.argoproj.io/hook"]: "PreSync", want Sync: the hook runs after its ConfigMap is applied (a PreSync hook runs before it exists) (see bots/hello/manifests/envs/dev/config-hook.yaml, which ` + "`make bot`" + ` writes)`},
		{name: "hook deleted at once", changes: []change{{devHook, "hook-delete-policy: BeforeHookCreation", "hook-delete-policy: HookSucceeded"}},
			want: "…" + `"HookSucceeded", want BeforeHookCreation: the Job of the last sync stays, with its status and log, until the next one replaces it (see bots/hello/manifests/envs/dev/config-hook.yaml, which ` + "`make bot`" + ` writes)`},
		{name: "hook in the Deployment's wave", changes: []change{{devHook, `sync-wave: "-1"`, `sync-wave: "0"`}},
			want: "…" + `"0", want a negative wave: the config is installed before the Deployment (wave 0) starts a bot that reads it (see bots/hello/manifests/envs/dev/config-hook.yaml, which ` + "`make bot`" + ` writes)`},
		{name: "another image", changes: []change{{devHook, "image: hello", "image: busybox:1.37"}},
			want: hookObj + container + `.image: "busybox:1.37", want the bot's image 123456789012.dkr.ecr.eu-west-1.amazonaws.com/botfleet/hello:<tag>, whose loader checks the file (see bots/hello/manifests/envs/dev/config-hook.yaml, which ` + "`make bot`" + ` writes)`},
		{name: "no install flag", changes: []change{{devHook, "args: [-install-config, /git/config.yaml]", "args: [-check-config]"}},
			want: hookObj + container + `.args: ["-check-config"], want [-install-config, /git/config.yaml] and no command (the image's entrypoint is the bot) (see bots/hello/manifests/envs/dev/config-hook.yaml, which ` + "`make bot`" + ` writes)`},
		{name: "another environment", changes: []change{{devHook, "value: /efs/config/hello/dev.yaml", "value: /efs/config/hello/prd.yaml"}},
			want: hookObj + container + `.env: BOT_CONFIG is "/efs/config/hello/prd.yaml", want "/efs/config/hello/dev.yaml", the file the bot reads`},
		{name: "requests below limits", changes: []change{{devHook, "            requests:\n              cpu: 100m", "            requests:\n              cpu: 50m"}},
			want: hookObj + container + ".resources: cpu: requests 50m != limits 100m: Fargate sizes the pod from requests; keep them equal"},
		{name: "hook runs as root", changes: []change{{devHook, "runAsNonRoot: true", "runAsNonRoot: false"}},
			want: "…" + hookObj + "spec.template.spec: Pod Security restricted: runAsNonRoot != true"},
		{name: "hook writes another bot's config", changes: []change{{devHook, "subPath: config/hello", "subPath: config/ecs"}},
			want: hookObj + container + `.volumeMounts[0].subPath: "config/ecs" is bot ecs's: a bot mounts only its own directories (config/hello)`},
		{name: "no ConfigMap mount", changes: []change{{devHook, "mountPath: /git", "mountPath: /src"}},
			want: hookObj + container + ".volumeMounts: want the ConfigMap hello-config mounted at /git"},
		{name: "the bot writes its config", changes: []change{{deploy, "subPath: config/hello\n              readOnly: true", "subPath: config/hello"}},
			want: "…Deployment/hello: spec.template.spec.containers[0].volumeMounts[0].readOnly: want true: the bot reads its config; the sync hook hello-config installs it from Git"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := fixture(t)
			for _, c := range tt.changes {
				edit(t, mem, c.file, c.old, c.new)
			}
			for _, r := range tt.remove {
				if err := mem.RemoveAll(path.Join(memRoot, r)); err != nil {
					t.Fatal(err)
				}
			}
			var lines []string
			for _, p := range runValidator(t, mem, "hello") {
				s := p.String()
				lines = append(lines, s)
				if matches(s, tt.want) {
					return
				}
			}
			t.Errorf("no problem %q among:\n%s", tt.want, strings.Join(lines, "\n"))
		})
	}
}

// matches reports whether line is want, or, with "…" at want's start or
// end, ends or starts with the rest.
func matches(line, want string) bool {
	switch {
	case strings.HasPrefix(want, "…"):
		return strings.Contains(line, strings.TrimPrefix(want, "…"))
	case strings.HasSuffix(want, "…"):
		return strings.HasPrefix(line, strings.TrimSuffix(want, "…"))
	}
	return line == want
}

// fakeChecker is a ConfigChecker whose answers the test sets.
type fakeChecker struct {
	check func(bot, env, file string) error
	calls []string
}

func (f *fakeChecker) CheckConfig(_ context.Context, bot, env, file string) error {
	f.calls = append(f.calls, bot+" "+env+" "+file)
	return f.check(bot, env, file)
}

// TestConfigsCheckedWithLoader: each overlay's config.yaml goes to the
// ConfigChecker, and its refusal becomes a problem at the file's line.
func TestConfigsCheckedWithLoader(t *testing.T) {
	f := &fakeChecker{check: func(bot, env, file string) error {
		if env == "prd" {
			return errors.New(file + ":3: key access.rules[0].command: unknown command \"pnig\"\n" + file + ": another problem")
		}
		return errors.New("building bots/hello: exit status 1: main.go:3: undefined: x")
	}}
	v := &Validator{FS: fixture(t), Root: memRoot, Configs: f}
	rep, err := v.Run(t.Context(), []string{"hello"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range rep.Problems {
		got = append(got, p.String())
	}
	want := []string{
		dev + "config.yaml: cannot check it with the bot's loader: building bots/hello: exit status 1: main.go:3: undefined: x",
		prd + `config.yaml:3: the bot's loader refuses it: key access.rules[0].command: unknown command "pnig"; fix the file (check it with ` + "`botctl validate hello`)",
		prd + "config.yaml: the bot's loader refuses it: another problem; fix the file (check it with `botctl validate hello`)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if want := []string{"hello dev " + dev + "config.yaml", "hello prd " + prd + "config.yaml"}; strings.Join(f.calls, ",") != strings.Join(want, ",") {
		t.Errorf("checked %q, want %q", f.calls, want)
	}
}

// TestLiteralsDisagree: a value of botfleet.yaml changed there alone fails
// at each file and line that still holds the old one, with the command that
// fixes them all.
func TestLiteralsDisagree(t *testing.T) {
	tests := []struct {
		name, old, new string
		want           []string
	}{
		{"repo URL", "repoURL: https://github.com/botfleet/botfleet.git", "repoURL: https://github.com/acme/bots.git", []string{
			`manifests/argocd/root.yaml:13: spec.source.repoURL: "https://github.com/botfleet/botfleet.git", botfleet.yaml says "https://github.com/acme/bots.git": run ` + "`botctl init`" + ` (it writes every value of botfleet.yaml into these files), then commit`,
		}},
		{"registry", "ecrRegistry: 123456789012.dkr.ecr.eu-west-1.amazonaws.com", "ecrRegistry: 123456789012.dkr.ecr.eu-west-2.amazonaws.com", []string{
			devKust + `:13: images[name=hello].newName: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/botfleet/hello", botfleet.yaml says "123456789012.dkr.ecr.eu-west-2.amazonaws.com/botfleet/hello": run ` + "`botctl init`" + ` (it writes every value of botfleet.yaml into these files), then commit`,
		}},
		{"access point", "accessPointID: fsap-0fedcba9876543210", "accessPointID: fsap-0fedcba9876543211", []string{
			`manifests/efs/prd.yaml:25: spec.csi.volumeHandle: "fs-0123456789abcdef0::fsap-0fedcba9876543210", botfleet.yaml says "fs-0123456789abcdef0::fsap-0fedcba9876543211": run ` + "`botctl init`",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := fixture(t)
			edit(t, mem, "botfleet.yaml", tt.old, tt.new)
			var lines []string
			for _, p := range runValidator(t, mem, "hello") {
				lines = append(lines, p.String())
			}
			for _, want := range tt.want {
				if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, want) }) {
					t.Errorf("no problem %q among:\n%s", want, strings.Join(lines, "\n"))
				}
			}
		})
	}
}

// TestHookMountsGeneratedConfigMap: in the build Argo CD makes, the hook's
// volume names the ConfigMap by its generated, hashed name, so each sync's
// hook reads that sync's file.
func TestHookMountsGeneratedConfigMap(t *testing.T) {
	mem := fixture(t)
	m, err := render.Build(mem, path.Join(memRoot, devDir))
	if err != nil {
		t.Fatal(err)
	}
	var cm, mounted string
	for _, res := range m.Resources() {
		switch res.GetKind() {
		case "ConfigMap":
			cm = res.GetName()
		case "Job":
			n, err := res.Pipe(kyaml.Lookup("spec", "template", "spec", "volumes", "[name=git]", "configMap", "name"))
			if err != nil || n == nil {
				t.Fatalf("the hook has no volume git from a ConfigMap: %v", err)
			}
			mounted = n.YNode().Value
		}
	}
	if !strings.HasPrefix(cm, "hello-config-") || mounted != cm {
		t.Errorf("ConfigMap %q, the hook mounts %q; want the generated name in both", cm, mounted)
	}
}
