package literals

import (
	"testing"

	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/botfleet/botfleet/tools/internal/settings"
)

func TestRepoAgrees(t *testing.T) {
	fsys := filesys.MakeFsOnDisk()
	data, err := fsys.ReadFile("../../../botfleet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := settings.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Make(fsys, "../../..", s)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range p.Edits {
		t.Errorf("the repo disagrees with its settings: %s", e)
	}
}
