package render

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/botfleet/botfleet/pkg/golden"
	"github.com/botfleet/botfleet/tools/internal/scaffold"
	"github.com/botfleet/botfleet/tools/internal/settings"
)

// repoDir is the real repo; the tests only read it.
const repoDir = "../../.."

// maskTags replaces the tag of every image of repo with NEWTAG: the release
// pipeline changes the overlays' images[].newTag on every merge.
func maskTags(out []byte, repo string) []byte {
	re := regexp.MustCompile(`(` + regexp.QuoteMeta(repo) + `):[^\s"'@]+`)
	return re.ReplaceAll(out, []byte("${1}:NEWTAG"))
}

func TestMaskTags(t *testing.T) {
	got := string(maskTags([]byte("image: r.example/botfleet/hello:0a1b2c3\nimage: other/hello:1\n"), "r.example/botfleet/hello"))
	if want := "image: r.example/botfleet/hello:NEWTAG\nimage: other/hello:1\n"; got != want {
		t.Errorf("maskTags = %q, want %q", got, want)
	}
}

// repoBots lists the bots of the real repo that have manifests.
func repoBots(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(repoDir, "bots"))
	if err != nil {
		t.Fatal(err)
	}
	var bots []string
	for _, e := range entries {
		if fi, err := os.Stat(filepath.Join(repoDir, "bots", e.Name(), "manifests")); err == nil && fi.IsDir() {
			bots = append(bots, e.Name())
		}
	}
	if len(bots) == 0 {
		t.Fatal("no bots with manifests under " + filepath.Join(repoDir, "bots"))
	}
	return bots
}

