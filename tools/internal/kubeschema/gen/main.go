// Command gen writes kubeschema's embedded schema files: the definitions of
// k8s.io/kubernetes' api/openapi-spec/swagger.json and the openAPIV3Schema of
// Argo CD's CRDs (github.com/argoproj/argo-cd/v3's manifests/crds) and of the
// External Secrets Operator's ExternalSecret and SecretStore
// (github.com/external-secrets/external-secrets' config/crds/bases) and of
// the AWS Controllers for Kubernetes' IAM Role and ECR Repository
// (github.com/aws-controllers-k8s/iam-controller's and ecr-controller's
// config/crd/bases), without descriptions, gzipped. It fetches the modules
// with `go mod download`.
//
//	go run ./gen -kubernetes v1.34.4 -argocd v3.5.7 -external-secrets v1.3.2 \
//	  -ack-iam v1.9.1 -ack-ecr v1.6.3 -out data
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"

	kubeschema "github.com/botfleet/botfleet/tools/internal/kubeschema/schemafile"
)

const (
	objectMeta = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
	quantity   = "io.k8s.apimachinery.pkg.api.resource.Quantity"
)

func main() {
	kube := flag.String("kubernetes", "", "k8s.io/kubernetes version, e.g. v1.34.4")
	argo := flag.String("argocd", "", "github.com/argoproj/argo-cd/v3 version, e.g. v3.5.7")
	eso := flag.String("external-secrets", "", "github.com/external-secrets/external-secrets version, e.g. v1.3.2")
	ackIAM := flag.String("ack-iam", "", "github.com/aws-controllers-k8s/iam-controller version, e.g. v1.9.1")
	ackECR := flag.String("ack-ecr", "", "github.com/aws-controllers-k8s/ecr-controller version, e.g. v1.6.3")
	out := flag.String("out", "data", "output directory")
	flag.Parse()
	if err := run(*kube, *argo, *eso, *ackIAM, *ackECR, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(kube, argo, eso, ackIAM, ackECR, out string) error {
	if kube != "" {
		f, err := kubernetes(kube)
		if err != nil {
			return err
		}
		major, minor, _ := strings.Cut(strings.TrimPrefix(kube, "v"), ".")
		minor, _, _ = strings.Cut(minor, ".")
		if err := write(filepath.Join(out, fmt.Sprintf("kubernetes-%s.%s.json.gz", major, minor)), f); err != nil {
			return err
		}
	}
	if argo != "" {
		f, err := argoCD(argo)
		if err != nil {
			return err
		}
		if err := write(filepath.Join(out, "argocd.json.gz"), f); err != nil {
			return err
		}
	}
	if eso != "" {
		f, err := externalSecrets(eso)
		if err != nil {
			return err
		}
		if err := write(filepath.Join(out, "external-secrets.json.gz"), f); err != nil {
			return err
		}
	}
	// The ACK kinds the bots' AWS objects use (manifests/aws): one file per
	// controller, each at the version the bootstrap installs.
	for _, c := range []struct{ version, module, file, crd string }{
		{ackIAM, "github.com/aws-controllers-k8s/iam-controller", "ack-iam.json.gz", "iam.services.k8s.aws_roles.yaml"},
		{ackECR, "github.com/aws-controllers-k8s/ecr-controller", "ack-ecr.json.gz", "ecr.services.k8s.aws_repositories.yaml"},
	} {
		if c.version == "" {
			continue
		}
		f, err := crds(c.module, c.version, "config/crd/bases", []string{c.crd})
		if err != nil {
			return err
		}
		if err := write(filepath.Join(out, c.file), f); err != nil {
			return err
		}
	}
	return nil
}

// download returns the directory of a module version in the module cache.
func download(module, version string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", module+"@"+version)
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(b, &info); jerr != nil || info.Error != "" || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: %v %s", module, version, err, info.Error)
	}
	return info.Dir, nil
}

func kubernetes(version string) (*kubeschema.File, error) {
	dir, err := download("k8s.io/kubernetes", version)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, "api", "openapi-spec", "swagger.json"))
	if err != nil {
		return nil, err
	}
	var spec struct {
		Definitions map[string]map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		return nil, err
	}
	f := &kubeschema.File{
		Source:      "k8s.io/kubernetes@" + version + " api/openapi-spec/swagger.json",
		Kinds:       map[string]string{},
		Definitions: map[string]*kubeschema.Schema{},
	}
	for name, def := range spec.Definitions {
		f.Definitions[name] = convert(def)
		gvks, _ := def["x-kubernetes-group-version-kind"].([]any)
		for _, g := range gvks {
			g := g.(map[string]any)
			av := g["version"].(string)
			if grp := g["group"].(string); grp != "" {
				av = grp + "/" + av
			}
			f.Kinds[kubeschema.KindKey(av, g["kind"].(string))] = name
		}
	}
	// A quantity is a string or a number ("cpu: 1").
	f.Definitions[quantity] = &kubeschema.Schema{Format: kubeschema.FormatQuantity}
	return f, nil
}

