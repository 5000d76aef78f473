// Package iampolicy checks a bot's IAM declaration (bots/<bot>/iam.yaml)
// against the AWS API operations its code calls, so that least privilege
// is kept by the build: a call without permission, or a permission no call
// needs, fails `botctl validate` with the file and the fix.
//
// The operations are found with go/types over the bot's own package: the
// methods of the SDK's service clients (github.com/aws/aws-sdk-go-v2/
// service/<svc>.Client) it calls directly, the methods of every interface
// it declares that such a client implements (bots call AWS through narrow
// interfaces), and the paginators and waiters it makes. SDK operations do
// not map one to one to IAM actions: actionsOf holds the exceptions, and
// what no call shows (iam:PassRole, a tag-on-create) is declared under
// extras with why.
package iampolicy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// FileName is a bot's IAM declaration, in its directory.
const FileName = "iam.yaml"

// sdkPrefix is the import path prefix of the SDK's service packages.
const sdkPrefix = "github.com/aws/aws-sdk-go-v2/service/"

// Op is one AWS API operation: the SDK's service package and method.
type Op struct {
	Service, Name string // "ecs", "DescribeServices"
	Pos           string // where the code shows it, file:line
}

func (o Op) String() string { return o.Service + "." + o.Name }

// actionsOf maps the operations whose IAM actions are not <service>:<Name>.
var actionsOf = map[string][]string{
	"s3.ListObjectsV2":           {"s3:ListBucket"},
	"s3.HeadObject":              {"s3:GetObject"},
	"s3.HeadBucket":              {"s3:ListBucket"},
	"sts.GetCallerIdentity":      nil, // needs no permission
	"ecr.GetDownloadUrlForLayer": {"ecr:GetDownloadUrlForLayer"},
}

// waiters maps the SDK's waiters to the operation each polls.
var waiters = map[string]string{
	"ecs.NewServicesStableWaiter":   "DescribeServices",
	"ecs.NewServicesInactiveWaiter": "DescribeServices",
	"ecs.NewTasksRunningWaiter":     "DescribeTasks",
	"ecs.NewTasksStoppedWaiter":     "DescribeTasks",
}

// iamPrefix maps SDK packages whose IAM prefix differs from their name.
var iamPrefix = map[string]string{"elasticloadbalancingv2": "elasticloadbalancing", "cloudwatchlogs": "logs", "sfn": "states"}

// Actions returns the IAM actions op needs.
func Actions(op Op) []string {
	if a, ok := actionsOf[op.String()]; ok {
		return a
	}
	p := op.Service
	if x, ok := iamPrefix[p]; ok {
		p = x
	}
	return []string{p + ":" + op.Name}
}

