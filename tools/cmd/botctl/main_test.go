package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/botfleet/botfleet/tools/internal/awsplatform"
	"github.com/botfleet/botfleet/tools/internal/settings"
	"github.com/botfleet/botfleet/tools/internal/validate"
)

// repoDir is the real repo; these tests only read it.
const repoDir = "../../.."

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runStdin(t.Context(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestRender(t *testing.T) {
	code, out, errs := run(t, "--repo", repoDir, "render", "hello", "--env", "prd")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	for _, want := range []string{"kind: Deployment", "namespace: infra-bot-prd", "value: prd", "/botfleet/hello:"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no env", []string{"--repo", repoDir, "render", "hello"}, "--env is required"},
		{"bad name", []string{"--repo", repoDir, "render", "Hello_Bot", "--env", "dev"}, `bot name "Hello_Bot"`},
		{"two bots", []string{"--repo", repoDir, "render", "a", "b", "--env", "dev"}, "render takes one bot, got 2 arguments"},
		{"unknown env", []string{"--repo", repoDir, "render", "hello", "--env", "stg"}, "--env stg: want one of [dev prd]"},
		{"unknown flag", []string{"validate", "--nope"}, "unknown flag: --nope"},
		{"bad bot to validate", []string{"--repo", repoDir, "validate", "x_y"}, `bot name "x_y"`},
		{"affected without a base", []string{"--repo", repoDir, "affected"}, "--base is required"},
		{"affected, bad format", []string{"--repo", repoDir, "affected", "--base", "HEAD", "--format", "yaml"}, "--format yaml: want json or lines"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := run(t, tt.args...)
			if code != exitUsage || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errs, exitUsage, tt.want)
			}
			// botctl is seldom on PATH: no "Run 'botctl --help'".
			if strings.Contains(errs, "--help") {
				t.Errorf("stderr %q points to --help", errs)
			}
		})
	}
	// A bad command line shows the command's usage; a bad name says what to use instead.
	if _, _, errs := run(t, "--repo", repoDir, "render", "hello"); !strings.HasSuffix(errs, "usage: botctl render BOT --env ENV [flags]\n") {
		t.Errorf("stderr %q lacks render's usage line", errs)
	}
	if _, _, errs := run(t, "--repo", repoDir, "render", "Hello_Bot", "--env", "dev"); strings.Contains(errs, "usage:") || !strings.Contains(errs, `(e.g. "hello-bot")`) {
		t.Errorf("stderr %q: want the name's faults and a name to use, no usage line", errs)
	}
}

func TestVersion(t *testing.T) {
	code, out, errs := run(t, "--version")
	if code != exitOK || out != "botctl version dev\n" {
		t.Errorf("--version: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

func TestValidateRepo(t *testing.T) {
	code, out, errs := run(t, "--repo", repoDir, "validate")
	if code != exitOK || !strings.Contains(out, "no problems") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errs)
	}
	// What Fargate makes of ansible's 500m and 1Gi, as its overlay's comment says.
	if want := "bots/ansible/manifests/envs/prd: Deployment/ansible: runs on Fargate's 0.5 vCPU, 2 GB (requests cpu 500m, memory 1Gi plus Fargate's 256Mi)\n"; !strings.Contains(out, want) {
		t.Errorf("stdout lacks %q:\n%s", want, out)
	}
}

// copyRepo copies what validate reads to a temp dir.
func copyRepo(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	copyFile := func(rel string) {
		data, err := os.ReadFile(filepath.Join(repoDir, rel))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(rel)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, rel), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyFile("botfleet.yaml")
	copyFile(".github/dependabot.yml")
	copyFile("bots/hello/Dockerfile")
	copyFile("bots/hello/slack-app.dev.yaml")
	copyFile("bots/hello/slack-app.prd.yaml")
	for _, dir := range []string{"manifests", "bots/hello/manifests", ".github"} {
		err := fs.WalkDir(os.DirFS(repoDir), dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				copyFile(p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	generateAWS(t, dst)
	return dst
}

// generateAWS writes the ACK objects and bootstrap files of the repo at dir
// for its own bots, as `botctl init` would.
func generateAWS(t *testing.T, dir string) {
	t.Helper()
	s, err := settings.Load(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	bots, err := validate.Bots(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatal(err)
	}
	files, err := awsplatform.Make(filesys.MakeFsOnDisk(), dir, s, bots)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := awsplatform.Write(filesys.MakeFsOnDisk(), dir, files); err != nil {
		t.Fatal(err)
	}
}

func TestValidateProblems(t *testing.T) {
	dir := copyRepo(t)
	f := filepath.Join(dir, "bots/hello/manifests/base/deployment.yaml")
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, bytes.Replace(data, []byte("maxSurge: 1"), []byte("maxSurge: 2"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	// From a subdirectory, without --repo: the root is found upwards.
	t.Chdir(filepath.Join(dir, "bots", "hello"))
	code, out, errs := run(t, "validate", "hello")
	if code != exitProblems {
		t.Fatalf("exit %d, want %d; stdout %s; stderr %s", code, exitProblems, out, errs)
	}
	const msg = `spec.strategy.rollingUpdate.maxSurge: "2", want 1: one new pod at a time, which the stray connection alert allows for (replicas plus 1); set strategy type RollingUpdate, rollingUpdate maxSurge 1 and maxUnavailable 0 in bots/hello/manifests/base/deployment.yaml`
	want := "bots/hello/manifests/envs/dev: Deployment/hello: " + msg + "\n" +
		"bots/hello/manifests/envs/prd: Deployment/hello: " + msg + "\n"
	if out != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
	}
	if !strings.Contains(errs, "2 problem(s)") {
		t.Errorf("stderr %q lacks the count", errs)
	}
}

func TestNoRepo(t *testing.T) {
	t.Chdir(t.TempDir())
	code, _, errs := run(t, "validate")
	if code != exitProblems || !strings.Contains(errs, "not in a botfleet repo") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}

// TestSlackApp: the manifest botctl prints is the committed one, made from
// hello's code; a wrong environment or bot is refused.
func TestSlackApp(t *testing.T) {
	code, out, errs := run(t, "--repo", repoDir, "slack-app", "hello", "--env", "dev")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	want, err := os.ReadFile(filepath.Join(repoDir, "bots", "hello", "slack-app.dev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Errorf("slack-app hello --env dev:\n%s\nwant bots/hello/slack-app.dev.yaml:\n%s", out, want)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"slack-app", "hello", "--env", "qa"}, "--env qa: the environments are dev, prd"},
		{[]string{"slack-app", "nosuch", "--env", "dev"}, "no bot nosuch"},
		{[]string{"slack-app", "hello"}, "--env is required"},
	} {
		if code, _, errs := run(t, append([]string{"--repo", repoDir}, tt.args...)...); code == exitOK || !strings.Contains(errs, tt.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tt.args, code, errs, tt.want)
		}
	}
}
