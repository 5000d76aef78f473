package iampolicy

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/botfleet/botfleet/tools/internal/testenv"
)

const ecsBot = "../../../bots/ecs"

// TestOpsOfTheECSBot finds the ecs bot's calls: each method of ecsAPI and
// ecrAPI, which the SDK's clients implement, once.
func TestOpsOfTheECSBot(t *testing.T) {
	ops, err := Ops(t.Context(), ecsBot)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, op := range ops {
		got = append(got, op.String())
		if !strings.HasPrefix(op.Pos, "ecs.go:") {
			t.Errorf("%s at %q, want ecs.go:<line>", op, op.Pos)
		}
	}
	want := []string{"ecr.DescribeImages", "ecs.DeregisterTaskDefinition", "ecs.DescribeServiceRevisions", "ecs.DescribeServices",
		"ecs.DescribeTaskDefinition", "ecs.DescribeTasks", "ecs.ListServiceDeployments", "ecs.ListServices", "ecs.ListTasks",
		"ecs.RegisterTaskDefinition", "ecs.UpdateService"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ops (-want +got):\n%s", diff)
	}
}

func TestCheck(t *testing.T) {
	ops, err := Ops(t.Context(), ecsBot)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(ecsBot + "/" + FileName)
	if err != nil {
		t.Fatal(err)
	}
	const file = "bots/ecs/iam.yaml"
	// Where the code shows UpdateService: its line in ecsAPI, read from
	// the source so that moving the code moves the expectation.
	update := testenv.Line(t, ecsBot+"/ecs.go", `^\s+UpdateService\(`)
	tests := []struct {
		name, old, new string
		extra          string // appended to the file
		want           []string
	}{
		{name: "as committed"},
		{name: "a called action missing", old: "  - ecs:UpdateService\n", new: "",
			want: []string{file + ": ecs:UpdateService missing: the code calls ecs.UpdateService (" + update + "); add it under actions",
				file + ": resources[0]: ecs:UpdateService is not under actions or extras: declare it there, or remove it here"}},
		{name: "an action no call needs", old: "  - ecs:UpdateService\n", new: "  - ecs:UpdateService\n  - ecs:DeleteService\n",
			want: []string{file + ": ecs:DeleteService: no call in the code needs it: remove it, or move it to extras with why"}},
		{name: "an extra without why", old: "    why: a new task definition revision keeps the task and execution roles of the one it copies\n", new: "    why: \"\"\n",
			want: []string{file + ": extras: iam:PassRole has no why: say which call or AWS feature needs it"}},
		// resources: declared actions, once each, on ARNs of their service.
		{name: "a scoped action not declared", old: "  - actions: [ecs:DescribeTasks]\n", new: "  - actions: [ecs:DescribeTasks, ecs:DeleteService]\n",
			want: []string{file + ": resources[2]: ecs:DeleteService is not under actions or extras: declare it there, or remove it here"}},
		{name: "an action scoped twice", old: "  - actions: [ecs:DescribeTasks]\n", new: "  - actions: [ecs:DescribeTasks, ecs:UpdateService]\n",
			want: []string{file + ": resources[2]: ecs:UpdateService is scoped in resources[0] too: keep one entry"}},
		{name: "an ARN of another service", old: `"arn:aws:ecr:{{region}}`, new: `"arn:aws:ecs:{{region}}`,
			want: []string{file + ": resources[4]: arn:aws:ecs:{{region}}:{{account}}:repository/* is an ARN of ecs, but ecr:DescribeImages is an action of ecr: scope it to ecr ARNs, in an entry of its own"}},
		{name: "not an ARN", old: `"arn:aws:ecs:{{region}}:{{account}}:task/botfleet-*/*"`, new: `"ecs:task/*"`,
			want: []string{file + `: resources[2]: "ecs:task/*" is not an ARN: want arn:aws:<service>:<region>:<account>:<resource>, e.g. arn:aws:ecs:{{region}}:{{account}}:service/botfleet-{{env}}/*`}},
		{name: "an unknown placeholder", old: "task/botfleet-*/*", new: "task/{{cluster}}/*",
			want: []string{file + ": resources[2]: arn:aws:ecs:{{region}}:{{account}}:task/{{cluster}}/*: unknown placeholder: use {{account}}, {{region}} or {{env}}"}},
		{name: "a called action as an extra", old: "  - ecs:UpdateService\n", new: "", extra: "  - action: ecs:UpdateService\n    why: deploys\n",
			want: []string{file + ": ecs:UpdateService missing: the code calls ecs.UpdateService (" + update + "); add it under actions",
				file + ": extras: ecs:UpdateService is needed by a call (ecs.UpdateService): move it to actions"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(string(data), tt.old, tt.new, 1) + tt.extra
			if tt.old != "" && src == string(data) {
				t.Fatalf("%q not in iam.yaml", tt.old)
			}
			d, err := Parse([]byte(src))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, Check(file, d, ops)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseIsStrict(t *testing.T) {
	if _, err := Parse([]byte("actions: [ecs:ListTasks]\nextra: []\n")); err == nil || !strings.Contains(err.Error(), "extra") {
		t.Errorf("err = %v, want the unknown field named", err)
	}
}
