package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/botfleet/botfleet/tools/internal/testenv"
)

// TestValidateIAM runs botctl validate on a copy of the repo whose ecs bot
// lacks, then misdeclares, its iam.yaml: each fails naming the file and
// the fix.
func TestValidateIAM(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{"botfleet.yaml", "go.work", "pkg", "manifests", ".github", "bots/ecs"} {
		copyPath(t, filepath.Join(repoDir, p), filepath.Join(root, p))
	}
	iam := filepath.Join(root, "bots", "ecs", "iam.yaml")
	committed, err := os.ReadFile(iam)
	if err != nil {
		t.Fatal(err)
	}
	// Where the code shows each call, read from the source so that moving
	// the code moves the expectation: the paginator that first makes the
	// DescribeImages call, and ListTasks in the ecsAPI interface.
	src := filepath.Join(repoDir, "bots", "ecs", "ecs.go")
	images := testenv.Line(t, src, `ecr\.NewDescribeImagesPaginator\(`)
	listTasks := testenv.Line(t, src, `^\s+ListTasks\(`)
	tests := []struct {
		name string
		iam  string // "" removes the file
		want string
	}{
		{name: "no declaration", want: "bots/ecs/iam.yaml: missing: the code calls AWS (ecr.DescribeImages at " + images + "); declare the actions it needs: ecr:DescribeImages, ecs:DeregisterTaskDefinition,"},
		{name: "a called action missing", iam: strings.Replace(string(committed), "  - ecs:ListTasks\n", "", 1),
			want: "bots/ecs/iam.yaml: ecs:ListTasks missing: the code calls ecs.ListTasks (" + listTasks + "); add it under actions"},
		{name: "an unneeded action", iam: string(committed) + "  - action: s3:GetObject\n    why: \"\"\n",
			want: "bots/ecs/iam.yaml: extras: s3:GetObject has no why"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.iam == "" {
				if err := os.Remove(iam); err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(iam, []byte(tt.iam), 0o644); err != nil {
				t.Fatal(err)
			}
			code, out, errs := run(t, "--repo", root, "validate", "ecs")
			if code != exitProblems || !strings.Contains(out, tt.want) {
				t.Errorf("exit %d, stdout:\n%s\nstderr %s\nwant %d and %q", code, out, errs, exitProblems, tt.want)
			}
		})
	}
}
