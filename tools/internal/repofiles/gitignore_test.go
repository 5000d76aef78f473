package repofiles

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// repoDir is the real repo; the tests only read it.
const repoDir = "../../.."

// mainPackages returns the directories of the repo's main packages
// (slash-separated, relative to the root), each with its module's root.
func mainPackages(t *testing.T) map[string]string {
	t.Helper()
	pkgs := map[string]string{}
	err := fs.WalkDir(os.DirFS(repoDir), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && p != ".") {
			return fs.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(repoDir, p), nil, parser.PackageClauseOnly)
		if err != nil {
			return err
		}
		if f.Name.Name != "main" {
			return nil
		}
		dir := path.Dir(p)
		for mod := dir; mod != "."; mod = path.Dir(mod) {
			if _, err := os.Stat(filepath.Join(repoDir, mod, "go.mod")); err == nil {
				pkgs[dir] = mod
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) == 0 {
		t.Fatal("no main packages found")
	}
	return pkgs
}

// TestRepoGitignore checks the repo's .gitignore in a fresh repo: every
// binary a plain `go build` writes (in a main package's directory, or of it
// from its module's root) and every real Secret under a bot's
// manifests/manual/ is ignored; the example Secrets and the sources are not.
func TestRepoGitignore(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("these tests need git")
	}
	data, err := os.ReadFile(filepath.Join(repoDir, ".gitignore"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "init", "-q")

	ignored := []string{
		"bin/hello",
		"bots/x/manifests/manual/secrets.yml",
		"bots/x/manifests/manual/secrets.yaml",
		"bots/x/manifests/manual/secrets.json",
		"bots/x/manifests/manual/prd/secrets.yaml",
		"bots/x/manifests/manual/a/b/token",
	}
	for dir, mod := range mainPackages(t) {
		name := path.Base(dir)
		ignored = append(ignored, dir+"/"+name, mod+"/"+name)
	}
	kept := []string{
		"bots/x/manifests/manual/secrets.example.yaml",
		"bots/x/manifests/manual/prd/secrets.example.yaml",
		"bots/hello/Dockerfile",
		"bots/hello/main.go",
		"tools/cmd/botctl/main.go",
		"tools/cmd/botctl/testdata/x.golden",
	}
	for _, p := range ignored {
		if !checkIgnore(t, dir, p) {
			t.Errorf("%s is not ignored: a build output or a real Secret would show in git status", p)
		}
	}
	for _, p := range kept {
		if checkIgnore(t, dir, p) {
			t.Errorf("%s is ignored, but belongs in git", p)
		}
	}

	// No tracked file matches an ignore rule (a rule too broad hides new files like it).
	out := git(t, repoDir, "ls-files", "--cached", "--ignored", "--exclude-standard")
	if out != "" {
		t.Errorf("tracked files that .gitignore matches:\n%s", out)
	}
}

// checkIgnore reports whether git in repo ignores path p.
func checkIgnore(t *testing.T, repo, p string) bool {
	t.Helper()
	cmd := exec.Command("git", "-C", repo, "check-ignore", "-q", "--no-index", p)
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
		return false
	}
	if err != nil {
		t.Fatalf("git check-ignore %s: %v", p, err)
	}
	return true
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}
