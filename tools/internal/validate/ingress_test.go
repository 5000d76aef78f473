package validate

import (
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/botfleet/botfleet/pkg/golden"
	"github.com/botfleet/botfleet/tools/internal/render"
)

const (
	albComponent = "manifests/components/alb-ingress/"
	albIngress   = albComponent + "ingress.yaml"
	// albOverlay is hello's dev overlay using the component.
	albOverlay = "testdata/alb-overlay/kustomization.yaml"
)

// documentedUse returns the lines a component's kustomization.yaml tells
// an overlay to add, for hello in dev.
func documentedUse(t *testing.T, component string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoDir, component, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	in := false
	for line := range strings.Lines(string(data)) {
		text, ok := strings.CutPrefix(line, "#   ")
		if ok && strings.HasPrefix(text, "components:") {
			in = true
		}
		if in && !ok {
			break
		}
		if in {
			lines = append(lines, text)
		}
	}
	if len(lines) == 0 {
		t.Fatalf("%s documents no use (a block of \"#   \" lines from components:)", path.Join(component, "kustomization.yaml"))
	}
	return strings.ReplaceAll(strings.Join(lines, ""), "<bot>-<env>", "hello-dev")
}

// useALB makes hello's dev overlay testdata/alb-overlay.
func useALB(t *testing.T) []change {
	t.Helper()
	data, err := os.ReadFile(albOverlay)
	if err != nil {
		t.Fatal(err)
	}
	return []change{{devKust, "", string(data)}}
}

// TestIngressComponent builds hello's dev overlay with the ALB component,
// used as the component documents it, checks it, and compares the build
// with testdata/alb-overlay.golden (go test -update rewrites it).
func TestIngressComponent(t *testing.T) {
	data, err := os.ReadFile(albOverlay)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range strings.Split(documentedUse(t, albComponent), "\n") {
		if !strings.Contains(string(data), strings.TrimRight(want, " ")) {
			t.Errorf("%s lacks the documented line %q", albOverlay, want)
		}
	}
	mem := fixture(t)
	for _, c := range useALB(t) {
		write(t, mem, c.file, c.new)
	}
	for _, p := range runValidator(t, mem) {
		t.Errorf("problem: %s", p)
	}
	out, err := render.YAML(mem, path.Join(memRoot, devDir))
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "testdata/alb-overlay.golden", out)
	for _, p := range append([]string{"host: hello-dev.bots.example.com", "name: hello\n"}, SlackPaths...) {
		if !strings.Contains(string(out), p) {
			t.Errorf("build lacks %q", p)
		}
	}
}

func TestRoutes(t *testing.T) {
	const (
		exact  = networkingv1.PathTypeExact
		prefix = networkingv1.PathTypePrefix
		impl   = networkingv1.PathTypeImplementationSpecific
	)
	tests := []struct {
		typ          networkingv1.PathType
		path, target string
		want         bool
	}{
		{exact, "/metrics", "/metrics", true},
		{exact, "/metrics/", "/metrics", false},
		{prefix, "/", "/metrics", true},
		{prefix, "", "/metrics", true},
		{prefix, "/metrics/", "/metrics", true}, // a trailing slash is ignored
		{prefix, "/met", "/metrics", false},     // whole path elements only
		{prefix, "/hooks", "/hooks/deploy", true},
		{prefix, "/hooks", "/hooksmith", false},
		{impl, "/metrics", "/metrics", true},
		{impl, "/*", "/healthz", true},
		{impl, "/?eadyz", "/readyz", true},
		{impl, "/slack/*", "/readyz", false},
		{impl, "/health.", "/healthz", false}, // . is literal
	}
	for _, tt := range tests {
		if got := routes(tt.typ, tt.path, tt.target); got != tt.want {
			t.Errorf("routes(%s, %q, %q) = %v, want %v", tt.typ, tt.path, tt.target, got, tt.want)
		}
	}
}
