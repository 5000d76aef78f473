package changed

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The fixture: a repo shaped like botfleet, in a temp dir. pkg has four
// packages; bot a links greet and depx (and so example.com/dep), b links
// greet and shout, c links shout. Nothing links unused.
const (
	modPrefix = "example.com/fleet"
	depPath   = "example.com/dep"
)

func pkgFiles() map[string]string {
	return map[string]string{
		"pkg/go.mod": "module " + modPrefix + "/pkg\n\ngo 1.26.0\n\nrequire " + depPath + " v1.0.0\n",
		"pkg/greet/greet.go": `package greet

import "embed"

//go:embed templates
var templates embed.FS

// Hello greets.
func Hello() string { b, _ := templates.ReadFile("templates/hello.txt"); return string(b) }
`,
		"pkg/greet/templates/hello.txt": "hello\n",
		"pkg/greet/templates/bye.txt":   "bye\n",
		"pkg/greet/greet_test.go":       "package greet\n\nimport \"testing\"\n\nfunc TestHello(t *testing.T) { _ = Hello() }\n",
		"pkg/greet/README.md":           "# greet\n",
		"pkg/shout/shout.go":            "package shout\n\nimport \"strings\"\n\n// Shout shouts.\nfunc Shout(s string) string { return strings.ToUpper(s) }\n",
		"pkg/shout/quiet.go":            "package shout\n\n// Quiet whispers.\nfunc Quiet(s string) string { return s }\n",
		"pkg/unused/unused.go":          "package unused\n\n// Nothing is used by no bot.\nfunc Nothing() {}\n",
		"pkg/depx/depx.go":              "package depx\n\nimport \"" + depPath + "\"\n\n// V is the dependency's version.\nfunc V() string { return dep.V }\n",
	}
}

func botFiles(name string, imports ...string) map[string]string {
	dir := "bots/" + name + "/"
	var imps, uses strings.Builder
	for _, imp := range imports {
		fmt.Fprintf(&imps, "\t%q\n", modPrefix+"/pkg/"+imp)
	}
	for _, imp := range imports {
		switch imp {
		case "greet":
			uses.WriteString("\tprintln(greet.Hello())\n")
		case "shout":
			uses.WriteString("\tprintln(shout.Shout(\"hi\"))\n")
		case "depx":
			uses.WriteString("\tprintln(depx.V())\n")
		}
	}
	return map[string]string{
		dir + "go.mod":       "module " + modPrefix + "/bots/" + name + "\n\ngo 1.26.0\n\nrequire " + modPrefix + "/pkg v0.0.0\n\nreplace " + modPrefix + "/pkg => ../../pkg\n",
		dir + "main.go":      "package main\n\nimport (\n" + imps.String() + ")\n\nfunc main() {\n" + uses.String() + "}\n",
		dir + "main_test.go": "package main\n\nimport \"testing\"\n\nfunc TestMain(t *testing.T) {}\n",
		dir + "README.md":    "# " + name + "\n",
		// A second main package, not linked into the image.
		dir + "internal/cmd/seed/main.go":             "package main\n\nfunc main() {}\n",
		dir + "config/local.yaml":                     "greeting: hi\n",
		dir + "manifests/envs/dev/kustomization.yaml": "images:\n  - name: " + name + "\n    newTag: \"0000000\"\n",
		dir + "Dockerfile": `# syntax=docker/dockerfile:1
FROM golang:1.26 AS build
WORKDIR /src
COPY pkg/ pkg/
COPY bots/` + name + `/ \
     bots/` + name + `/
RUN cd bots/` + name + ` && go build -o /out/bot .
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bot /bot
`,
		dir + "Dockerfile.dockerignore": `# only pkg and this bot
*
!pkg/
!bots/` + name + `/
**/*_test.go
**/testdata/
**/*.md
bots/` + name + `/manifests/
bots/` + name + `/Dockerfile*
`,
	}
}

func otherFiles() map[string]string {
	return map[string]string{
		"README.md":                "# fleet\n",
		"docs/guide.md":            "a guide\n",
		"docs/notes.md":            "notes\n",
		"go.work":                  "go 1.26.0\n\nuse (\n\t./pkg\n\t./bots/a\n\t./bots/b\n\t./bots/c\n)\n",
		"tools/go.mod":             "module " + modPrefix + "/tools\n\ngo 1.26.0\n",
		"tools/main.go":            "package main\n\nfunc main() {}\n",
		".github/workflows/ci.yml": "on: push\n",
		"manifests/namespace.yaml": "kind: Namespace\n",
	}
}

