package workflows

import (
	"strings"
	"testing"
)

func TestCheckProtected(t *testing.T) {
	p := Protected{Environment: "release", Secrets: []string{"DEPLOY_KEY"}, Roles: []string{"botfleet-github-release"}}
	job := func(body string) string {
		return "on: push\njobs:\n  bump:\n    runs-on: ubuntu-24.04\n" + body
	}
	const checkout = "    steps:\n      - uses: actions/checkout@x\n        with:\n          ssh-key: ${{ secrets.DEPLOY_KEY }}\n"
	const aws = "    steps:\n      - uses: aws-actions/configure-aws-credentials@x\n        with:\n          role-to-assume: arn:aws:iam::${{ needs.a.outputs.account }}:role/botfleet-github-release\n"
	tests := []struct {
		name, yaml string
		want       string // a problem's text; "" for none
	}{
		{"deploy key in the environment", job("    environment: release\n" + checkout), ""},
		{"environment as a mapping", job("    environment:\n      name: release\n      url: https://example.com\n" + checkout), ""},
		{"deploy key without environment", job(checkout), "f.yml:3:3: jobs.bump: uses the secret DEPLOY_KEY without `environment: release`: only that environment's jobs get them, and only on main"},
		{"another environment", job("    environment: staging\n" + checkout), `f.yml:5:18: jobs.bump: uses the secret DEPLOY_KEY in environment "staging": want release, the one only main may use`},
		{"environment from an expression", job("    environment: ${{ inputs.env }}\n" + checkout), `jobs.bump: uses the secret DEPLOY_KEY with environment "${{ inputs.env }}": name release literally`},
		{"index syntax", job("    env:\n      K: ${{ secrets['DEPLOY_KEY'] }}\n"), "uses the secret DEPLOY_KEY without"},
		{"a test of the secret", job("    steps:\n      - env:\n          HAS_KEY: ${{ secrets.DEPLOY_KEY != '' }}\n        run: test \"$HAS_KEY\" = true\n"), "uses the secret DEPLOY_KEY without"},
		{"every secret", job("    env:\n      ALL: ${{ toJSON(secrets) }}\n"), "uses every secret (toJSON(secrets)) without"},
		{"push role without environment", job(aws), "jobs.bump: uses the role botfleet-github-release without `environment: release`"},
		{"push role in the environment", job("    environment: release\n" + aws), ""},
		{"another secret", job("    env:\n      T: ${{ secrets.GITHUB_TOKEN }}\n"), ""},
		{"a longer secret's name", job("    env:\n      T: ${{ secrets.DEPLOY_KEY_OLD }}\n"), ""},
		{"the workflow's env", "on: push\nenv:\n  KEY: ${{ secrets.DEPLOY_KEY }}\njobs:\n  a:\n    environment: release\n    runs-on: x\n", "f.yml:3:3: env: hands the secret DEPLOY_KEY to every job: set it in the jobs that declare environment release"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problems, err := CheckProtected("f.yml", []byte(tt.yaml), p)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, pr := range problems {
				got = append(got, pr.String())
			}
			switch {
			case tt.want == "" && len(got) > 0:
				t.Errorf("problems %q, want none", got)
			case tt.want != "" && (len(got) != 1 || !strings.Contains(got[0], tt.want)):
				t.Errorf("problems %q, want one with %q", got, tt.want)
			}
		})
	}
	if _, err := CheckProtected("broken.yml", []byte("jobs: [\n"), p); err == nil {
		t.Error("broken YAML: no error")
	}
}
