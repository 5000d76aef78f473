package awsplatform

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/botfleet/botfleet/tools/internal/settings"
)

// repoSettings are the repo's own botfleet.yaml.
func repoSettings(t *testing.T) *settings.Settings {
	t.Helper()
	s, err := settings.Load(os.DirFS("../../.."))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// roundTrip decodes what the files hold, so that the checks read the JSON,
// not the Go values.
func roundTrip(t *testing.T, p Policy) Policy {
	t.Helper()
	var out Policy
	if err := json.Unmarshal([]byte(p.JSON()), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// isRead reports whether an IAM action only reads.
func isRead(action string) bool {
	_, name, _ := strings.Cut(action, ":")
	return strings.HasPrefix(name, "Get") || strings.HasPrefix(name, "List") || strings.HasPrefix(name, "Describe")
}

// findDeny returns the Deny statements whose actions include action.
func findDeny(p Policy, action string) []Statement {
	var out []Statement
	for _, st := range p.Statement {
		if st.Effect == "Deny" && slices.Contains(st.Action, action) {
			out = append(out, st)
		}
	}
	return out
}

// checkIAMController is the least privilege of the iam-controller's role,
// checked on every build: it may create or change roles named botfleet-*
// only, every change of what a role may do only with the boundary, and it
// can never remove, replace or edit the boundary.
func checkIAMController(p Policy, s *settings.Settings) []string {
	var bad []string
	bots := "arn:aws:iam::" + s.AWS.AccountID + ":role/" + settings.RolePrefix + "*"
	boundary := s.PermissionsBoundaryARN()
	for _, st := range p.Statement {
		if st.Effect != "Allow" {
			continue
		}
		if len(st.NotAction) > 0 || len(st.NotResource) > 0 {
			bad = append(bad, st.Sid+": an Allow with NotAction or NotResource grants what nobody listed")
		}
		for _, r := range st.Resource {
			if r != bots {
				bad = append(bad, st.Sid+": resource "+r+", want only "+bots)
			}
		}
		for _, a := range st.Action {
			switch {
			case strings.Contains(a, "*"):
				bad = append(bad, st.Sid+": "+a+" is a pattern: name each action")
			case !strings.HasPrefix(a, "iam:"):
				bad = append(bad, st.Sid+": "+a+": the iam-controller needs IAM only")
			case slices.Contains(boundaryKeyActions, a):
				if st.Condition["StringEquals"]["iam:PermissionsBoundary"] != boundary {
					bad = append(bad, st.Sid+": "+a+" changes what a role may do: allow it only with StringEquals iam:PermissionsBoundary "+boundary)
				}
			case isRead(a), slices.Contains(noBoundaryKeyActions, a):
			default:
				bad = append(bad, st.Sid+": "+a+": neither a read, nor conditioned on the boundary, nor one IAM gives no boundary key (noBoundaryKeyActions)")
			}
		}
	}
	for _, a := range noBoundaryKeyActions {
		if _, name, _ := strings.Cut(a, ":"); strings.HasPrefix(name, "Put") || strings.HasPrefix(name, "Attach") || strings.HasPrefix(name, "Create") {
			bad = append(bad, "noBoundaryKeyActions: "+a+" grants permissions: it must carry the boundary condition")
		}
	}
	if ds := findDeny(p, "iam:DeleteRolePermissionsBoundary"); len(ds) == 0 || len(ds[0].Condition) > 0 || !slices.Equal(ds[0].Resource, []string{"*"}) {
		bad = append(bad, "no unconditional Deny of iam:DeleteRolePermissionsBoundary on *")
	}
	for _, a := range []string{"iam:PutRolePermissionsBoundary", "iam:CreateRole"} {
		ds := findDeny(p, a)
		if len(ds) == 0 || ds[0].Condition["StringNotEquals"]["iam:PermissionsBoundary"] != boundary {
			bad = append(bad, "no Deny of "+a+" with StringNotEquals iam:PermissionsBoundary "+boundary)
		}
	}
	for _, a := range []string{"iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:SetDefaultPolicyVersion"} {
		if ds := findDeny(p, a); len(ds) == 0 || !slices.Contains(ds[0].Resource, boundary) {
			bad = append(bad, "no Deny of "+a+" on the boundary "+boundary)
		}
	}
	if ds := findDeny(p, "iam:*"); !slices.ContainsFunc(ds, func(st Statement) bool { return slices.Equal(st.NotResource, []string{bots}) }) {
		bad = append(bad, "no Deny of iam:* on every resource but "+bots)
	}
	return bad
}

// checkBoundary: no bot role may do anything in IAM but pass a role to
// ECS tasks, nor use Organizations, the account or Secrets Manager.
func checkBoundary(p Policy) []string {
	var bad []string
	for _, st := range p.Statement {
		if st.Effect != "Allow" {
			continue
		}
		if len(st.NotAction) > 0 {
			for _, f := range []string{"iam:*", "organizations:*", "account:*", "secretsmanager:*"} {
				if !slices.Contains(st.NotAction, f) {
					bad = append(bad, st.Sid+": NotAction lacks "+f+": the boundary lets bot roles use it")
				}
			}
		}
		for _, a := range st.Action {
			switch {
			case service(a) == "iam" && a == "iam:PassRole":
				if st.Condition["StringEquals"]["iam:PassedToService"] == "" {
					bad = append(bad, st.Sid+": iam:PassRole without iam:PassedToService: a bot could pass any role to any service")
				}
			case service(a) == "iam", service(a) == "organizations", service(a) == "account", service(a) == "secretsmanager":
				bad = append(bad, st.Sid+": allows "+a)
			}
		}
	}
	return bad
}

// checkECRController: the bots' repositories only, never a repository
// policy.
func checkECRController(p Policy, s *settings.Settings) []string {
	var bad []string
	want := "arn:aws:ecr:" + s.AWS.Region + ":" + s.AWS.AccountID + ":repository/" + s.AWS.ImagePrefix + "/*"
	for _, st := range p.Statement {
		if st.Effect != "Allow" {
			continue
		}
		if len(st.NotAction) > 0 || len(st.NotResource) > 0 || !slices.Equal(st.Resource, []string{want}) {
			bad = append(bad, st.Sid+": want Resource "+want+" only")
		}
		for _, a := range st.Action {
			if !strings.HasPrefix(a, "ecr:") || strings.Contains(a, "*") || a == "ecr:SetRepositoryPolicy" {
				bad = append(bad, st.Sid+": "+a)
			}
		}
	}
	return bad
}

func TestPoliciesLeastPrivilege(t *testing.T) {
	s := repoSettings(t)
	for _, c := range []struct {
		name string
		bad  []string
	}{
		{"iam-controller", checkIAMController(roundTrip(t, IAMControllerPolicy(s)), s)},
		{"ecr-controller", checkECRController(roundTrip(t, ECRControllerPolicy(s)), s)},
		{"boundary", checkBoundary(roundTrip(t, BoundaryPolicy(s)))},
	} {
		for _, b := range c.bad {
			t.Errorf("%s: %s", c.name, b)
		}
	}
}

// TestChecksCatch makes sure each check fails on the policy it guards
// against.
func TestChecksCatch(t *testing.T) {
	s := repoSettings(t)
	tests := []struct {
		name  string
		check func(Policy) []string
		p     Policy
		edit  func(*Policy)
		want  string
	}{
		{"create without the boundary", func(p Policy) []string { return checkIAMController(p, s) }, IAMControllerPolicy(s),
			func(p *Policy) { p.Statement[1].Condition = nil }, "iam:CreateRole changes what a role may do"},
		{"any role", func(p Policy) []string { return checkIAMController(p, s) }, IAMControllerPolicy(s),
			func(p *Policy) { p.Statement[2].Resource = []string{"arn:aws:iam::" + s.AWS.AccountID + ":role/*"} }, "want only arn:aws:iam::"},
		{"boundary removable", func(p Policy) []string { return checkIAMController(p, s) }, IAMControllerPolicy(s),
			func(p *Policy) {
				p.Statement = slices.DeleteFunc(p.Statement, func(st Statement) bool { return st.Sid == "NeverRemoveTheBoundary" })
			}, "no unconditional Deny of iam:DeleteRolePermissionsBoundary"},
		{"an unlisted write", func(p Policy) []string { return checkIAMController(p, s) }, IAMControllerPolicy(s),
			func(p *Policy) { p.Statement[2].Action = append(p.Statement[2].Action, "iam:CreatePolicy") }, "iam:CreatePolicy: neither a read"},
		{"boundary lets IAM through", checkBoundary, BoundaryPolicy(s),
			func(p *Policy) {
				p.Statement[0].NotAction = []string{"organizations:*", "account:*", "secretsmanager:*"}
			}, "NotAction lacks iam:*"},
		{"PassRole anywhere", checkBoundary, BoundaryPolicy(s),
			func(p *Policy) { p.Statement[1].Condition = nil }, "iam:PassRole without iam:PassedToService"},
		{"repository policies", func(p Policy) []string { return checkECRController(p, s) }, ECRControllerPolicy(s),
			func(p *Policy) { p.Statement[0].Action = append(p.Statement[0].Action, "ecr:SetRepositoryPolicy") }, "ecr:SetRepositoryPolicy"},
		{"every repository", func(p Policy) []string { return checkECRController(p, s) }, ECRControllerPolicy(s),
			func(p *Policy) { p.Statement[0].Resource = []string{"*"} }, "want Resource arn:aws:ecr:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := roundTrip(t, tt.p)
			if bad := tt.check(p); len(bad) > 0 {
				t.Fatalf("the policy as generated fails: %v", bad)
			}
			tt.edit(&p)
			bad := tt.check(p)
			if !slices.ContainsFunc(bad, func(b string) bool { return strings.Contains(b, tt.want) }) {
				t.Errorf("problems %q, want one containing %q", bad, tt.want)
			}
		})
	}
}