// goProxy writes a file:// module proxy with example.com/dep v1.0.0 and
// v1.1.0, and returns the go environment that uses it with a module cache
// of the test's own, so nothing reaches the network or the user's cache.
func goProxy(t testing.TB) []string {
	t.Helper()
	proxy := t.TempDir()
	dir := filepath.Join(proxy, depPath, "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	versions := []string{"v1.0.0", "v1.1.0"}
	for _, v := range versions {
		gomod := "module " + depPath + "\n\ngo 1.21\n"
		var zbuf bytes.Buffer
		zw := zip.NewWriter(&zbuf)
		for name, body := range map[string]string{"go.mod": gomod, "dep.go": "package dep\n\n// V is the version.\nconst V = \"" + v + "\"\n"} {
			w, err := zw.Create(depPath + "@" + v + "/" + name)
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte(body))
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		write(t, dir, map[string]string{
			v + ".info": `{"Version":"` + v + `","Time":"2024-01-01T00:00:00Z"}`,
			v + ".mod":  gomod,
			v + ".zip":  zbuf.String(),
		})
	}
	write(t, dir, map[string]string{"list": strings.Join(versions, "\n") + "\n"})
	cache := t.TempDir()
	env := []string{
		"GOPROXY=file://" + filepath.ToSlash(proxy),
		"GOMODCACHE=" + cache,
		"GOSUMDB=off",
		"GOTOOLCHAIN=local",
	}
	// The module cache is read-only; go removes it before TempDir does.
	t.Cleanup(func() {
		cmd := exec.Command("go", "clean", "-modcache")
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("go clean -modcache: %v\n%s", err, out)
		}
	})
	return env
}

func write(t testing.TB, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// run runs a command in dir and returns its trimmed output.
func run(t testing.TB, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Env = append(cmd.Env,
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "GOWORK=off", "GOFLAGS=-modcacherw")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s in %s: %v\n%s", name, strings.Join(args, " "), dir, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commitAll commits every change in the repo and returns the commit id.
func commitAll(t testing.TB, repo, msg string) string {
	t.Helper()
	run(t, repo, nil, "git", "add", "-A")
	run(t, repo, nil, "git", "commit", "-q", "--allow-empty", "-m", msg)
	return run(t, repo, nil, "git", "rev-parse", "HEAD")
}

// tidy runs go mod tidy in each module of the repo that has a go.mod.
func tidy(t testing.TB, repo string, env []string) {
	t.Helper()
	err := filepath.WalkDir(repo, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if d.Name() == "go.mod" && !strings.Contains(p, "tools") {
			run(t, filepath.Dir(p), env, "go", "mod", "tidy")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// newFixture builds the fixture repo and returns its path, the base commit
// and the go environment.
func newFixture(t testing.TB) (repo, base string, env []string) {
	t.Helper()
	env = goProxy(t)
	repo = t.TempDir()
	run(t, repo, nil, "git", "init", "-q", "-b", "main")
	write(t, repo, pkgFiles())
	write(t, repo, botFiles("a", "greet", "depx"))
	write(t, repo, botFiles("b", "greet", "shout"))
	write(t, repo, botFiles("c", "shout"))
	write(t, repo, otherFiles())
	// Besides pkg/ and their own directory, b's image takes a file of its
	// config, c's a file from docs/.
	for bot, line := range map[string]string{
		"b": "COPY bots/b/config/local.yaml /config.yaml\n",
		"c": "COPY [\"docs/guide.md\", \"/guide.md\"]\n",
	} {
		f := filepath.Join(repo, "bots", bot, "Dockerfile")
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, append(data, line...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(t, repo, map[string]string{"bots/c/Dockerfile.dockerignore": "*\n!pkg/\n!bots/c/\n!docs/guide.md\n**/*_test.go\n**/*.md\n!docs/*.md\n"})
	tidy(t, repo, env)
	base = commitAll(t, repo, "base")
	return repo, base, env
}
