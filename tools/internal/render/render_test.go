package render

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/botfleet/botfleet/tools/internal/settings"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

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
// image tags masked.
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
				got := string(maskTags(out, repo))
				if !strings.Contains(got, "image: "+repo+":NEWTAG\n") {
					t.Errorf("output lacks the image %s:<tag>", repo)
				}
				golden := filepath.Join("testdata", bot+"-"+env+".golden")
				if *update {
					if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if diff := cmp.Diff(string(want), got); diff != "" {
					t.Errorf("%s %s rendered differently (-%s +got); if that is intended, run go test -update:\n%s", bot, env, golden, diff)
				}
			})
		}
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
