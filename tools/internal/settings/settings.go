// Package settings loads botfleet.yaml, the repo's settings: AWS account and
// region, ECR registry, Git repo, target Kubernetes version, Argo CD names and
// the environments with their namespaces and EFS access points.
//
// Argo CD renders overlays without botfleet's tools, so the overlays and
// manifests/ carry these values as literals; botctl validate compares them
// with the settings.
package settings

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"

	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// FileName is the settings file, at the repo root.
const FileName = "botfleet.yaml"

// Settings is botfleet.yaml. Parse returns it validated; its methods assume a
// valid value.
type Settings struct {
	AWS          AWS                    `json:"aws"`
	Git          Git                    `json:"git"`
	Kubernetes   Kubernetes             `json:"kubernetes"`
	ArgoCD       ArgoCD                 `json:"argocd"`
	Environments map[string]Environment `json:"environments"`
}

// AWS is the account the bots run in.
type AWS struct {
	AccountID   string `json:"accountID"`
	Region      string `json:"region"`
	ECRRegistry string `json:"ecrRegistry"`
	// ImagePrefix is the first part of every bot's ECR repository name.
	ImagePrefix string `json:"imagePrefix"`
	// RoleARN is a pattern with {{account}}, {{bot}} and {{env}}. Its
	// role name starts with RolePrefix: the ACK iam-controller may create
	// no other roles.
	RoleARN string `json:"roleARN"`
	// OIDCProvider is the cluster's IAM OIDC provider, its issuer without
	// https:// (oidc.eks.<region>.amazonaws.com/id/<ID>): the bots' roles
	// trust their ServiceAccounts through it.
	OIDCProvider string `json:"oidcProvider"`
	// PermissionsBoundary is the ARN pattern ({{account}}) of the managed
	// policy every bot role gets as its permissions boundary, which the
	// iam-controller must attach and cannot remove.
	PermissionsBoundary string `json:"permissionsBoundary"`
}

// RolePrefix starts the name of every role botfleet's automation creates.
const RolePrefix = "botfleet-"

// Git is the repository Argo CD follows.
type Git struct {
	RepoURL      string `json:"repoURL"`
	Revision     string `json:"revision"`
	ModulePrefix string `json:"modulePrefix"`
}

// Kubernetes is the target cluster.
type Kubernetes struct {
	// Version is "major.minor", e.g. "1.34".
	Version string `json:"version"`
}

// ArgoCD names Argo CD's namespace and the bots' AppProjects.
type ArgoCD struct {
	Namespace string `json:"namespace"`
	// Project names the bots' AppProjects: Project-<env>, one per
	// environment.
	Project string `json:"project"`
}

// EnvProject is the AppProject of the Applications of env's bots.
func (a ArgoCD) EnvProject(env string) string { return a.Project + "-" + env }

// Environment is one of the environments a bot is deployed to.
type Environment struct {
	Namespace string `json:"namespace"`
	EFS       EFS    `json:"efs"`
}

// EFS names the environment's EFS file system and access point.
type EFS struct {
	FileSystemID  string `json:"fileSystemID"`
	AccessPointID string `json:"accessPointID"`
}

// VolumeHandle is the EFS CSI driver's volumeHandle of the environment's
// PersistentVolume: "fs-…::fsap-…".
func (e EFS) VolumeHandle() string { return e.FileSystemID + "::" + e.AccessPointID }

// Envs are the environment names botkit knows (BOT_ENV), in deploy order.
var Envs = []string{"dev", "prd"}

// FieldError is one invalid value in the settings file.
type FieldError struct {
	Field string // e.g. "aws.region"
	Msg   string
}

func (e *FieldError) Error() string { return FileName + ": " + e.Field + ": " + e.Msg }

// Load reads FileName from the root of fsys and parses it.
func Load(fsys fs.FS) (*Settings, error) {
	data, err := fs.ReadFile(fsys, FileName)
	if err != nil {
		return nil, fmt.Errorf("reading settings: %w", err)
	}
	return Parse(data)
}

