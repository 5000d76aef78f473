package awsplatform

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/botfleet/botfleet/tools/internal/iampolicy"
	"github.com/botfleet/botfleet/tools/internal/secretstore"
	"github.com/botfleet/botfleet/tools/internal/settings"
)

// Policy is an IAM policy document.
type Policy struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a Policy. Conditions map an operator to
// keys and values; botfleet's use one value per key.
type Statement struct {
	Sid         string                       `json:"Sid,omitempty"`
	Effect      string                       `json:"Effect"`
	Principal   map[string]string            `json:"Principal,omitempty"`
	Action      []string                     `json:"Action,omitempty"`
	NotAction   []string                     `json:"NotAction,omitempty"`
	Resource    []string                     `json:"Resource,omitempty"`
	NotResource []string                     `json:"NotResource,omitempty"`
	Condition   map[string]map[string]string `json:"Condition,omitempty"`
}

func policy(st ...Statement) Policy { return Policy{Version: "2012-10-17", Statement: st} }

// JSON is the policy as the files and the objects hold it: two-space
// indented, with a final newline.
func (p Policy) JSON() string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		panic("awsplatform: encoding a policy: " + err.Error()) // plain strings and maps only
	}
	return b.String()
}

// irsaTrust is the trust policy of a role that only the ServiceAccount
// namespace/name of the cluster may assume.
func irsaTrust(s *settings.Settings, namespace, name string) Policy {
	p := s.AWS.OIDCProvider
	return policy(Statement{
		Effect:    "Allow",
		Principal: map[string]string{"Federated": s.OIDCProviderARN()},
		Action:    []string{"sts:AssumeRoleWithWebIdentity"},
		Condition: map[string]map[string]string{"StringEquals": {
			p + ":sub": "system:serviceaccount:" + namespace + ":" + name,
			p + ":aud": "sts.amazonaws.com",
		}},
	})
}

// botPolicy is a bot role's inline policy in env: what its iam.yaml
// declares, each entry of its resources on its ARNs (placeholders filled),
// the other actions on every resource. The boundary caps it.
func botPolicy(s *settings.Settings, env string, actions []string, resources []iampolicy.Resource) Policy {
	var scoped []Statement
	in := map[string]bool{}
	for i, r := range resources {
		arns := make([]string, len(r.ARNs))
		for j, a := range r.ARNs {
			arns[j] = iampolicy.FillARN(a, s.AWS.AccountID, s.AWS.Region, env)
		}
		acts := slices.Sorted(slices.Values(r.Actions))
		for _, a := range acts {
			in[a] = true
		}
		scoped = append(scoped, Statement{Sid: fmt.Sprintf("Scoped%d", i+1), Effect: "Allow", Action: acts, Resource: arns})
	}
	rest := slices.DeleteFunc(slices.Clone(actions), func(a string) bool { return in[a] })
	if len(rest) == 0 {
		return policy(scoped...)
	}
	return policy(append([]Statement{{Sid: "Declared", Effect: "Allow", Action: rest, Resource: []string{"*"}}}, scoped...)...)
}

// The IAM role actions that take the iam:PermissionsBoundary condition key
// (the IAM Service Authorization Reference): the ones that create a role or
// change what it may do.
var boundaryKeyActions = []string{
	"iam:AttachRolePolicy",
	"iam:CreateRole",
	"iam:DeleteRolePermissionsBoundary",
	"iam:DeleteRolePolicy",
	"iam:DetachRolePolicy",
	"iam:PutRolePermissionsBoundary",
	"iam:PutRolePolicy",
}

// noBoundaryKeyActions are the writes the iam-controller needs that IAM
// gives no iam:PermissionsBoundary key: a condition on it would never hold,
// so they are allowed on botfleet-* roles by name alone. None changes what
// a role may do: its description, who may assume it (still capped by the
// boundary), its tags, its deletion.
var noBoundaryKeyActions = []string{
	"iam:DeleteRole",
	"iam:TagRole",
	"iam:UntagRole",
	"iam:UpdateAssumeRolePolicy",
	"iam:UpdateRole",
	"iam:UpdateRoleDescription",
}

// roleReads are the reads the iam-controller makes of the roles it owns.
var roleReads = []string{
	"iam:GetRole",
	"iam:GetRolePolicy",
	"iam:ListAttachedRolePolicies",
	"iam:ListRolePolicies",
	"iam:ListRoleTags",
}

// roleARN is the ARN of the role name in the settings' account.
func roleARN(s *settings.Settings, name string) string {
	return "arn:aws:iam::" + s.AWS.AccountID + ":role/" + name
}

// notBotRoles are the roles named botfleet-* that are no bot's: the release
// workflow's and the External Secrets Operator's. The iam-controller may
// not touch them.
func notBotRoles(s *settings.Settings) []string {
	out := []string{roleARN(s, ReleaseRole)}
	for _, env := range s.EnvNames() {
		out = append(out, secretstore.RoleARN(s.AWS.AccountID, env))
	}
	return out
}

