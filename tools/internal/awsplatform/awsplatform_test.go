package awsplatform

import (
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/botfleet/botfleet/tools/internal/kubeschema"
)

const root = "/repo"

func put(t *testing.T, fsys filesys.FileSystem, rel, data string) {
	t.Helper()
	p := path.Join(root, rel)
	if err := fsys.MkdirAll(path.Dir(p)); err != nil {
		t.Fatal(err)
	}
	if err := fsys.WriteFile(p, []byte(data)); err != nil {
		t.Fatal(err)
	}
}

// repoFixture is a repo with the real lifecycle policy, a bot that calls
// AWS (caller) and one that does not (quiet).
func repoFixture(t *testing.T) filesys.FileSystem {
	t.Helper()
	fsys := filesys.MakeFsInMemory()
	lc, err := os.ReadFile(filepath.Join("../../..", ".github/ecr-lifecycle-policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	put(t, fsys, ".github/ecr-lifecycle-policy.json", string(lc))
	put(t, fsys, "bots/caller/manifests/base/kustomization.yaml", "")
	put(t, fsys, "bots/caller/iam.yaml", "actions: [ecs:ListServices, ecs:DescribeServices]\nextras:\n  - {action: iam:PassRole, why: a test}\n"+
		"resources:\n  - {actions: [ecs:DescribeServices], arns: [\"arn:aws:ecs:{{region}}:{{account}}:service/botfleet-{{env}}/*\"]}\n")
	put(t, fsys, "bots/quiet/manifests/base/kustomization.yaml", "")
	return fsys
}

// fixtureBots are repoFixture's bots.
var fixtureBots = []string{"caller", "quiet"}

type object struct {
	Kind     string
	Metadata struct{ Name, Namespace string }
	Spec     map[string]any
}

func objects(t *testing.T, data []byte) []object {
	t.Helper()
	var out []object
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var o object
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatal(err)
		}
		out = append(out, o)
	}
	return out
}

func TestMake(t *testing.T) {
	s := repoSettings(t)
	fsys := repoFixture(t)
	files, err := Make(fsys, root, s, fixtureBots)
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string][]byte{}
	var paths []string
	for _, f := range files {
		byPath[f.Path] = f.Data
		paths = append(paths, f.Path)
	}
	for _, want := range []string{Dir + "/caller.yaml", Dir + "/quiet.yaml", Dir + "/kustomization.yaml", BoundaryFile,
		"manifests/bootstrap/ack-iam-controller.values.yaml", "manifests/bootstrap/iam/ack-ecr-controller.policy.json", "manifests/bootstrap/iam/ack-iam-controller.trust.json"} {
		if !slices.Contains(paths, want) {
			t.Errorf("no %s among %v", want, paths)
		}
	}
	if got := string(byPath[Dir+"/kustomization.yaml"]); !strings.Contains(got, "  - caller.yaml\n  - quiet.yaml\n") {
		t.Errorf("kustomization lists:\n%s", got)
	}

	quiet := objects(t, byPath[Dir+"/quiet.yaml"])
	if len(quiet) != 1 || quiet[0].Kind != "Repository" {
		t.Fatalf("quiet (no iam.yaml): %+v, want its Repository alone", quiet)
	}
	if got := quiet[0].Spec["name"]; got != s.AWS.ImagePrefix+"/quiet" {
		t.Errorf("repository name %v", got)
	}
	if quiet[0].Spec["imageTagMutability"] != "IMMUTABLE" || quiet[0].Spec["imageScanningConfiguration"].(map[string]any)["scanOnPush"] != true {
		t.Errorf("repository spec %v: want immutable tags (release.yml and promote.yml never move one) and scan on push", quiet[0].Spec)
	}
	if !strings.Contains(quiet[0].Spec["lifecyclePolicy"].(string), `"tagPrefixList": [`) {
		t.Errorf("repository lacks the lifecycle policy: %v", quiet[0].Spec["lifecyclePolicy"])
	}

	caller := objects(t, byPath[Dir+"/caller.yaml"])
	if len(caller) != 3 {
		t.Fatalf("caller: %d objects, want a Repository and a Role per environment", len(caller))
	}
	for i, env := range s.EnvNames() {
		r := caller[i+1]
		ns, _ := s.Namespace(env)
		if r.Kind != "Role" || r.Metadata.Name != "botfleet-caller-"+env || r.Spec["name"] != "botfleet-caller-"+env || r.Metadata.Namespace != Namespace {
			t.Errorf("%s: %+v", env, r)
		}
		if r.Spec["permissionsBoundary"] != s.PermissionsBoundaryARN() {
			t.Errorf("%s: boundary %v", env, r.Spec["permissionsBoundary"])
		}
		var trust Policy
		if err := json.Unmarshal([]byte(r.Spec["assumeRolePolicyDocument"].(string)), &trust); err != nil {
			t.Fatal(err)
		}
		st := trust.Statement[0]
		if st.Principal["Federated"] != s.OIDCProviderARN() || st.Condition["StringEquals"][s.AWS.OIDCProvider+":sub"] != "system:serviceaccount:"+ns+":caller" ||
			st.Condition["StringEquals"][s.AWS.OIDCProvider+":aud"] != "sts.amazonaws.com" {
			t.Errorf("%s: trust %+v", env, st)
		}
		var inline Policy
		if err := json.Unmarshal([]byte(r.Spec["inlinePolicies"].(map[string]any)["caller"].(string)), &inline); err != nil {
			t.Fatal(err)
		}
		if got, want := inline.Statement[0].Action, []string{"ecs:ListServices", "iam:PassRole"}; !slices.Equal(got, want) || !slices.Equal(inline.Statement[0].Resource, []string{"*"}) {
			t.Errorf("%s: inline actions %v on %v, want %v (actions and extras no resources entry names, sorted) on *", env, got, inline.Statement[0].Resource, want)
		}
		// resources: the ARNs with this role's account, region and environment.
		wantARN := "arn:aws:ecs:" + s.AWS.Region + ":" + s.AWS.AccountID + ":service/botfleet-" + env + "/*"
		if len(inline.Statement) != 2 || !slices.Equal(inline.Statement[1].Action, []string{"ecs:DescribeServices"}) || !slices.Equal(inline.Statement[1].Resource, []string{wantARN}) {
			t.Errorf("%s: inline statements %+v, want ecs:DescribeServices on %s", env, inline.Statement, wantARN)
		}
	}
}

