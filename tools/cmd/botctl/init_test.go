package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/botfleet/botfleet/pkg/golden"
)

// adopted is what a team edits in botfleet.yaml to adopt the repository:
// every value that reaches a literal.
var adopted = strings.NewReplacer(
	`accountID: "123456789012"`, `accountID: "210987654321"`,
	"region: eu-west-1", "region: us-east-2",
	"ecrRegistry: 123456789012.dkr.ecr.eu-west-1.amazonaws.com", "ecrRegistry: 210987654321.dkr.ecr.us-east-2.amazonaws.com",
	"repoURL: https://github.com/botfleet/botfleet.git", "repoURL: https://github.com/acme/slack-bots.git",
	"revision: main", "revision: trunk",
	"  namespace: argocd", "  namespace: gitops",
	"project: botfleet", "project: acme-bots",
	"namespace: infra-bot-dev", "namespace: bots-dev",
	"namespace: infra-bot-prd", "namespace: bots-prd",
	"fileSystemID: fs-0123456789abcdef0", "fileSystemID: fs-0a1b2c3d4e5f60718",
	"accessPointID: fsap-0123456789abcdef0", "accessPointID: fsap-0aaaaaaaaaaaaaaa1",
	"accessPointID: fsap-0fedcba9876543210", "accessPointID: fsap-0bbbbbbbbbbbbbbb2",
	"oidcProvider: oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF", "oidcProvider: oidc.eks.us-east-2.amazonaws.com/id/FEDCBA9876543210FEDCBA9876543210",
	"policy/botfleet-bot-boundary", "policy/acme-bot-boundary",
)

// TestInit adopts a copy of the repo: botfleet.yaml edited, `botctl init`
// writes every value (testdata/init.golden lists them), keeps every comment
// and line, a second run changes nothing, and validate then finds no
// disagreement.
func TestInit(t *testing.T) {
	dir := copyRepo(t)
	for _, bot := range []string{"ecs", "ansible"} {
		copyPath(t, filepath.Join(repoDir, "bots", bot, "manifests"), filepath.Join(dir, "bots", bot, "manifests"))
	}
	copyPath(t, filepath.Join(repoDir, "bots/ecs/iam.yaml"), filepath.Join(dir, "bots/ecs/iam.yaml"))
	generateAWS(t, dir)
	cfg := filepath.Join(dir, "botfleet.yaml")
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	edited := adopted.Replace(string(data))
	if err := os.WriteFile(cfg, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	before := comments(t, dir)

	code, out, errs := run(t, "--repo", dir, "init")
	if code != exitOK {
		t.Fatalf("init: exit %d, stderr %s", code, errs)
	}
	golden.Check(t, "testdata/init.golden", out)
	// No value of the old settings is left outside comments (a bot's own
	// config and the manual examples are not Argo CD's).
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		rel := filepath.ToSlash(strings.TrimPrefix(p, dir+string(filepath.Separator)))
		if err != nil || fi.IsDir() || !strings.HasSuffix(p, ".yaml") || rel == "botfleet.yaml" ||
			strings.HasSuffix(p, "/config.yaml") || strings.Contains(rel, "/manual/") || strings.HasPrefix(rel, ".github/") {
			return err
		}
		data, _ := os.ReadFile(p)
		for i, l := range strings.Split(string(data), "\n") {
			code, _, _ := strings.Cut(l, " #")
			if strings.HasPrefix(strings.TrimSpace(code), "#") {
				continue
			}
			for _, stale := range []string{"infra-bot-", "123456789012", "eu-west-1", "botfleet/botfleet.git", "fsap-0fedcba9876543210", "fs-0123456789abcdef0", "revision: main", "project: botfleet-dev", "project: botfleet-prd"} {
				if strings.Contains(code, stale) {
					t.Errorf("%s:%d still holds %q: %s", rel, i+1, stale, l)
				}
			}
		}
		return nil
	})
	if after := comments(t, dir); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("init changed comments or line counts:\n%s", golden.Diff(strings.Join(before, "\n"), strings.Join(after, "\n")))
	}

	code, out, _ = run(t, "--repo", dir, "init")
	if code != exitOK || out != "botctl init: every value agrees with botfleet.yaml\n" {
		t.Errorf("a second init: exit %d, stdout %q; want nothing to change", code, out)
	}
	code, out, errs = run(t, "--repo", dir, "validate", "hello")
	if code != exitOK {
		t.Errorf("validate after init: exit %d\n%s%s", code, out, errs)
	}
}

// TestInitRefuses: a bad botfleet.yaml, or a file init reads the names in
// use from gone, is an error that names the file, and nothing changes.
func TestInitRefuses(t *testing.T) {
	tests := []struct {
		name   string
		change func(dir string) error
		code   int
		want   string
	}{
		{"bad region", func(dir string) error {
			return edit(dir, "botfleet.yaml", "region: eu-west-1", "region: Europe")
		}, exitUsage, `botfleet.yaml: aws.region: "Europe" is not an AWS region like eu-west-1`},
		{"no EFS file", func(dir string) error {
			if err := edit(dir, "botfleet.yaml", "namespace: infra-bot-dev", "namespace: bots-dev"); err != nil {
				return err
			}
			return os.Remove(filepath.Join(dir, "manifests/efs/dev.yaml"))
		}, exitProblems, "reading manifests/efs/dev.yaml (botctl init takes the names in use from it)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyRepo(t)
			if err := tt.change(dir); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, dir)
			code, _, errs := run(t, "--repo", dir, "init")
			if code != tt.code || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errs, tt.code, tt.want)
			}
			if after := snapshot(t, dir); after != before {
				t.Error("init changed files")
			}
		})
	}
}

func edit(dir, rel, old, new string) error {
	p := filepath.Join(dir, rel)
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	return os.WriteFile(p, []byte(strings.Replace(string(data), old, new, 1)), 0o644)
}

// comments returns, per YAML file under dir, its line count and comment
// lines.
func comments(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		lines := strings.Split(string(data), "\n")
		out = append(out, strings.TrimPrefix(p, dir)+": "+strings.Repeat(".", len(lines)))
		for _, l := range lines {
			if strings.HasPrefix(strings.TrimSpace(l), "#") {
				out = append(out, l)
			}
		}
		return nil
	})
	return out
}

// snapshot is every file under dir with its content.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		data, _ := os.ReadFile(p)
		b.WriteString(p + "\n" + string(data))
		return nil
	})
	return b.String()
}