// Ops type-checks the Go package in dir (non-test files, with its
// dependencies' export data from `go list -export`) and returns the AWS
// operations it calls, sorted, each once.
func Ops(ctx context.Context, dir string) ([]Op, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-export", "-deps", "-json=ImportPath,Export,Dir,GoFiles,Name", ".")
	cmd.Dir = dir
	// Each bot builds alone (its image does): its own go.mod and go.sum
	// decide, not the workspace.
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go list -export in %s: %w: %s", dir, err, bytes.TrimSpace(stderr.Bytes()))
	}
	type pkg struct {
		ImportPath, Export, Dir, Name string
		GoFiles                       []string
	}
	exports := map[string]string{}
	var main pkg
	dec := json.NewDecoder(&out)
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("reading go list: %w", err)
		}
		exports[p.ImportPath] = p.Export
		main = p // the package itself comes last
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, f := range main.GoFiles {
		af, err := parser.ParseFile(fset, filepath.Join(main.Dir, f), nil, 0)
		if err != nil {
			return nil, err
		}
		files = append(files, af)
	}
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		e, ok := exports[path]
		if !ok || e == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(e)
	})
	info := &types.Info{Selections: map[*ast.SelectorExpr]*types.Selection{}, Uses: map[*ast.Ident]types.Object{}, Defs: map[*ast.Ident]types.Object{}}
	tpkg, err := (&types.Config{Importer: imp}).Check(main.ImportPath, fset, files, info)
	if err != nil {
		return nil, fmt.Errorf("type-checking %s: %w", main.ImportPath, err)
	}
	seen := map[string]Op{}
	add := func(svc, name string, pos token.Pos) {
		op := Op{Service: svc, Name: name}
		if _, ok := seen[op.String()]; !ok {
			p := fset.Position(pos)
			op.Pos = fmt.Sprintf("%s:%d", filepath.Base(p.Filename), p.Line)
			seen[op.String()] = op
		}
	}
	// The SDK clients the package can name.
	var clients []*types.Named
	for _, ip := range tpkg.Imports() {
		if strings.HasPrefix(ip.Path(), sdkPrefix) {
			if obj, ok := ip.Scope().Lookup("Client").(*types.TypeName); ok {
				if n, ok := obj.Type().(*types.Named); ok {
					clients = append(clients, n)
				}
			}
		}
	}
	svcOf := func(n *types.Named) (string, bool) {
		if n.Obj().Name() != "Client" || n.Obj().Pkg() == nil || !strings.HasPrefix(n.Obj().Pkg().Path(), sdkPrefix) {
			return "", false
		}
		return n.Obj().Pkg().Name(), true
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.SelectorExpr: // client.Method(...)
				sel, ok := info.Selections[x]
				if !ok || sel.Kind() != types.MethodVal {
					return true
				}
				recv := sel.Recv()
				if p, ok := recv.(*types.Pointer); ok {
					recv = p.Elem()
				}
				if nt, ok := recv.(*types.Named); ok {
					if svc, ok := svcOf(nt); ok {
						add(svc, x.Sel.Name, x.Pos())
					}
				}
			case *ast.Ident: // svc.NewXPaginator, svc.NewXWaiter
				fn, ok := info.Uses[x].(*types.Func)
				if !ok || fn.Pkg() == nil || !strings.HasPrefix(fn.Pkg().Path(), sdkPrefix) {
					return true
				}
				name, svc := fn.Name(), fn.Pkg().Name()
				if op, ok := strings.CutSuffix(strings.TrimPrefix(name, "New"), "Paginator"); ok && strings.HasPrefix(name, "New") {
					add(svc, op, x.Pos())
				} else if op, ok := waiters[svc+"."+name]; ok {
					add(svc, op, x.Pos())
				}
			}
			return true
		})
	}
	// Interfaces the package declares that an SDK client implements: its
	// calls go through them.
	for _, obj := range info.Defs {
		tn, ok := obj.(*types.TypeName)
		if !ok {
			continue
		}
		iface, ok := tn.Type().Underlying().(*types.Interface)
		if !ok || iface.NumMethods() == 0 {
			continue
		}
		for _, c := range clients {
			if !types.Implements(types.NewPointer(c), iface) {
				continue
			}
			svc, _ := svcOf(c)
			for i := range iface.NumMethods() {
				add(svc, iface.Method(i).Name(), iface.Method(i).Pos())
			}
		}
	}
	ops := make([]Op, 0, len(seen))
	for _, op := range seen {
		ops = append(ops, op)
	}
	slices.SortFunc(ops, func(a, b Op) int { return strings.Compare(a.String(), b.String()) })
	return ops, nil
}

// Declaration is a bot's iam.yaml.
type Declaration struct {
	// Actions are what the code's calls need.
	Actions []string `json:"actions"`
	// Extras are actions no call in the code shows, each with why.
	Extras []Extra `json:"extras,omitempty"`
	// Resources scope declared actions to ARNs; the actions no entry
	// names stay on every resource ("*"), under the boundary.
	Resources []Resource `json:"resources,omitempty"`
}

// Resource is declared actions and the ARNs they may act on. An ARN may
// hold {{account}}, {{region}} and {{env}}, filled per role (FillARN).
type Resource struct {
	Actions []string `json:"actions"`
	ARNs    []string `json:"arns"`
}

// FillARN replaces an ARN's placeholders.
func FillARN(arn, account, region, env string) string {
	return strings.NewReplacer("{{account}}", account, "{{region}}", region, "{{env}}", env).Replace(arn)
}

