package settings

import (
	"errors"
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

const valid = `
aws:
  accountID: "123456789012"
  region: eu-west-1
  ecrRegistry: 123456789012.dkr.ecr.eu-west-1.amazonaws.com
  imagePrefix: botfleet
  roleARN: arn:aws:iam::{{account}}:role/botfleet-{{bot}}-{{env}}
  oidcProvider: oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF
  permissionsBoundary: arn:aws:iam::{{account}}:policy/botfleet-bot-boundary
git:
  repoURL: https://github.com/botfleet/botfleet.git
  revision: main
  modulePrefix: github.com/botfleet/botfleet
kubernetes:
  version: "1.34"
argocd:
  namespace: argocd
  project: botfleet
environments:
  dev:
    namespace: infra-bot-dev
    efs: {fileSystemID: fs-0123456789abcdef0, accessPointID: fsap-0123456789abcdef0}
  prd:
    namespace: infra-bot-prd
    efs: {fileSystemID: fs-0123456789abcdef0, accessPointID: fsap-0fedcba9876543210}
`

func TestParseValid(t *testing.T) {
	s, err := Parse([]byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.ImageRepo("hello"), "123456789012.dkr.ecr.eu-west-1.amazonaws.com/botfleet/hello"; got != want {
		t.Errorf("ImageRepo = %q, want %q", got, want)
	}
	if got, want := s.RoleARN("ansible", "prd"), "arn:aws:iam::123456789012:role/botfleet-ansible-prd"; got != want {
		t.Errorf("RoleARN = %q, want %q", got, want)
	}
	if got, want := s.RoleName("ansible", "prd"), "botfleet-ansible-prd"; got != want {
		t.Errorf("RoleName = %q, want %q", got, want)
	}
	if got, want := s.PermissionsBoundaryARN(), "arn:aws:iam::123456789012:policy/botfleet-bot-boundary"; got != want {
		t.Errorf("PermissionsBoundaryARN = %q, want %q", got, want)
	}
	if got, want := s.OIDCProviderARN(), "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"; got != want {
		t.Errorf("OIDCProviderARN = %q, want %q", got, want)
	}
	if ns, ok := s.Namespace("prd"); !ok || ns != "infra-bot-prd" {
		t.Errorf("Namespace(prd) = %q, %v", ns, ok)
	}
	if env, ok := s.EnvOfNamespace("infra-bot-dev"); !ok || env != "dev" {
		t.Errorf("EnvOfNamespace(infra-bot-dev) = %q, %v", env, ok)
	}
	if got := s.KubernetesMinor(); got != 34 {
		t.Errorf("KubernetesMinor = %d, want 34", got)
	}
	if got, want := s.Environments["dev"].EFS.VolumeHandle(), "fs-0123456789abcdef0::fsap-0123456789abcdef0"; got != want {
		t.Errorf("VolumeHandle = %q, want %q", got, want)
	}
}

// TestRepoSettings parses the repo's own botfleet.yaml.
func TestRepoSettings(t *testing.T) {
	s, err := Load(os.DirFS("../../.."))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.EnvNames(), ","); got != "dev,prd" {
		t.Errorf("EnvNames = %s, want dev,prd", got)
	}
}

func TestLoadMissing(t *testing.T) {
	if _, err := Load(fstest.MapFS{}); err == nil {
		t.Fatal("Load of an empty FS: no error")
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name, old, new string
		want           string // a substring of the error
	}{
		{"unknown key", "  revision: main", "  revision: main\n  branch: main", `unknown field "git.branch"`},
		{"account", `"123456789012"`, `"1234"`, "aws.accountID: \"1234\" is not a 12-digit"},
		{"region", "region: eu-west-1", "region: Europe", "aws.region:"},
		{"registry", "ecrRegistry: 123456789012.dkr.ecr.eu-west-1.amazonaws.com", "ecrRegistry: docker.io", "aws.ecrRegistry:"},
		{"role placeholder", "{{env}}", "{{stage}}", "unknown placeholder {{stage}}"},
		{"role lacks env", "-{{env}}", "", "aws.roleARN: lacks {{env}}"},
		{"role outside botfleet-*", "role/botfleet-{{bot}}", "role/bots/{{bot}}", "aws.roleARN: the role name must start with botfleet-"},
		{"oidc issuer with https", "oidcProvider: oidc", "oidcProvider: https://oidc", "aws.oidcProvider: \"https://oidc.eks"},
		{"oidc issuer of another region", "oidc.eks.eu-west-1", "oidc.eks.us-east-1", "aws.oidcProvider: is in region us-east-1, aws.region is eu-west-1"},
		{"boundary not a policy", "policy/botfleet-bot-boundary", "role/botfleet-bot-boundary", "aws.permissionsBoundary: \"arn:aws:iam::{{account}}:role/botfleet-bot-boundary\" is not a managed policy ARN"},
		{"boundary in another account", "iam::{{account}}:policy", "iam::210987654321:policy", "aws.permissionsBoundary: is in account 210987654321"},
		{"repo url", "https://github.com/botfleet/botfleet.git", "git@github.com:botfleet/botfleet.git", "git.repoURL:"},
		{"version", `"1.34"`, `"v1.34"`, "kubernetes.version:"},
		{"unknown env", "  prd:", "  stg:", "environments.stg: unknown environment"},
		{"missing env", "  prd:", "  stg:", "environments.prd: missing"},
		{"shared namespace", "namespace: infra-bot-prd", "namespace: infra-bot-dev", "environments.prd.namespace: \"infra-bot-dev\" is also dev's"},
		{"shared access point", "fsap-0fedcba9876543210", "fsap-0123456789abcdef0", "each environment has its own access point"},
		{"file system id", "fileSystemID: fs-0123456789abcdef0, accessPointID: fsap-0f", "fileSystemID: efs-1, accessPointID: fsap-0f", "environments.prd.efs.fileSystemID:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(valid, tt.old) {
				t.Fatalf("fixture lacks %q", tt.old)
			}
			_, err := Parse([]byte(strings.Replace(valid, tt.old, tt.new, 1)))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestValidateTypedErrors(t *testing.T) {
	var s Settings
	err := s.Validate()
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("Validate of the zero value: %v, want *FieldError", err)
	}
	if !strings.HasPrefix(fe.Error(), FileName+": ") {
		t.Errorf("FieldError %q lacks the file name", fe)
	}
}
