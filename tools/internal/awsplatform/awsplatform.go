// Package awsplatform writes what the AWS Controllers for Kubernetes (ACK)
// need to create each bot's AWS resources from the repo: for every bot an
// ECR Repository (ecr.services.k8s.aws) and, for a bot with an iam.yaml,
// an IAM Role (iam.services.k8s.aws) per environment with the IRSA trust
// of the bot's ServiceAccount, the declared actions as its inline policy
// and the bots' permissions boundary, all in manifests/platform/aws/, which
// the Argo CD Application botfleet-aws syncs; the ServiceAccount patch of
// each bot's overlays, which annotates it with that role
// (ServiceAccountPatch); and, for the one-time
// bootstrap, the controllers' Helm values and the IAM policies of the
// controllers and of the boundary (manifests/bootstrap/).
//
// Why ACK and not a release step: no identity in GitHub Actions may write
// IAM. The iam-controller's own IRSA role is the one identity that creates
// roles, and its policy (IAMControllerPolicy) lets it create and change
// only roles named botfleet-*, only with the boundary attached, which it
// can neither remove nor edit. A bot's pull request changes iam.yaml; what
// reaches AWS is at most what the boundary allows.
//
// Every file is generated whole from botfleet.yaml, the bots' iam.yaml and
// the ECR lifecycle policy: `botctl init` and `botctl new` write them, and
// `botctl validate` fails on any difference (Check).
package awsplatform

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	yv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/botfleet/botfleet/tools/internal/iampolicy"
	"github.com/botfleet/botfleet/tools/internal/lifecycle"
	"github.com/botfleet/botfleet/tools/internal/settings"
)

// The layout.
const (
	// Dir holds the ACK objects, one file per bot, and their kustomization.
	Dir = "manifests/platform/aws"
	// BootstrapDir holds the controllers' Helm values and, under iam/, the
	// IAM policies the bootstrap creates by hand.
	BootstrapDir = "manifests/bootstrap"
	// Namespace is where the ACK objects live and the only one the
	// controllers watch.
	Namespace = "botfleet-aws"
	// ControllerNamespace is where the controllers run (their own Fargate
	// profile).
	ControllerNamespace = "ack-system"
	// Project is the AppProject of the Application botfleet-aws, which
	// syncs Dir.
	Project = "botfleet-aws"
)

// botsDir holds the bots, one directory each.
const botsDir = "bots"

// Controller is one ACK controller the bootstrap installs.
type Controller struct {
	Service string // "iam", "ecr"
	Version string // its Helm chart's, whose CRDs kubeschema embeds
	Kind    string // the one kind it reconciles here
}

// Name is its release, ServiceAccount and IAM role name: ack-<service>-controller.
func (c Controller) Name() string { return "ack-" + c.Service + "-controller" }

// Controllers are the two the bootstrap installs, at the versions whose
// CRDs botctl validate checks against (kubeschema.ACKIAMVersion, ACKECRVersion).
var Controllers = []Controller{
	{Service: "iam", Version: "1.9.1", Kind: "Role"},
	{Service: "ecr", Version: "1.6.3", Kind: "Repository"},
}

// File is one generated file.
type File struct {
	Path string // relative to the repo root, slash-separated
	Data []byte
}

// Make returns every file the repo at root should hold under Dir for bots
// (the repo's, validate.Bots), their ServiceAccount patches (in each
// overlay they have) and the bootstrap's generated files, sorted by path. It errs on an iam.yaml or lifecycle policy it cannot read,
// naming the file.
func Make(fsys filesys.FileSystem, root string, s *settings.Settings, bots []string) ([]File, error) {
	abs := func(rel string) string { return filepath.Join(root, filepath.FromSlash(rel)) }
	lc, err := fsys.ReadFile(abs(lifecycle.File))
	if err != nil {
		return nil, fmt.Errorf("reading %s (every bot's ECR repository gets it): %w", lifecycle.File, err)
	}
	var lcBuf bytes.Buffer
	if err := json.Indent(&lcBuf, bytes.TrimSpace(lc), "", "  "); err != nil {
		return nil, fmt.Errorf("%s: %w", lifecycle.File, err)
	}
	lcBuf.WriteByte('\n')
	var files []File
	var resources []string
	for _, bot := range bots {
		var decl *iampolicy.Declaration
		f := path.Join(botsDir, bot, iampolicy.FileName)
		if data, err := fsys.ReadFile(abs(f)); err == nil {
			if decl, err = iampolicy.Parse(data); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
		}
		data, err := botFile(s, bot, decl, lcBuf.String())
		if err != nil {
			return nil, err
		}
		files = append(files, File{Path: path.Join(Dir, bot+".yaml"), Data: data})
		resources = append(resources, bot+".yaml")
		for _, env := range s.EnvNames() {
			if p := ServiceAccountPatchPath(bot, env); fsys.IsDir(abs(path.Dir(p))) {
				var role string
				if decl != nil {
					role = s.RoleARN(bot, env)
				}
				files = append(files, File{Path: p, Data: ServiceAccountPatch(bot, env, role)})
			}
		}
	}
	files = append(files, File{Path: path.Join(Dir, "kustomization.yaml"), Data: kustomization(resources)})
	files = append(files, bootstrapFiles(s)...)
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return files, nil
}