// Parse decodes a settings file strictly (unknown keys are errors) and
// validates it. A validation error joins one *FieldError per problem.
func Parse(data []byte) (*Settings, error) {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", FileName, err)
	}
	var s Settings
	strict, err := kjson.UnmarshalStrict(js, &s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", FileName, err)
	}
	if err := errors.Join(strict...); err != nil {
		return nil, fmt.Errorf("%s: %w", FileName, err)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

var (
	accountRe   = regexp.MustCompile(`^[0-9]{12}$`)
	regionRe    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	registryRe  = regexp.MustCompile(`^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com$`)
	dnsLabelRe  = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	fsRe        = regexp.MustCompile(`^fs-[0-9a-f]{8,17}$`)
	fsapRe      = regexp.MustCompile(`^fsap-[0-9a-f]{8,17}$`)
	versionRe   = regexp.MustCompile(`^1\.[0-9]{1,3}$`)
	oidcRe      = regexp.MustCompile(`^oidc\.eks\.([a-z0-9-]+)\.amazonaws\.com/id/[0-9A-F]{32}$`)
	boundaryRe  = regexp.MustCompile(`^arn:aws:iam::(\{\{account\}\}|[0-9]{12}):policy/[A-Za-z0-9+=,.@_-]+$`)
	placeholder = regexp.MustCompile(`\{\{[^}]*\}\}`)
)

// Validate reports every invalid field, joined; nil when all are valid.
func (s *Settings) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	match := func(field, value string, re *regexp.Regexp, want string) {
		if !re.MatchString(value) {
			bad(field, "%q is not %s", value, want)
		}
	}
	match("aws.accountID", s.AWS.AccountID, accountRe, "a 12-digit AWS account id")
	match("aws.region", s.AWS.Region, regionRe, "an AWS region like eu-west-1")
	match("aws.ecrRegistry", s.AWS.ECRRegistry, registryRe, "an ECR registry host (<account>.dkr.ecr.<region>.amazonaws.com)")
	match("aws.imagePrefix", s.AWS.ImagePrefix, dnsLabelRe, "one lowercase path segment")
	if !strings.HasPrefix(s.AWS.RoleARN, "arn:aws:iam::") {
		bad("aws.roleARN", "%q does not start with arn:aws:iam::", s.AWS.RoleARN)
	}
	for _, p := range placeholder.FindAllString(s.AWS.RoleARN, -1) {
		if !slices.Contains([]string{"{{account}}", "{{bot}}", "{{env}}"}, p) {
			bad("aws.roleARN", "unknown placeholder %s; want {{account}}, {{bot}} or {{env}}", p)
		}
	}
	for _, p := range []string{"{{bot}}", "{{env}}"} {
		if !strings.Contains(s.AWS.RoleARN, p) {
			bad("aws.roleARN", "lacks %s: every bot and environment has its own role", p)
		}
	}
	if _, name, ok := strings.Cut(s.AWS.RoleARN, ":role/"); !ok || !strings.HasPrefix(name, RolePrefix) {
		bad("aws.roleARN", "the role name must start with %s and have no path (…:role/%s{{bot}}-{{env}}): the iam-controller's policy lets it create only roles named %s*", RolePrefix, RolePrefix, RolePrefix)
	}
	if m := oidcRe.FindStringSubmatch(s.AWS.OIDCProvider); m == nil {
		bad("aws.oidcProvider", "%q is not an EKS OIDC issuer without https:// (oidc.eks.<region>.amazonaws.com/id/<32 hex digits>); print it with: aws eks describe-cluster --name <cluster> --query cluster.identity.oidc.issuer --output text", s.AWS.OIDCProvider)
	} else if m[1] != s.AWS.Region {
		bad("aws.oidcProvider", "is in region %s, aws.region is %s: the cluster's issuer is in the cluster's region", m[1], s.AWS.Region)
	}
	if m := boundaryRe.FindStringSubmatch(s.AWS.PermissionsBoundary); m == nil {
		bad("aws.permissionsBoundary", "%q is not a managed policy ARN (arn:aws:iam::{{account}}:policy/<name>); its document is manifests/bootstrap/iam/bot-boundary.json", s.AWS.PermissionsBoundary)
	} else if m[1] != "{{account}}" && m[1] != s.AWS.AccountID {
		bad("aws.permissionsBoundary", "is in account %s, aws.accountID is %s: write {{account}}", m[1], s.AWS.AccountID)
	}
	if !strings.HasPrefix(s.Git.RepoURL, "https://") {
		bad("git.repoURL", "%q is not an https:// URL", s.Git.RepoURL)
	}
	if s.Git.Revision == "" {
		bad("git.revision", "must not be empty")
	}
	if s.Git.ModulePrefix == "" {
		bad("git.modulePrefix", "must not be empty")
	}
	match("kubernetes.version", s.Kubernetes.Version, versionRe, `a version like "1.34"`)
	match("argocd.namespace", s.ArgoCD.Namespace, dnsLabelRe, "a namespace name")
	match("argocd.project", s.ArgoCD.Project, dnsLabelRe, "a DNS label")

	namespaces := map[string]string{}
	accessPoints := map[string]string{}
	for _, env := range Envs {
		if _, ok := s.Environments[env]; !ok {
			bad("environments."+env, "missing")
		}
	}
	for _, env := range s.EnvNames() {
		e := s.Environments[env]
		f := "environments." + env
		if !slices.Contains(Envs, env) {
			bad(f, "unknown environment; BOT_ENV takes %s", strings.Join(Envs, " or "))
		}
		match(f+".namespace", e.Namespace, dnsLabelRe, "a namespace name")
		if other, ok := namespaces[e.Namespace]; ok {
			bad(f+".namespace", "%q is also %s's: environments never share a namespace", e.Namespace, other)
		}
		namespaces[e.Namespace] = env
		match(f+".efs.fileSystemID", e.EFS.FileSystemID, fsRe, "an EFS file system id (fs-…)")
		match(f+".efs.accessPointID", e.EFS.AccessPointID, fsapRe, "an EFS access point id (fsap-…)")
		if other, ok := accessPoints[e.EFS.AccessPointID]; ok {
			bad(f+".efs.accessPointID", "%q is also %s's: each environment has its own access point", e.EFS.AccessPointID, other)
		}
		accessPoints[e.EFS.AccessPointID] = env
	}
	return errors.Join(errs...)
}

