package workflows

import (
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Protected names the release's credentials and the GitHub environment that
// guards them. The deploy key may push to main past its protection, and the
// AWS role pushes images; both live where only main's jobs reach them: the
// secret in the environment, whose deployment branch policy admits main
// alone, and the role behind a trust policy that accepts only the OIDC
// subject of jobs that name the environment
// (repo:<owner>/<repo>:environment:<name>).
type Protected struct {
	Environment string   // e.g. release
	Secrets     []string // e.g. DEPLOY_KEY
	Roles       []string // IAM role names, e.g. botfleet-github-release
}

// CheckProtected reports each job of a workflow that uses one of p's
// secrets or roles (by name, in any value of the job: an expression, an
// input, a role ARN) without naming p.Environment as its environment, and
// each workflow-level env that hands a secret to every job. name is used in
// the problems only.
func CheckProtected(name string, data []byte, p Protected) ([]Problem, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", name, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	var patterns []*regexp.Regexp
	for _, s := range p.Secrets {
		q := regexp.QuoteMeta(s)
		patterns = append(patterns, regexp.MustCompile(`secrets\s*(\.\s*`+q+`\b|\[\s*['"]`+q+`['"]\s*\])`))
	}
	allSecrets := regexp.MustCompile(`toJSON\(\s*secrets\s*\)`)
	uses := func(n *yaml.Node) string {
		var found string
		walk(n, func(v string) bool {
			for i, re := range patterns {
				if re.MatchString(v) {
					found = "the secret " + p.Secrets[i]
					return false
				}
			}
			if allSecrets.MatchString(v) {
				found = "every secret (toJSON(secrets))"
				return false
			}
			for _, role := range p.Roles {
				if strings.Contains(v, "role/"+role) {
					found = "the role " + role
					return false
				}
			}
			return true
		})
		return found
	}

	top := deref(doc.Content[0])
	var problems []Problem
	if env := field(top, "env"); env != nil {
		if what := uses(env); what != "" {
			problems = append(problems, Problem{File: name, Line: env.Line, Column: env.Column, Key: "env",
				Msg: fmt.Sprintf("hands %s to every job: set it in the jobs that declare environment %s", what, p.Environment)})
		}
	}
	jobs := field(top, "jobs")
	if jobs == nil || jobs.Kind != yaml.MappingNode {
		return problems, nil
	}
	for i := 0; i+1 < len(jobs.Content); i += 2 {
		id, job := jobs.Content[i], deref(jobs.Content[i+1])
		what := uses(job)
		if what == "" {
			continue
		}
		env := field(job, "environment")
		envName := env
		if env != nil && env.Kind == yaml.MappingNode {
			envName = field(env, "name")
		}
		at := id
		if env != nil {
			at = env
		}
		pr := Problem{File: name, Line: at.Line, Column: at.Column, Key: "jobs." + id.Value}
		switch {
		case envName == nil || envName.Kind != yaml.ScalarNode:
			pr.Msg = fmt.Sprintf("uses %s without `environment: %s`: only that environment's jobs get them, and only on main", what, p.Environment)
		case strings.Contains(envName.Value, "${{"):
			pr.Msg = fmt.Sprintf("uses %s with environment %q: name %s literally, so that it can be checked", what, envName.Value, p.Environment)
		case envName.Value != p.Environment:
			pr.Msg = fmt.Sprintf("uses %s in environment %q: want %s, the one only main may use", what, envName.Value, p.Environment)
		default:
			continue
		}
		problems = append(problems, pr)
	}
	return problems, nil
}

// walk calls f with each scalar under n (keys too) until f returns false.
func walk(n *yaml.Node, f func(string) bool) bool {
	n = deref(n)
	if n == nil {
		return true
	}
	if n.Kind == yaml.ScalarNode {
		return f(n.Value)
	}
	for _, c := range n.Content {
		if !walk(c, f) {
			return false
		}
	}
	return true
}
