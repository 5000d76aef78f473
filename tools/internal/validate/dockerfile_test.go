package validate

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLintDockerfile lints each testdata/dockerfile/*.Dockerfile; want is
// every problem, in order.
func TestLintDockerfile(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"good", nil},
		{"check-skip", nil},
		{"single-stage", []string{
			"single-stage.Dockerfile:1: one stage: build in a stage of its own and copy only the binary into the final one (no compiler or sources in the image)",
		}},
		{"no-user", []string{
			"no-user.Dockerfile:5: the final stage sets no USER: want USER 65532:65532 (numeric, so that Kubernetes can check runAsNonRoot)",
		}},
		{"user", []string{
			"user.Dockerfile:7: USER nonroot is not numeric: Kubernetes checks runAsNonRoot only on a numeric user; want USER 65532:65532",
		}},
		{"user-root", []string{
			"user-root.Dockerfile:5: USER 0:0 runs as root: want USER 65532:65532",
		}},
		{"user-other", []string{
			"user-other.Dockerfile:5: USER 65532:1000: want USER 65532:65532, the pods' runAsUser and the EFS access point's POSIX user",
		}},
		{"add-url", []string{
			"add-url.Dockerfile:2: ADD https://example.com/tool.tar.gz: a URL's content is neither pinned nor checked; download it in a RUN that verifies its checksum",
			"add-url.Dockerfile:3: ADD git@github.com:example/repo.git: a URL's content is neither pinned nor checked; download it in a RUN that verifies its checksum",
		}},
		{"bases", []string{
			"bases.Dockerfile:3: FROM ${GO_IMAGE}: Dependabot does not expand ARGs (dependabot-core#2057) and never updates this base; write FROM golang:1.26 (make image-test substitutes its stand-ins for literal names)",
			"bases.Dockerfile:5: FROM $MIRROR/python:3.13-slim: Dependabot does not expand ARGs (dependabot-core#2057) and never updates this base; write the image and its tag, e.g. FROM golang:1.26 (make image-test substitutes its stand-ins for literal names)",
			"bases.Dockerfile:6: FROM ${UNDECLARED}: Dependabot does not expand ARGs (dependabot-core#2057) and never updates this base; write the image and its tag, e.g. FROM golang:1.26 (make image-test substitutes its stand-ins for literal names)",
			`bases.Dockerfile:7: FROM golang: name the base by a tag that Dependabot bumps (e.g. golang:1.26), not "none"`,
			`bases.Dockerfile:8: FROM gcr.io/distroless/static-debian12:latest: name the base by a tag that Dependabot bumps (e.g. golang:1.26), not "latest"`,
			"bases.Dockerfile:9: FROM golang:1.26: write the base on the FROM line itself, at the line's start (FROM [--platform=P] golang:1.26 [AS name]): Dependabot reads each line alone and no other form",
			"bases.Dockerfile:10: FROM golang:1.26: write the base on the FROM line itself, at the line's start (FROM [--platform=P] golang:1.26 [AS name]): Dependabot reads each line alone and no other form",
		}},
		{"buildkit-lint", []string{
			`buildkit-lint.Dockerfile:1: SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data (ARG "API_TOKEN")`,
			"buildkit-lint.Dockerfile:2: StageNameCasing: Stage name 'Build' should be lowercase",
			"buildkit-lint.Dockerfile:2: FromAsCasing: 'as' and 'FROM' keywords' casing do not match",
			"buildkit-lint.Dockerfile:3: MaintainerDeprecated: Maintainer instruction is deprecated in favor of using label",
			"buildkit-lint.Dockerfile:3: ConsistentInstructionCasing: Command 'maintainer' should match the case of the command majority (uppercase)",
			`buildkit-lint.Dockerfile:4: WorkdirRelativePath: Relative workdir "src" can have unexpected results if the base image changes`,
			`buildkit-lint.Dockerfile:5: LegacyKeyValueFormat: "ENV key=value" should be used instead of legacy "ENV key value" format`,
			"buildkit-lint.Dockerfile:8: NoEmptyContinuation: Empty continuation line",
			`buildkit-lint.Dockerfile:9: DuplicateStageName: Duplicate stage name "build", stage names should be unique`,
			"buildkit-lint.Dockerfile:13: MultipleInstructionsDisallowed: Multiple CMD instructions should not be used in the same stage because only the last one will be used",
			"buildkit-lint.Dockerfile:14: JSONArgsRecommended: JSON arguments recommended for ENTRYPOINT to prevent unintended behavior related to OS signals",
		}},
		{"unknown-instruction", []string{
			"unknown-instruction.Dockerfile:3: unknown instruction: COPYY (did you mean COPY?)",
		}},
		{"before-from", []string{
			"before-from.Dockerfile:2: RUN before the first FROM: only ARG may come before it",
		}},
		{"empty", []string{
			"empty.Dockerfile:1: parse: file with no instructions",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			name := tt.file + ".Dockerfile"
			data, err := os.ReadFile(filepath.Join("testdata", "dockerfile", name))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range LintDockerfile(name, data) {
				got = append(got, p.String())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("LintDockerfile(%s) (-want +got):\n%s", name, diff)
			}
		})
	}
}

// TestRepoDockerfiles lints the real bots' Dockerfiles.
func TestRepoDockerfiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoDir, BotsDir, "*", DockerfileName))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Dockerfiles under %s (%v)", filepath.Join(repoDir, BotsDir), err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range LintDockerfile(f, data) {
			t.Errorf("%s", p)
		}
	}
}

// TestValidateLintsDockerfiles checks that Run reports a bot's Dockerfile
// problems with the file's repo path and line, and a missing Dockerfile.
func TestValidateLintsDockerfiles(t *testing.T) {
	mem := fixture(t, "other")
	edit(t, mem, "bots/hello/"+DockerfileName, "USER 65532:65532", "USER root")
	data, err := mem.ReadFile(filepath.Join(memRoot, "bots/hello", DockerfileName))
	if err != nil {
		t.Fatal(err)
	}
	line := 1 + strings.Count(string(data[:strings.Index(string(data), "USER root")]), "\n")
	if err := mem.RemoveAll(filepath.Join(memRoot, "bots/other", DockerfileName)); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range runValidator(t, mem) {
		got = append(got, p.String())
	}
	want := []string{
		fmt.Sprintf("bots/hello/Dockerfile:%d: USER root is not numeric: Kubernetes checks runAsNonRoot only on a numeric user; want USER 65532:65532", line),
		"bots/other/Dockerfile: missing: every bot's image is built from its Dockerfile (the release pipeline and make image-test build it)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}