// TestGolden renders every bot's overlays from the repo and compares them
// with testdata/<bot>-<env>.golden (go test -update rewrites them), with the
// image tags masked. A bot without a golden, as `make bot` creates it, must
// render as the scaffold's templates do, until its manifests change and a
// golden records the change.
func TestGolden(t *testing.T) {
	s, err := settings.Load(os.DirFS(repoDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, bot := range repoBots(t) {
		for _, env := range s.EnvNames() {
			t.Run(bot+"-"+env, func(t *testing.T) {
				out, err := Overlay(filesys.MakeFsOnDisk(), repoDir, bot, env)
				if err != nil {
					t.Fatal(err)
				}
				repo := s.ImageRepo(bot)
				got := maskTags(out, repo)
				if !strings.Contains(string(got), "image: "+repo+":NEWTAG\n") {
					t.Errorf("output lacks the image %s:<tag>", repo)
				}
				if golden.Updating() { // a missing golden is allowed here, so golden.Check does not fit
					if err := os.WriteFile(goldenPath(bot, env), got, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				if problem := goldenDiff(t, s, bot, env, got); problem != "" {
					t.Error(problem)
				}
			})
		}
	}
}

func goldenPath(bot, env string) string { return filepath.Join("testdata", bot+"-"+env+".golden") }

// updateHint says how to record a golden, from the repo's root.
const updateHint = "(cd tools && go test ./internal/render -run TestGolden -update)"

// goldenDiff compares bot's rendered overlay for env, tags masked, with its
// golden or, when it has none, with what the scaffold's templates render;
// it returns what differs, or "".
func goldenDiff(t *testing.T, s *settings.Settings, bot, env string, got []byte) string {
	t.Helper()
	path := goldenPath(bot, env)
	want, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if diff := golden.Diff(string(templateRender(t, s, bot, env)), string(got)); diff != "" {
			return fmt.Sprintf("bots/%s has no %s and its %s overlay renders differently from the scaffold's templates (-templates +got); if that is intended, record it: %s\n%s",
				bot, path, env, updateHint, diff)
		}
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	if diff := golden.Diff(string(want), string(got)); diff != "" {
		return fmt.Sprintf("%s %s rendered differently (-%s +got); if that is intended, record it: %s\n%s", bot, env, path, updateHint, diff)
	}
	return ""
}

// templateRender renders bot's overlay for env as `botctl new` writes it,
// image tags masked.
func templateRender(t *testing.T, s *settings.Settings, bot, env string) []byte {
	t.Helper()
	files, err := scaffold.Render(scaffold.NewData(bot, s, "1.26.0"))
	if err != nil {
		t.Fatal(err)
	}
	mem := filesys.MakeFsInMemory()
	for _, f := range files {
		if !strings.HasPrefix(f.Path, "manifests/") {
			continue
		}
		p := "/r/bots/" + bot + "/" + f.Path
		if err := mem.MkdirAll(filepath.Dir(p)); err != nil {
			t.Fatal(err)
		}
		if err := mem.WriteFile(p, f.Data); err != nil {
			t.Fatal(err)
		}
	}
	out, err := Overlay(mem, "/r", bot, env)
	if err != nil {
		t.Fatal(err)
	}
	return maskTags(out, s.ImageRepo(bot))
}

// TestGoldenOfNewBot: a bot fresh from the scaffold has no golden and
// passes; once its manifests change, it fails until a golden records them.
func TestGoldenOfNewBot(t *testing.T) {
	s, err := settings.Load(os.DirFS(repoDir))
	if err != nil {
		t.Fatal(err)
	}
	const bot = "pager" // no golden in testdata/
	if _, err := os.Stat(filepath.Join("testdata", bot+"-dev.golden")); err == nil {
		t.Fatalf("testdata has a golden for %s", bot)
	}
	fresh := templateRender(t, s, bot, "dev")
	changed := []byte(strings.Replace(string(fresh), "cpu: 250m", "cpu: 500m", 2))
	if string(changed) == string(fresh) {
		t.Fatal("the dev overlay has no cpu: 250m to change")
	}
	if problem := goldenDiff(t, s, bot, "dev", fresh); problem != "" {
		t.Errorf("a fresh bot without a golden: %s", problem)
	}
	problem := goldenDiff(t, s, bot, "dev", changed)
	if !strings.Contains(problem, "bots/pager has no testdata/pager-dev.golden") || !strings.Contains(problem, updateHint) {
		t.Errorf("a changed bot without a golden: %q", problem)
	}
}

func TestOverlayInMemory(t *testing.T) {
	mem := filesys.MakeFsInMemory()
	files := map[string]string{
		"/r/bots/b/manifests/base/kustomization.yaml":     "resources: [cm.yaml]\n",
		"/r/bots/b/manifests/base/cm.yaml":                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n",
		"/r/bots/b/manifests/envs/dev/kustomization.yaml": "namespace: ns-dev\nresources: [../../base]\n",
	}
	for name, data := range files {
		if err := mem.MkdirAll(filepath.Dir(name)); err != nil {
			t.Fatal(err)
		}
		if err := mem.WriteFile(name, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	out, err := Overlay(mem, "/r", "b", "dev")
	if err != nil {
		t.Fatal(err)
	}
	if want := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  namespace: ns-dev\n"; string(out) != want {
		t.Errorf("Overlay = %q, want %q", out, want)
	}
	if _, err := Overlay(mem, "/r", "b", "prd"); err == nil || !strings.Contains(err.Error(), "bot b has no prd overlay (bots/b/manifests/envs/prd)") {
		t.Errorf("Overlay of a missing env: %v", err)
	}
}

// TestLegacyOrder checks that objects come out in kustomize's legacy order
// (Namespace, ServiceAccount, Service, then Deployment), whatever order the
// kustomization lists them in, as `kustomize build` and Argo CD emit them.
func TestLegacyOrder(t *testing.T) {
	mem := filesys.MakeFsInMemory()
	doc := func(kind string) string { return "apiVersion: v1\nkind: " + kind + "\nmetadata: {name: x}\n---\n" }
	all := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n---\n" + doc("Service") + doc("ServiceAccount") + doc("Namespace")
	if err := mem.WriteFile("/k/all.yaml", []byte(all)); err != nil {
		t.Fatal(err)
	}
	if err := mem.WriteFile("/k/kustomization.yaml", []byte("resources: [all.yaml]\n")); err != nil {
		t.Fatal(err)
	}
	out, err := YAML(mem, "/k")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, line := range strings.Split(string(out), "\n") {
		if k, ok := strings.CutPrefix(line, "kind: "); ok {
			kinds = append(kinds, k)
		}
	}
	if got, want := strings.Join(kinds, ","), "Namespace,ServiceAccount,Service,Deployment"; got != want {
		t.Errorf("order %s, want %s", got, want)
	}
}
