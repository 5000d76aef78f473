package kubeschema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func decode(t *testing.T, y string) map[string]any {
	t.Helper()
	js, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	d := json.NewDecoder(bytes.NewReader(js))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

const deployment = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello
  labels: {app.kubernetes.io/name: hello}
spec:
  replicas: 1
  selector: {matchLabels: {app: hello}}
  template:
    spec:
      containers:
        - name: bot
          image: hello:1
          ports: [{containerPort: 8080, name: http}]
          livenessProbe: {httpGet: {path: /healthz, port: http}}
          resources:
            requests: {cpu: 250m, memory: 512Mi}
            limits: {cpu: 1, memory: 512Mi}
`

const application = `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: root, namespace: argocd}
spec:
  project: botfleet
  source: {repoURL: "https://example.com/x.git", path: manifests, targetRevision: main}
  destination: {server: "https://kubernetes.default.svc", namespace: argocd}
  syncPolicy: {automated: {prune: true, selfHeal: true}}
`

const role = `
apiVersion: iam.services.k8s.aws/v1alpha1
kind: Role
metadata: {name: botfleet-ecs-dev, namespace: botfleet-aws}
spec:
  name: botfleet-ecs-dev
  assumeRolePolicyDocument: "{}"
  permissionsBoundary: arn:aws:iam::123456789012:policy/botfleet-bot-boundary
  inlinePolicies: {botfleet: "{}"}
  tags: [{key: botfleet/bot, value: ecs}]
`

const repository = `
apiVersion: ecr.services.k8s.aws/v1alpha1
kind: Repository
metadata: {name: ecs, namespace: botfleet-aws}
spec:
  name: botfleet/ecs
  imageTagMutability: IMMUTABLE
  imageScanningConfiguration: {scanOnPush: true}
  lifecyclePolicy: "{}"
`

func TestValidate(t *testing.T) {
	s, err := Load(34)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, doc, old, new string
		want                string // "" means no errors
	}{
		{"deployment ok", deployment, "", "", ""},
		{"unknown field", deployment, "resources:", "resourcs:", "spec.template.spec.containers[0].resourcs: unknown field"},
		{"wrong type", deployment, "replicas: 1", "replicas: one", `spec.replicas: want an integer, got string "one"`},
		{"required", deployment, "- name: bot\n", "- \n", "spec.template.spec.containers[0].name: required field missing"},
		{"int or string", deployment, "port: http", "port: [1]", "spec.template.spec.containers[0].livenessProbe.httpGet.port: want an integer or a string, got a list"},
		{"quantity", deployment, "cpu: 1,", "cpu: true,", "spec.template.spec.containers[0].resources.limits.cpu: want a quantity"},
		{"label map value", deployment, "{app.kubernetes.io/name: hello}", "{app.kubernetes.io/name: 3}", `metadata.labels["app.kubernetes.io/name"]: want a string, got number 3`},
		{"application ok", application, "", "", ""},
		{"application unknown field", application, "selfHeal: true", "selfheal: true", "spec.syncPolicy.automated.selfheal: unknown field"},
		{"application metadata", application, "namespace: argocd}", "namespace: argocd, labls: {}}", "metadata.labls: unknown field"},
		{"application missing", application, "  project: botfleet\n", "", "spec.project: required field missing"},
		{"ack role ok", role, "", "", ""},
		{"ack role unknown field", role, "permissionsBoundary:", "permissionBoundary:", "spec.permissionBoundary: unknown field"},
		{"ack role required", role, "  assumeRolePolicyDocument: \"{}\"\n", "", "spec.assumeRolePolicyDocument: required field missing"},
		{"ack role policies are strings", role, `{botfleet: "{}"}`, `{botfleet: {Version: "2012-10-17"}}`, `spec.inlinePolicies.botfleet: want a string, got an object`},
		{"ack repository ok", repository, "", "", ""},
		{"ack repository wrong type", repository, "scanOnPush: true", "scanOnPush: yes please", `spec.imageScanningConfiguration.scanOnPush: want true or false`},
		{"ack repository required", repository, "  name: botfleet/ecs\n", "", "spec.name: required field missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(tt.doc, tt.old) {
				t.Fatalf("fixture lacks %q", tt.old)
			}
			errs, ok := s.Validate(decode(t, strings.Replace(tt.doc, tt.old, tt.new, 1)))
			if !ok {
				t.Fatal("kind not known")
			}
			got := fmt.Sprint(errs)
			if tt.want == "" {
				if len(errs) > 0 {
					t.Fatalf("errors: %v", errs)
				}
				return
			}
			if len(errs) != 1 || !strings.Contains(got, tt.want) {
				t.Errorf("errors %s\nwant one containing %q", got, tt.want)
			}
		})
	}
}

func TestUnknownKind(t *testing.T) {
	s, err := Load(34)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Validate(map[string]any{"apiVersion": "example.com/v1", "kind": "Thing"}); ok {
		t.Error("Validate of an unknown kind: ok")
	}
	if !s.Knows("argoproj.io/v1alpha1", "ApplicationSet") || !s.Knows("v1", "PersistentVolume") ||
		!s.Knows("iam.services.k8s.aws/v1alpha1", "Role") || !s.Knows("ecr.services.k8s.aws/v1alpha1", "Repository") {
		t.Error("Knows: missing a kind")
	}
}

func TestLoadMissingVersion(t *testing.T) {
	_, err := Load(99)
	if err == nil || !strings.Contains(err.Error(), "no schemas for Kubernetes 1.99 (have 1.34)") {
		t.Fatalf("Load(99) = %v", err)
	}
}
