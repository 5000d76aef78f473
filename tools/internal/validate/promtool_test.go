package validate

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/botfleet/botfleet/tools/internal/render"
	"github.com/botfleet/botfleet/tools/internal/testenv"
)

// monitoringDir holds the alert rules and their unit tests.
const monitoringDir = "manifests/addons/monitoring"

// ruleFile returns the rule file promtool reads, made of the spec.groups of
// every PrometheusRule that dir builds.
func ruleFile(t *testing.T, dir string) []byte {
	t.Helper()
	m, err := render.Build(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatal(err)
	}
	var groups []any
	for _, res := range m.Resources() {
		if res.GetApiVersion() != monitoringAPIVersion || res.GetKind() != "PrometheusRule" {
			continue
		}
		js, err := res.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var rule struct {
			Spec struct {
				Groups []any `json:"groups"`
			} `json:"spec"`
		}
		if err := json.Unmarshal(js, &rule); err != nil {
			t.Fatalf("%s: %v", res.CurId(), err)
		}
		groups = append(groups, rule.Spec.Groups...)
	}
	if len(groups) == 0 {
		t.Fatalf("%s builds no PrometheusRule with groups", dir)
	}
	out, err := yaml.Marshal(map[string]any{"groups": groups})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAlertRules runs the real promtool on the monitoring add-on's rules:
// `promtool check rules` on the PrometheusRules' specs, and `promtool test
// rules` with the add-on's unit tests, rules.test.yaml. Then it breaks the
// rules one way at a time and expects the unit tests to fail.
func TestAlertRules(t *testing.T) {
	promtool := testenv.Program(t, "promtool", "apt-get install prometheus")
	rules := string(ruleFile(t, filepath.Join(repoDir, monitoringDir)))
	tests, err := os.ReadFile(filepath.Join(repoDir, monitoringDir, "rules.test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// promtool runs in a directory holding rules and the unit tests.
	promtoolIn := func(t *testing.T, rules string, args ...string) ([]byte, error) {
		tmp := t.TempDir()
		for name, data := range map[string]string{"rules.yaml": rules, "rules.test.yaml": string(tests)} {
			if err := os.WriteFile(filepath.Join(tmp, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.CommandContext(t.Context(), promtool, args...)
		cmd.Dir = tmp
		return cmd.CombinedOutput()
	}
	for _, args := range [][]string{{"check", "rules", "rules.yaml"}, {"test", "rules", "rules.test.yaml"}} {
		if out, err := promtoolIn(t, rules, args...); err != nil {
			t.Fatalf("promtool %s (rules.yaml from the PrometheusRules of %s): %v\n%s", strings.Join(args, " "), monitoringDir, err, out)
		}
	}
	for _, tt := range []struct{ name, old, new string }{
		{"threshold", "> 0.25", "> 0.5"},
		{"minimum count", ">= 4", ">= 5"},
		{"reconnects", "> 5", "> 7"},
		{"for", "for: 10m", "for: 5m"},
		{"namespace", `namespace="infra-bot-prd"`, `namespace="infra-bot-dev"`},
		{"severity", "severity: critical", "severity: warning"},
		{"user errors counted", `outcome=~"error|panic|timeout"`, `outcome!="ok"`},
		{"stale readings counted", "< 14400", "< 1e9"},
		{"surge not allowed for", "rollingupdate_max_surge", "rollingupdate_max_unavailable"},
		{"stray for", "for: 15m", "for: 5m"},
		{"Recreate without its replicas", "or on (namespace, deployment)", "and on (namespace, deployment)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(rules, tt.old) {
				t.Fatalf("rules.yaml lacks %q", tt.old)
			}
			if out, err := promtoolIn(t, strings.ReplaceAll(rules, tt.old, tt.new), "test", "rules", "rules.test.yaml"); err == nil {
				t.Errorf("promtool test rules passed with %q for %q:\n%s", tt.new, tt.old, out)
			}
		})
	}
}