// EnvNames returns the configured environment names, sorted.
func (s *Settings) EnvNames() []string {
	names := make([]string, 0, len(s.Environments))
	for name := range s.Environments {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Namespace returns env's namespace; ok is false for an unknown env.
func (s *Settings) Namespace(env string) (ns string, ok bool) {
	e, ok := s.Environments[env]
	return e.Namespace, ok
}

// EnvOfNamespace returns the environment whose namespace is ns.
func (s *Settings) EnvOfNamespace(ns string) (env string, ok bool) {
	for name, e := range s.Environments {
		if e.Namespace == ns {
			return name, true
		}
	}
	return "", false
}

// ImageRepo returns bot's image repository without a tag:
// <registry>/<prefix>/<bot>.
func (s *Settings) ImageRepo(bot string) string {
	return s.AWS.ECRRegistry + "/" + s.AWS.ImagePrefix + "/" + bot
}

// RoleARN returns the IRSA role ARN of bot in env.
func (s *Settings) RoleARN(bot, env string) string {
	return strings.NewReplacer("{{account}}", s.AWS.AccountID, "{{bot}}", bot, "{{env}}", env).Replace(s.AWS.RoleARN)
}

// RoleName returns the name of bot's IRSA role in env (RoleARN's part
// after :role/).
func (s *Settings) RoleName(bot, env string) string {
	_, name, _ := strings.Cut(s.RoleARN(bot, env), ":role/")
	return name
}

// PermissionsBoundaryARN returns the ARN of the bots' permissions boundary.
func (s *Settings) PermissionsBoundaryARN() string {
	return strings.ReplaceAll(s.AWS.PermissionsBoundary, "{{account}}", s.AWS.AccountID)
}

// OIDCProviderARN returns the ARN of the cluster's IAM OIDC provider.
func (s *Settings) OIDCProviderARN() string {
	return "arn:aws:iam::" + s.AWS.AccountID + ":oidc-provider/" + s.AWS.OIDCProvider
}

// KubernetesMinor returns the minor number of the target version ("1.34"
// gives 34). It panics on settings that did not pass Validate.
func (s *Settings) KubernetesMinor() int {
	_, minor, ok := strings.Cut(s.Kubernetes.Version, ".")
	n, err := strconv.Atoi(minor)
	if !ok || err != nil {
		panic("settings: kubernetes.version " + s.Kubernetes.Version + " was not validated")
	}
	return n
}