// arnShape is an ARN once filled: partition, service, region (may be
// empty, as IAM's and S3's are), account (may be empty), resource.
var arnShape = regexp.MustCompile(`^arn:aws(?:-cn|-us-gov)?:([a-z0-9-]+):([a-z0-9-]*):([0-9]{12})?:(\S+)$`)

// checkResources checks the resources section: each entry scopes declared
// actions, once, to ARNs of those actions' service.
func checkResources(file string, d *Declaration) []string {
	declared := map[string]bool{}
	for _, a := range d.Actions {
		declared[a] = true
	}
	for _, e := range d.Extras {
		declared[e.Action] = true
	}
	var out []string
	scoped := map[string]int{}
	for i, r := range d.Resources {
		at := fmt.Sprintf("%s: resources[%d]", file, i)
		if len(r.Actions) == 0 || len(r.ARNs) == 0 {
			out = append(out, at+": want actions and arns: list declared actions and the ARNs they may act on")
			continue
		}
		for _, a := range r.Actions {
			if !declared[a] {
				out = append(out, fmt.Sprintf("%s: %s is not under actions or extras: declare it there, or remove it here", at, a))
			}
			if j, dup := scoped[a]; dup {
				out = append(out, fmt.Sprintf("%s: %s is scoped in resources[%d] too: keep one entry", at, a, j))
			}
			scoped[a] = i
		}
		for _, arn := range r.ARNs {
			filled := FillARN(arn, "123456789012", "eu-west-1", "dev")
			if strings.Contains(filled, "{{") {
				out = append(out, fmt.Sprintf("%s: %s: unknown placeholder: use {{account}}, {{region}} or {{env}}", at, arn))
				continue
			}
			m := arnShape.FindStringSubmatch(filled)
			if m == nil {
				out = append(out, fmt.Sprintf("%s: %q is not an ARN: want arn:aws:<service>:<region>:<account>:<resource>, e.g. arn:aws:ecs:{{region}}:{{account}}:service/botfleet-{{env}}/*", at, arn))
				continue
			}
			for _, a := range r.Actions {
				if svc, _, _ := strings.Cut(a, ":"); svc != m[1] {
					out = append(out, fmt.Sprintf("%s: %s is an ARN of %s, but %s is an action of %s: scope it to %s ARNs, in an entry of its own", at, arn, m[1], a, svc, svc))
				}
			}
		}
	}
	return out
}

// Extra is an action the declaration needs beyond the code's calls.
type Extra struct {
	Action string `json:"action"`
	Why    string `json:"why"`
}

// Parse reads an iam.yaml strictly.
func Parse(data []byte) (*Declaration, error) {
	var d Declaration
	if err := yaml.UnmarshalStrict(data, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// Check compares the declaration at file (a path for messages) with ops
// and returns one line per problem, each naming the fix.
func Check(file string, d *Declaration, ops []Op) []string {
	need := map[string]Op{}
	for _, op := range ops {
		for _, a := range Actions(op) {
			if _, ok := need[a]; !ok {
				need[a] = op
			}
		}
	}
	var out []string
	for _, a := range slices.Sorted(mapsKeys(need)) {
		if !slices.Contains(d.Actions, a) {
			op := need[a]
			out = append(out, fmt.Sprintf("%s: %s missing: the code calls %s (%s); add it under actions", file, a, op, op.Pos))
		}
	}
	extras := map[string]bool{}
	for _, e := range d.Extras {
		extras[e.Action] = true
		if strings.TrimSpace(e.Why) == "" {
			out = append(out, fmt.Sprintf("%s: extras: %s has no why: say which call or AWS feature needs it", file, e.Action))
		}
		if _, ok := need[e.Action]; ok {
			out = append(out, fmt.Sprintf("%s: extras: %s is needed by a call (%s): move it to actions", file, e.Action, need[e.Action]))
		}
	}
	for _, a := range d.Actions {
		if _, ok := need[a]; !ok {
			out = append(out, fmt.Sprintf("%s: %s: no call in the code needs it: remove it, or move it to extras with why", file, a))
		}
	}
	return append(out, checkResources(file, d)...)
}

func mapsKeys(m map[string]Op) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
