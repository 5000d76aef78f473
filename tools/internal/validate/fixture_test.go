package validate

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/botfleet/botfleet/tools/internal/awsplatform"
	"github.com/botfleet/botfleet/tools/internal/settings"
)

// repoDir is the real repo, read (never written) to seed fixtures.
const repoDir = "../../.."

// memRoot is where fixtures live in the in-memory filesystem.
const memRoot = "/repo"

// fixture returns an in-memory copy of the repo's botfleet.yaml, manifests/,
// .github/ and the hello and alerts bots' manifests and Dockerfiles, and more bots made from
// hello's by renaming (as the scaffold does).
func fixture(tb testing.TB, bots ...string) filesys.FileSystem {
	tb.Helper()
	mem := filesys.MakeFsInMemory()
	copyFile := func(rel string) {
		data, err := os.ReadFile(filepath.Join(repoDir, rel))
		if err != nil {
			tb.Fatal(err)
		}
		write(tb, mem, rel, string(data))
	}
	copyFile("botfleet.yaml")
	copyFile(DependabotConfig)
	copyFile("bots/hello/" + DockerfileName)
	copyFile("bots/hello/slack-app.dev.yaml")
	copyFile("bots/hello/slack-app.prd.yaml")
	// The alerts bot makes the Secrets the AlertmanagerConfigs of
	// manifests/addons/monitoring read.
	copyFile("bots/alerts/" + DockerfileName)
	copyFile("bots/alerts/slack-app.dev.yaml")
	copyFile("bots/alerts/slack-app.prd.yaml")
	for _, dir := range []string{"manifests", "bots/hello/manifests", "bots/alerts/manifests", ".github"} {
		err := fs.WalkDir(os.DirFS(repoDir), dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasSuffix(p, ".md") {
				return err
			}
			copyFile(p)
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	for _, bot := range bots {
		addBot(tb, mem, bot)
	}
	generateAWS(tb, mem)
	return mem
}

// generateAWS writes the fixture's ACK objects and bootstrap files as
// `botctl init` would: for its bots, not the repo's.
func generateAWS(tb testing.TB, mem filesys.FileSystem) {
	tb.Helper()
	data, err := mem.ReadFile(path.Join(memRoot, settings.FileName))
	if err != nil {
		tb.Fatal(err)
	}
	s, err := settings.Parse(data)
	if err != nil {
		tb.Fatal(err)
	}
	bots, err := Bots(mem, memRoot)
	if err != nil {
		tb.Fatal(err)
	}
	files, err := awsplatform.Make(mem, memRoot, s, bots)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := awsplatform.Write(mem, memRoot, files); err != nil {
		tb.Fatal(err)
	}
}

// addBot adds bot, a copy of hello's manifests and Dockerfile with the name
// replaced.
func addBot(tb testing.TB, mem filesys.FileSystem, bot string) {
	tb.Helper()
	df, err := mem.ReadFile(path.Join(memRoot, "bots/hello", DockerfileName))
	if err != nil {
		tb.Fatal(err)
	}
	write(tb, mem, path.Join("bots", bot, DockerfileName), strings.ReplaceAll(string(df), "hello", bot))
	for _, env := range []string{"dev", "prd"} {
		app, err := mem.ReadFile(path.Join(memRoot, "bots/hello", "slack-app."+env+".yaml"))
		if err != nil {
			tb.Fatal(err)
		}
		write(tb, mem, path.Join("bots", bot, "slack-app."+env+".yaml"), strings.ReplaceAll(string(app), "hello", bot))
	}
	src := path.Join(memRoot, "bots/hello/manifests")
	err = mem.Walk(src, func(p string, info fs.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		data, err := mem.ReadFile(p)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(p, memRoot+"/bots/hello/")
		write(tb, mem, path.Join("bots", bot, rel), strings.ReplaceAll(string(data), "hello", bot))
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	generateAWS(tb, mem)
}

func write(tb testing.TB, mem filesys.FileSystem, rel, data string) {
	tb.Helper()
	p := path.Join(memRoot, rel)
	if err := mem.MkdirAll(path.Dir(p)); err != nil {
		tb.Fatal(err)
	}
	if err := mem.WriteFile(p, []byte(data)); err != nil {
		tb.Fatal(err)
	}
}

// edit replaces the first old in rel with new; old must be there.
func edit(tb testing.TB, mem filesys.FileSystem, rel, old, new string) {
	tb.Helper()
	data, err := mem.ReadFile(path.Join(memRoot, rel))
	if err != nil {
		tb.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		tb.Fatalf("%s lacks %q", rel, old)
	}
	write(tb, mem, rel, strings.Replace(string(data), old, new, 1))
}
