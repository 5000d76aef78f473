package overlay

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

const kustomization = `# %s in %s
images:
  - name: %s
    newName: x/%s
    newTag: "%s"
`

// newRepo makes a repo in memory with bots a (dev and prd), b (dev and prd)
// and c (dev only), and a directory without overlays.
func newRepo(t *testing.T) filesys.FileSystem {
	t.Helper()
	fsys := filesys.MakeFsInMemory()
	for _, o := range []struct{ bot, env, tag string }{
		{"a", "dev", "1111111"}, {"a", "prd", "0000000"},
		{"b", "dev", "2222222"}, {"b", "prd", "2222222"},
		{"c", "dev", "3333333"},
	} {
		data := fmt.Sprintf(kustomization, o.bot, o.env, o.bot, o.bot, o.tag)
		if err := fsys.WriteFile(filepath.Join("/repo", Path(o.bot, o.env)), []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := fsys.MkdirAll("/repo/bots/empty"); err != nil {
		t.Fatal(err)
	}
	return fsys
}

func TestPlanApply(t *testing.T) {
	fsys := newRepo(t)
	edits, err := Plan(fsys, "/repo", "prd", map[string]string{"a": "1111111", "b": "2222222"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range edits {
		got = append(got, e.String())
	}
	want := []string{
		"bots/a/manifests/envs/prd/kustomization.yaml: a 0000000 -> 1111111",
		"bots/b/manifests/envs/prd/kustomization.yaml: b 2222222 unchanged",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("edits (-want +got):\n%s", diff)
	}
	if err := Apply(fsys, "/repo", edits); err != nil {
		t.Fatal(err)
	}
	data, err := fsys.ReadFile("/repo/" + Path("a", "prd"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "# a in prd\nimages:\n  - name: a\n    newName: x/a\n    newTag: \"1111111\"\n"; string(data) != want {
		t.Errorf("a's prd overlay:\n%s\nwant:\n%s", data, want)
	}
}

func TestPlanErrors(t *testing.T) {
	fsys := newRepo(t)
	before := snapshot(t, fsys)
	_, err := Plan(fsys, "/repo", "prd", map[string]string{"a": "v2", "c": "v2", "nope": "v2", "empty": "v2", "b": "latest"})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`unknown bot "nope": no directory bots/nope`,
		"bot c has no prd overlay (bots/c/manifests/envs/prd/kustomization.yaml)",
		"bot empty has no prd overlay",
		`bots/b/manifests/envs/prd/kustomization.yaml: tag "latest"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if diff := cmp.Diff(before, snapshot(t, fsys)); diff != "" {
		t.Errorf("files changed:\n%s", diff)
	}
}

func TestTagsAndBotsWith(t *testing.T) {
	fsys := newRepo(t)
	bots, err := BotsWith(fsys, "/repo", "dev")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, bots); diff != "" {
		t.Errorf("BotsWith dev (-want +got):\n%s", diff)
	}
	tags, err := Tags(fsys, "/repo", "dev", bots)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"a": "1111111", "b": "2222222", "c": "3333333"}, tags); diff != "" {
		t.Errorf("Tags (-want +got):\n%s", diff)
	}
	if _, err := Tags(fsys, "/repo", "prd", bots); err == nil || !strings.Contains(err.Error(), "bot c has no prd overlay") {
		t.Errorf("Tags prd: error %v", err)
	}
}

func snapshot(t *testing.T, fsys filesys.FileSystem) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := fsys.Walk("/repo", func(p string, info fs.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		data, err := fsys.ReadFile(p)
		files[p] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