func TestWriteIsIdempotentAndRemovesStale(t *testing.T) {
	s := repoSettings(t)
	fsys := repoFixture(t)
	put(t, fsys, Dir+"/gone.yaml", "# a removed bot's\n")
	put(t, fsys, Dir+"/notes/keep.md", "a directory is no generated file")
	files, err := Make(fsys, root, s, fixtureBots)
	if err != nil {
		t.Fatal(err)
	}
	changes, err := Write(fsys, root, files)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(changes, Change{Dir + "/gone.yaml", "not generated"}) || !slices.Contains(changes, Change{Dir + "/caller.yaml", "missing"}) {
		t.Errorf("first write: %v", changes)
	}
	if fsys.Exists(path.Join(root, Dir, "gone.yaml")) {
		t.Error("the removed bot's file stayed")
	}
	if again, err := Diff(fsys, root, files); err != nil || len(again) != 0 {
		t.Errorf("after Write, Diff = %v, %v; want nothing", again, err)
	}
	put(t, fsys, "bots/quiet/iam.yaml", "actions: [s3:GetObject]\n")
	files, err = Make(fsys, root, s, fixtureBots)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := Diff(fsys, root, files); !slices.Equal(d, []Change{{Dir + "/quiet.yaml", "differs"}}) {
		t.Errorf("after a new iam.yaml, Diff = %v", d)
	}
}

func TestMakeBadInput(t *testing.T) {
	s := repoSettings(t)
	fsys := repoFixture(t)
	put(t, fsys, "bots/caller/iam.yaml", "action: [ecs:ListServices]\n")
	if _, err := Make(fsys, root, s, fixtureBots); err == nil || !strings.Contains(err.Error(), "bots/caller/iam.yaml") {
		t.Errorf("a bad iam.yaml: %v, want an error naming it", err)
	}
	fsys = repoFixture(t)
	if err := fsys.RemoveAll(path.Join(root, ".github")); err != nil {
		t.Fatal(err)
	}
	if _, err := Make(fsys, root, s, fixtureBots); err == nil || !strings.Contains(err.Error(), ".github/ecr-lifecycle-policy.json") {
		t.Errorf("no lifecycle policy: %v, want an error naming it", err)
	}
}

// TestControllerVersions: the charts the bootstrap installs are the ones
// whose CRDs validate checks the objects against.
func TestControllerVersions(t *testing.T) {
	want := map[string]string{"iam": kubeschema.ACKIAMVersion, "ecr": kubeschema.ACKECRVersion}
	for _, c := range Controllers {
		if c.Version != want[c.Service] {
			t.Errorf("%s: chart %s, kubeschema embeds the CRDs of %s", c.Name(), c.Version, want[c.Service])
		}
	}
}