// Managed reports whether rel (slash-separated, relative to the root) is a
// file Make writes or, under Dir, one it would remove.
func Managed(rel string) bool {
	return strings.HasPrefix(rel, Dir+"/") || strings.HasPrefix(rel, BootstrapDir+"/iam/") ||
		slices.ContainsFunc(Controllers, func(c Controller) bool { return rel == valuesFile(c) })
}

// Change is one generated file that differs from the repo's.
type Change struct {
	Path string
	What string // "missing", "differs", "not generated"
}

func (c Change) String() string { return c.Path + ": " + c.What }

// Diff compares files with the repo at root: missing and differing files,
// and files under Dir or BootstrapDir/iam that Make does not write (a
// removed bot's).
func Diff(fsys filesys.FileSystem, root string, files []File) ([]Change, error) {
	var out []Change
	want := map[string]bool{}
	for _, f := range files {
		want[f.Path] = true
		have, err := fsys.ReadFile(filepath.Join(root, filepath.FromSlash(f.Path)))
		switch {
		case err != nil && !fsys.Exists(filepath.Join(root, filepath.FromSlash(f.Path))):
			out = append(out, Change{f.Path, "missing"})
		case err != nil:
			return nil, fmt.Errorf("reading %s: %w", f.Path, err)
		case !bytes.Equal(have, f.Data):
			out = append(out, Change{f.Path, "differs"})
		}
	}
	for _, dir := range []string{Dir, BootstrapDir + "/iam"} {
		d := filepath.Join(root, filepath.FromSlash(dir))
		if !fsys.IsDir(d) {
			continue
		}
		names, err := fsys.ReadDir(d)
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", dir, err)
		}
		for _, n := range names {
			if p := path.Join(dir, n); !want[p] && !fsys.IsDir(filepath.Join(d, n)) {
				out = append(out, Change{p, "not generated"})
			}
		}
	}
	slices.SortFunc(out, func(a, b Change) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// Write makes the repo at root hold files: it writes the missing and
// differing ones and removes the ones Diff calls not generated. It returns
// what it changed.
func Write(fsys filesys.FileSystem, root string, files []File) ([]Change, error) {
	changes, err := Diff(fsys, root, files)
	if err != nil {
		return nil, err
	}
	byPath := map[string][]byte{}
	for _, f := range files {
		byPath[f.Path] = f.Data
	}
	for _, c := range changes {
		p := filepath.Join(root, filepath.FromSlash(c.Path))
		if c.What == "not generated" {
			if err := fsys.RemoveAll(p); err != nil {
				return nil, fmt.Errorf("removing %s: %w", c.Path, err)
			}
			continue
		}
		if err := fsys.MkdirAll(filepath.Dir(p)); err != nil {
			return nil, fmt.Errorf("writing %s: %w", c.Path, err)
		}
		if err := fsys.WriteFile(p, byPath[c.Path]); err != nil {
			return nil, fmt.Errorf("writing %s: %w", c.Path, err)
		}
	}
	return changes, nil
}

// The ACK objects, with the fields botfleet sets.
type (
	objectMeta struct {
		Name        string            `yaml:"name"`
		Namespace   string            `yaml:"namespace"`
		Annotations map[string]string `yaml:"annotations,omitempty"`
	}
	repository struct {
		APIVersion string         `yaml:"apiVersion"`
		Kind       string         `yaml:"kind"`
		Metadata   objectMeta     `yaml:"metadata"`
		Spec       repositorySpec `yaml:"spec"`
	}
	repositorySpec struct {
		Name                       string `yaml:"name"`
		ImageTagMutability         string `yaml:"imageTagMutability"`
		ImageScanningConfiguration struct {
			ScanOnPush bool `yaml:"scanOnPush"`
		} `yaml:"imageScanningConfiguration"`
		LifecyclePolicy string `yaml:"lifecyclePolicy"`
	}
	role struct {
		APIVersion string     `yaml:"apiVersion"`
		Kind       string     `yaml:"kind"`
		Metadata   objectMeta `yaml:"metadata"`
		Spec       roleSpec   `yaml:"spec"`
	}
	roleSpec struct {
		Name                     string            `yaml:"name"`
		Description              string            `yaml:"description"`
		PermissionsBoundary      string            `yaml:"permissionsBoundary"`
		AssumeRolePolicyDocument string            `yaml:"assumeRolePolicyDocument"`
		InlinePolicies           map[string]string `yaml:"inlinePolicies"`
	}
)

// The ACK objects' API versions.
const (
	ECRAPIVersion = "ecr.services.k8s.aws/v1alpha1"
	IAMAPIVersion = "iam.services.k8s.aws/v1alpha1"
)

// deletionPolicy is ACK's annotation that keeps the AWS resource when its
// object is deleted: a repository holds the images prd runs.
const deletionPolicy = "services.k8s.aws/deletion-policy"

// botFile is bot's file under Dir: its Repository, then its Role per
// environment when it declares IAM actions.
func botFile(s *settings.Settings, bot string, decl *iampolicy.Declaration, lifecyclePolicy string) ([]byte, error) {
	src := "botfleet.yaml"
	if decl != nil {
		src = path.Join(botsDir, bot, iampolicy.FileName) + " and botfleet.yaml"
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s's AWS resources, made by the ACK controllers (manifests/README.md).\n", bot)
	fmt.Fprintf(&b, "# Generated from %s by `botctl init` (and `botctl new`):\n", src)
	b.WriteString("# do not edit; `botctl validate` fails when this file differs.\n")
	r := repository{APIVersion: ECRAPIVersion, Kind: "Repository",
		Metadata: objectMeta{Name: s.AWS.ImagePrefix + "-" + bot, Namespace: Namespace, Annotations: map[string]string{deletionPolicy: "retain"}},
		Spec:     repositorySpec{Name: s.AWS.ImagePrefix + "/" + bot, ImageTagMutability: "IMMUTABLE", LifecyclePolicy: lifecyclePolicy}}
	r.Spec.ImageScanningConfiguration.ScanOnPush = true
	objs := []any{r}
	if decl != nil {
		actions := slices.Clone(decl.Actions)
		for _, e := range decl.Extras {
			actions = append(actions, e.Action)
		}
		slices.Sort(actions)
		actions = slices.Compact(actions)
		for _, env := range s.EnvNames() {
			ns, _ := s.Namespace(env)
			name := s.RoleName(bot, env)
			objs = append(objs, role{APIVersion: IAMAPIVersion, Kind: "Role",
				Metadata: objectMeta{Name: name, Namespace: Namespace},
				Spec: roleSpec{
					Name:                     name,
					Description:              fmt.Sprintf("botfleet: the IRSA role of bot %s in %s (ServiceAccount %s/%s), from %s", bot, env, ns, bot, path.Join(botsDir, bot, iampolicy.FileName)),
					PermissionsBoundary:      s.PermissionsBoundaryARN(),
					AssumeRolePolicyDocument: irsaTrust(s, ns, bot).JSON(),
					InlinePolicies:           map[string]string{bot: botPolicy(s, env, actions, decl.Resources).JSON()},
				}})
		}
	}
	for i, o := range objs {
		if i > 0 {
			b.WriteString("---\n")
		}
		if err := encode(&b, o); err != nil {
			return nil, fmt.Errorf("encoding %s's objects: %w", bot, err)
		}
	}
	return b.Bytes(), nil
}

func encode(b *bytes.Buffer, v any) error {
	enc := yv3.NewEncoder(b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return err
	}
	return enc.Close()
}

func kustomization(resources []string) []byte {
	var b bytes.Buffer
	b.WriteString("# Every bot's AWS resources, synced by the Application botfleet-aws\n")
	b.WriteString("# (manifests/argocd/aws.yaml) into " + Namespace + ", where only the ACK controllers\n")
	b.WriteString("# look. Generated by `botctl init` (and `botctl new`): do not edit.\n")
	b.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n")
	if len(resources) == 0 {
		b.WriteString("resources: []\n")
		return b.Bytes()
	}
	b.WriteString("resources:\n")
	for _, r := range resources {
		b.WriteString("  - " + r + "\n")
	}
	return b.Bytes()
}