func argoCD(version string) (*kubeschema.File, error) {
	return crds("github.com/argoproj/argo-cd/v3", version, "manifests/crds",
		[]string{"application-crd.yaml", "applicationset-crd.yaml", "appproject-crd.yaml"})
}

// externalSecrets is the External Secrets Operator's ExternalSecret and
// SecretStore, the kinds each bot's overlay holds.
func externalSecrets(version string) (*kubeschema.File, error) {
	return crds("github.com/external-secrets/external-secrets", version, "config/crds/bases",
		[]string{"external-secrets.io_externalsecrets.yaml", "external-secrets.io_secretstores.yaml"})
}

// crds reads the named CRDs from dir in a module version: every served
// version of each kind.
func crds(module, version, dir string, names []string) (*kubeschema.File, error) {
	root, err := download(module, version)
	if err != nil {
		return nil, err
	}
	f := &kubeschema.File{
		Source:      module + "@" + version + " " + dir,
		Kinds:       map[string]string{},
		Definitions: map[string]*kubeschema.Schema{},
	}
	kinds := map[string]bool{}
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(dir), name))
		if err != nil {
			return nil, err
		}
		var crd struct {
			Spec struct {
				Group string
				Names struct{ Kind string }
				// Versions' schemas.
				Versions []struct {
					Name   string
					Served bool
					Schema struct {
						OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
					}
				}
			}
		}
		if err := yaml.Unmarshal(b, &crd); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		for _, v := range crd.Spec.Versions {
			if !v.Served || v.Schema.OpenAPIV3Schema == nil {
				continue
			}
			def := crd.Spec.Group + "." + v.Name + "." + crd.Spec.Names.Kind
			s := convert(v.Schema.OpenAPIV3Schema)
			if s.Properties["metadata"] != nil {
				s.Properties["metadata"] = &kubeschema.Schema{Ref: objectMeta}
			}
			f.Definitions[def] = s
			f.Kinds[kubeschema.KindKey(crd.Spec.Group+"/"+v.Name, crd.Spec.Names.Kind)] = def
			kinds[crd.Spec.Names.Kind] = true
		}
	}
	if len(kinds) != len(names) {
		return nil, fmt.Errorf("%s CRDs: want %d kinds, got %d", module, len(names), len(kinds))
	}
	return f, nil
}

// convert keeps the parts of a swagger 2.0 or OpenAPI v3 (CRD) schema that
// kubeschema checks.
func convert(m map[string]any) *kubeschema.Schema {
	if m == nil {
		return nil
	}
	s := &kubeschema.Schema{}
	s.Type, _ = m["type"].(string)
	s.Format, _ = m["format"].(string)
	s.Pattern, _ = m["pattern"].(string)
	if ref, ok := m["$ref"].(string); ok {
		s.Ref = strings.TrimPrefix(ref, "#/definitions/")
	}
	if props, ok := m["properties"].(map[string]any); ok {
		s.Properties = map[string]*kubeschema.Schema{}
		for k, v := range props {
			s.Properties[k] = convert(v.(map[string]any))
		}
	}
	switch ap := m["additionalProperties"].(type) {
	case map[string]any:
		s.AdditionalProperties = convert(ap)
	case bool:
		if ap {
			s.AdditionalProperties = &kubeschema.Schema{}
		}
	}
	if items, ok := m["items"].(map[string]any); ok {
		s.Items = convert(items)
	}
	for _, r := range asList(m["required"]) {
		s.Required = append(s.Required, r.(string))
	}
	s.Enum = asList(m["enum"])
	if b, _ := m["x-kubernetes-int-or-string"].(bool); b {
		s.Type, s.Format = "", kubeschema.FormatIntOrString
	}
	if b, _ := m["x-kubernetes-preserve-unknown-fields"].(bool); b {
		s.PreserveUnknown = true
	}
	if s.Format == kubeschema.FormatIntOrString {
		s.Type = ""
	}
	return s
}

func asList(v any) []any { l, _ := v.([]any); return l }

func write(name string, f *kubeschema.File) error {
	b, err := json.Marshal(f) // map keys sorted: the output is reproducible
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(b); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	fmt.Printf("%s: %d kinds, %d definitions, %d bytes (%d gzipped)\n", name, len(f.Kinds), len(f.Definitions), len(b), buf.Len())
	return os.WriteFile(name, buf.Bytes(), 0o644)
}