// ReleaseRole is the role release.yml assumes (README.md, "How a change
// reaches production").
const ReleaseRole = "botfleet-github-release"

// IAMControllerPolicy is the iam-controller's permissions: create and
// change only roles named botfleet-*, only with the bots' boundary, which
// it can neither remove nor replace nor edit.
func IAMControllerPolicy(s *settings.Settings) Policy {
	bots := []string{roleARN(s, settings.RolePrefix+"*")}
	boundary := s.PermissionsBoundaryARN()
	return policy(
		Statement{Sid: "ReadBotRoles", Effect: "Allow", Action: roleReads, Resource: bots},
		Statement{
			Sid: "CreateAndChangeBotRolesOnlyUnderTheBoundary", Effect: "Allow",
			Action:    slices.DeleteFunc(slices.Clone(boundaryKeyActions), func(a string) bool { return a == "iam:DeleteRolePermissionsBoundary" }),
			Resource:  bots,
			Condition: map[string]map[string]string{"StringEquals": {"iam:PermissionsBoundary": boundary}},
		},
		Statement{Sid: "ChangeBotRolesWhereIAMHasNoBoundaryKey", Effect: "Allow", Action: noBoundaryKeyActions, Resource: bots},
		Statement{Sid: "NeverRemoveTheBoundary", Effect: "Deny", Action: []string{"iam:DeleteRolePermissionsBoundary"}, Resource: []string{"*"}},
		Statement{
			Sid: "NeverAnotherBoundary", Effect: "Deny",
			Action:    []string{"iam:CreateRole", "iam:PutRolePermissionsBoundary"},
			Resource:  []string{"*"},
			Condition: map[string]map[string]string{"StringNotEquals": {"iam:PermissionsBoundary": boundary}},
		},
		Statement{
			Sid: "NeverEditTheBoundary", Effect: "Deny",
			Action:   []string{"iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion"},
			Resource: []string{boundary},
		},
		Statement{Sid: "NothingButBotRoles", Effect: "Deny", Action: []string{"iam:*"}, NotResource: bots},
		Statement{Sid: "NotTheRolesNamedBotfleetThatAreNoBots", Effect: "Deny", Action: []string{"iam:*"}, Resource: notBotRoles(s)},
	)
}

// ecrControllerActions are what the ecr-controller calls for a Repository
// with scanning, tag mutability, a lifecycle policy and tags; never a
// repository policy (which could open a repository to other accounts).
var ecrControllerActions = []string{
	"ecr:CreateRepository",
	"ecr:DeleteLifecyclePolicy",
	"ecr:DeleteRepository",
	"ecr:DescribeRepositories",
	"ecr:GetLifecyclePolicy",
	"ecr:GetRepositoryPolicy",
	"ecr:ListTagsForResource",
	"ecr:PutImageScanningConfiguration",
	"ecr:PutImageTagMutability",
	"ecr:PutLifecyclePolicy",
	"ecr:TagResource",
	"ecr:UntagResource",
}

// repositoriesARN is the ARN pattern of the bots' ECR repositories.
func repositoriesARN(s *settings.Settings) string {
	return "arn:aws:ecr:" + s.AWS.Region + ":" + s.AWS.AccountID + ":repository/" + s.AWS.ImagePrefix + "/*"
}

// ECRControllerPolicy is the ecr-controller's permissions: the bots'
// repositories, <imagePrefix>/*, only.
func ECRControllerPolicy(s *settings.Settings) Policy {
	return policy(
		Statement{Sid: "BotRepositories", Effect: "Allow", Action: ecrControllerActions, Resource: []string{repositoriesARN(s)}},
		Statement{Sid: "NoRepositoryPolicies", Effect: "Deny", Action: []string{"ecr:SetRepositoryPolicy"}, Resource: []string{"*"}},
	)
}

// BoundaryPolicy is every bot role's permissions boundary: whatever a
// bot's iam.yaml declares, its role can do nothing in IAM but pass a role
// to ECS tasks (the ecs bot's new task definition revisions keep theirs),
// nothing in Organizations or the account's settings, and not read the
// bots' tokens in Secrets Manager (the External Secrets Operator does).
func BoundaryPolicy(s *settings.Settings) Policy {
	return policy(
		Statement{Sid: "AnythingButIAMAccountsAndSecrets", Effect: "Allow", NotAction: boundaryForbids, Resource: []string{"*"}},
		Statement{
			Sid: "PassRolesToECSTasksOnly", Effect: "Allow",
			Action:    []string{"iam:PassRole"},
			Resource:  []string{"*"},
			Condition: map[string]map[string]string{"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
		},
	)
}

// boundaryForbids are the services no bot role may use.
var boundaryForbids = []string{"account:*", "iam:*", "organizations:*", "secretsmanager:*"}

// service returns an action's service prefix ("iam" of "iam:PassRole").
func service(action string) string {
	p, _, _ := strings.Cut(action, ":")
	return strings.ToLower(p)
}
