package validate

import (
	"path"
	"strings"
	"testing"

	"github.com/botfleet/botfleet/pkg/golden"
	"github.com/botfleet/botfleet/tools/internal/render"
)

// Lines of hello's base Deployment the cases edit.
const (
	rolling    = "    type: RollingUpdate\n    rollingUpdate:\n      maxSurge: 1\n      maxUnavailable: 0\n"
	stateMount = "              mountPath: /efs/state/hello\n              subPath: state/hello\n"
)

// useTwoReplicas adds the two-replicas component to hello's dev overlay,
// with the lines its kustomization.yaml documents.
func useTwoReplicas(t *testing.T) []change {
	t.Helper()
	return []change{{devKust, "resources:\n", documentedUse(t, TwoReplicas) + "\nresources:\n"}}
}

// TestTwoReplicasComponent builds hello's dev overlay with the two-replicas
// component, used as the component documents it, checks it, and compares
// the build with testdata/two-replicas-overlay.golden (go test -update
// rewrites it).
func TestTwoReplicasComponent(t *testing.T) {
	mem := fixture(t)
	for _, c := range useTwoReplicas(t) {
		edit(t, mem, c.file, c.old, c.new)
	}
	for _, p := range runValidator(t, mem) {
		t.Errorf("problem: %s", p)
	}
	out, err := render.YAML(mem, path.Join(memRoot, devDir))
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "testdata/two-replicas-overlay.golden", out)
	for _, s := range []string{"replicas: 2\n", "kind: PodDisruptionBudget\n", "minAvailable: 1\n"} {
		if !strings.Contains(string(out), s) {
			t.Errorf("build lacks %q", s)
		}
	}
}

// TestRolloutShapes lists the shapes of a bot's rollout that validate
// allows: each builds and checks without a problem.
func TestRolloutShapes(t *testing.T) {
	tests := []struct {
		name    string
		changes func(t *testing.T) []change
	}{
		{"one replica, rolling (the scaffold's)", func(*testing.T) []change { return nil }},
		{"one replica, Recreate (a bot whose state has one writer)", func(*testing.T) []change {
			return []change{{deploy, rolling, "    type: Recreate\n"}}
		}},
		{"Socket Mode in a namespace without the ALB's readiness gate", func(*testing.T) []change {
			return []change{{"manifests/namespaces.yaml", "    elbv2.k8s.aws/pod-readiness-gate-inject: enabled\n", ""}}
		}},
		{"two replicas", useTwoReplicas},
		{"two replicas behind the ALB", func(t *testing.T) []change {
			return append(useALB(t), change{devKust, "components:\n", "components:\n  - ../../../../../" + TwoReplicas + "\n"})
		}},
		{"HTTP with a longer BOT_GRACE_PERIOD and grace", func(t *testing.T) []change {
			return append(useALB(t),
				change{devPatch, "            - name: BOT_ENV\n", "            - name: BOT_GRACE_PERIOD\n              value: 10m\n            - name: BOT_ENV\n"},
				change{deploy, "terminationGracePeriodSeconds: 60", "terminationGracePeriodSeconds: 625"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := fixture(t)
			for _, c := range tt.changes(t) {
				if c.old == "" {
					write(t, mem, c.file, c.new)
				} else {
					edit(t, mem, c.file, c.old, c.new)
				}
			}
			for _, p := range runValidator(t, mem) {
				t.Errorf("problem: %s", p)
			}
		})
	}
}
