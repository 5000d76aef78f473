package validate

import (
	"path"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// TestDependabot checks that validate finds a bot's file that no update of
// dependabot.yml covers, through Run.
func TestDependabot(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, mem filesys.FileSystem)
		want  []string
	}{
		{
			name: "the repo's, with the ansible bot's pin",
			setup: func(t *testing.T, mem filesys.FileSystem) {
				write(t, mem, "bots/ansible/requirements.txt", "ansible-core==2.18.6\n")
			},
		},
		{
			name: "a pin no pip update covers",
			setup: func(t *testing.T, mem filesys.FileSystem) {
				write(t, mem, "bots/other/requirements.txt", "ansible-core==2.18.6\n")
			},
			want: []string{
				`.github/dependabot.yml: no pip update covers bots/other (its requirements.txt), so Dependabot never bumps it: add "/bots/other", or a glob such as "/bots/*", to a pip update's directories`,
			},
		},
		{
			name: "a Dockerfile outside the docker update's directories",
			setup: func(t *testing.T, mem filesys.FileSystem) {
				edit(t, mem, DependabotConfig, `directories: ["/bots/*"]`, `directories: ["/bots/hello", "/bots/ansible", "/bots/alerts"]`)
			},
			want: []string{
				`.github/dependabot.yml: no docker update covers bots/other (its Dockerfile), so Dependabot never bumps it: add "/bots/other", or a glob such as "/bots/*", to a docker update's directories`,
			},
		},
		{
			name: "a module, a Dockerfile and a pin under /**",
			setup: func(t *testing.T, mem filesys.FileSystem) {
				write(t, mem, DependabotConfig, "version: 2\nupdates:\n"+
					"  - package-ecosystem: gomod\n    directories: [\"/bots/**\"]\n"+
					"  - package-ecosystem: docker\n    directories: [\"/**\"]\n"+
					"  - package-ecosystem: pip\n    directory: /bots/other/\n")
				write(t, mem, "bots/other/go.mod", "module example.com/other\n")
				write(t, mem, "bots/other/requirements.txt", "ansible-core==2.18.6\n")
			},
		},
		{
			name: "a module no gomod update covers",
			setup: func(t *testing.T, mem filesys.FileSystem) {
				write(t, mem, "bots/other/go.mod", "module example.com/other\n")
				edit(t, mem, DependabotConfig, `directories: ["/pkg", "/tools", "/bench", "/bots/*"]`, `directories: ["/pkg", "/tools", "/bench", "/bots/hello"]`)
			},
			want: []string{
				`.github/dependabot.yml: no gomod update covers bots/other (its go.mod), so Dependabot never bumps it: add "/bots/other", or a glob such as "/bots/*", to a gomod update's directories`,
			},
		},
		{
			name: "missing",
			setup: func(t *testing.T, mem filesys.FileSystem) {
				if err := mem.RemoveAll(path.Join(memRoot, DependabotConfig)); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{".github/dependabot.yml: missing: Dependabot keeps the bots' modules, base images and pins up to date from it"},
		},
		{
			name: "not YAML",
			setup: func(t *testing.T, mem filesys.FileSystem) {
				write(t, mem, DependabotConfig, "updates: [\n")
			},
			want: []string{".github/dependabot.yml: parse: error converting YAML to JSON: yaml: line 1: did not find expected node content"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := fixture(t, "other", "ansible")
			tt.setup(t, mem)
			var got []string
			for _, p := range runValidator(t, mem) {
				got = append(got, p.String())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRepoDependabot checks the real repo's dependabot.yml against its bots.
func TestRepoDependabot(t *testing.T) {
	root, err := filepath.Abs(repoDir)
	if err != nil {
		t.Fatal(err)
	}
	r := &run{v: &Validator{FS: filesys.MakeFsOnDisk(), Root: root}}
	if r.bots, err = Bots(r.v.FS, root); err != nil || len(r.bots) == 0 {
		t.Fatalf("no bots under %s (%v)", root, err)
	}
	r.checkDependabot()
	for _, p := range r.problems {
		t.Errorf("%s", p)
	}
}
