package validate

import (
	"cmp"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/botfleet/botfleet/tools/internal/argocd"
	"github.com/botfleet/botfleet/tools/internal/awsplatform"
)

// safeInArgoCD are the only namespaced kinds a project that may deploy into
// Argo CD's namespace may allow. Argo CD matches namespaced kinds by group
// and kind, never by name, and a kind a project allows it allows in every
// destination: a ConfigMap would be argocd-cm or argocd-rbac-cm, a Secret a
// cluster's credentials, a Role or Deployment Argo CD's own. These kinds
// change no Argo CD setting there.
var safeInArgoCD = []argocd.GroupKind{
	{Group: argocd.Group, Kind: "AppProject"},
	{Group: argocd.Group, Kind: "Application"},
	{Group: argocd.Group, Kind: "ApplicationSet"},
	{Group: "", Kind: "PersistentVolumeClaim"},
}

// placed is an object as an Application deploys it: in its own namespace,
// or else in the Application's destination namespace.
type placed struct {
	o         *object
	namespace string
}

// checkProjects checks that each AppProject allows only what its
// Applications hold: the bots' projects, one per environment, their own
// namespace and no other environment's; the other projects (the root
// Application's, the add-ons') exactly the objects their Applications'
// builds hold, cluster-scoped ones by name.
func (r *run) checkProjects(projects []found[*argocd.AppProject], apps []found[*argocd.Application], appsets []found[*argocd.ApplicationSet], byDir map[string]*built) {
	users := map[string][]string{}  // project to what uses it
	holds := map[string][]placed{}  // project to what its Applications deploy
	envsOf := map[string][]string{} // project to the environments of its ApplicationSets
	for _, a := range apps {
		name := a.x.Spec.Project
		users[name] = append(users[name], "Application "+a.x.Name)
		if src := a.x.Spec.Source; src != nil {
			if b := byDir[path.Clean(src.Path)]; b != nil {
				for _, o := range b.objects {
					holds[name] = append(holds[name], placed{o, cmp.Or(o.namespace, a.x.Spec.Destination.Namespace)})
				}
			}
		}
	}
	for _, a := range appsets {
		name := a.x.Spec.Template.Spec.Project
		users[name] = append(users[name], "ApplicationSet "+a.x.Name)
		for _, g := range a.x.Spec.Generators {
			if g.Git == nil {
				continue
			}
			for _, d := range g.Git.Directories {
				if env := path.Base(d.Path); !d.Exclude && !slices.Contains(envsOf[name], env) {
					if _, ok := r.s.Environments[env]; ok {
						envsOf[name] = append(envsOf[name], env)
					}
				}
			}
		}
	}
	byName := map[string]found[*argocd.AppProject]{}
	for _, p := range projects {
		byName[p.x.Name] = p
	}
	for _, env := range r.s.EnvNames() {
		if _, ok := byName[r.s.ArgoCD.EnvProject(env)]; !ok {
			r.addProblem(Problem{Path: ManifestsDir, Msg: fmt.Sprintf("no AppProject %q: the bots of %s have a project of their own (botfleet.yaml argocd.project, then -%s)", r.s.ArgoCD.EnvProject(env), env, env)})
		}
	}
	for _, p := range projects {
		r.checkProjectPatterns(p)
		switch {
		case len(users[p.x.Name]) == 0:
			r.problem(p.b, p.o, "", "no Application or ApplicationSet in manifests/ uses it: remove it (and from the cluster: kubectl -n %s delete appproject %s)", r.s.ArgoCD.Namespace, p.x.Name)
		case len(envsOf[p.x.Name]) > 0:
			r.checkEnvProject(p, envsOf[p.x.Name], users[p.x.Name])
		case p.x.Name == awsplatform.Project:
			r.checkAWSProject(p)
		default:
			r.checkHeld(p, holds[p.x.Name])
		}
	}
}

// globChars are what makes a project's name or namespace a pattern (Go's
// path.Match syntax; "!" is Argo CD's deny pattern).
const globChars = "*?[\\!"

// checkProjectPatterns checks what every project must: exact names, no
// Applications from other namespaces, and nothing in Argo CD's namespace
// that could change Argo CD itself.
func (r *run) checkProjectPatterns(p found[*argocd.AppProject]) {
	spec := &p.x.Spec
	for i, s := range spec.SourceRepos {
		if strings.ContainsAny(s, globChars) {
			r.problem(p.b, p.o, fmt.Sprintf("spec.sourceRepos[%d]", i), "%q is a pattern: name the repo, %s", s, r.s.Git.RepoURL)
		}
	}
	if len(spec.SourceNamespaces) > 0 {
		r.problem(p.b, p.o, "spec.sourceNamespaces", "%v: lets Applications outside %s use this project; botfleet's live in %s only", spec.SourceNamespaces, r.s.ArgoCD.Namespace, r.s.ArgoCD.Namespace)
	}
	for i, d := range spec.Destinations {
		f := fmt.Sprintf("spec.destinations[%d]", i)
		switch {
		case d.Name != "" || d.Server != inCluster:
			r.problem(p.b, p.o, f, "want server %s and no name: botfleet deploys to the cluster Argo CD runs in", inCluster)
		case d.Namespace == "" || strings.ContainsAny(d.Namespace, globChars):
			r.problem(p.b, p.o, f+".namespace", "%q: name one namespace exactly", d.Namespace)
		}
	}
	if !p.x.PermitsDestination(argocd.Destination{Server: inCluster}, r.s.ArgoCD.Namespace) {
		return
	}
	if spec.NamespaceResourceWhitelist == nil {
		r.problem(p.b, p.o, "spec.namespaceResourceWhitelist", "missing, so every namespaced kind is allowed, in %s too (argocd-rbac-cm, cluster Secrets): list the kinds", r.s.ArgoCD.Namespace)
		return
	}
	for i, gk := range spec.NamespaceResourceWhitelist {
		if !slices.Contains(safeInArgoCD, gk) {
			r.problem(p.b, p.o, fmt.Sprintf("spec.namespaceResourceWhitelist[%d]", i), "%s: this project deploys into %s, and Argo CD allows a namespaced kind in every destination, by kind alone, where a ConfigMap (argocd-rbac-cm) or a Secret changes Argo CD itself; allow only %s, and give %s a project without %s", kindName(gk.Group, gk.Kind), r.s.ArgoCD.Namespace, kindList(safeInArgoCD), kindName(gk.Group, gk.Kind), r.s.ArgoCD.Namespace)
		}
	}
}

// checkEnvProject checks a project of the bots' Applications: one
// environment's, its namespace only, no cluster-scoped kinds.
func (r *run) checkEnvProject(p found[*argocd.AppProject], envs, users []string) {
	if len(envs) > 1 {
		r.problem(p.b, p.o, "", "used by the Applications of %s (%s): each environment's bots have a project of their own, so that one environment's Applications cannot write into another's namespace", strings.Join(envs, " and "), strings.Join(users, ", "))
		return
	}
	env := envs[0]
	own, _ := r.s.Namespace(env)
	for _, other := range r.s.EnvNames() {
		ns, _ := r.s.Namespace(other)
		switch {
		case other == env && !p.x.PermitsDestination(argocd.Destination{Server: inCluster}, ns):
			r.problem(p.b, p.o, "spec.destinations", "lacks namespace %s (botfleet.yaml environments.%s)", ns, env)
		case other != env && p.x.PermitsDestination(argocd.Destination{Server: inCluster}, ns):
			r.problem(p.b, p.o, "spec.destinations", "permits namespace %s, %s's: the Applications of %s (%s) could write into it", ns, other, env, strings.Join(users, ", "))
		}
	}
	for i, d := range p.x.Spec.Destinations {
		if d.Namespace != own && !strings.ContainsAny(d.Namespace, globChars) {
			if _, isEnv := r.s.EnvOfNamespace(d.Namespace); !isEnv {
				r.problem(p.b, p.o, fmt.Sprintf("spec.destinations[%d].namespace", i), "%q: the bots of %s deploy into %s only", d.Namespace, env, own)
			}
		}
	}
	if len(p.x.Spec.ClusterResourceWhitelist) > 0 {
		r.problem(p.b, p.o, "spec.clusterResourceWhitelist", "a bot's overlay holds no cluster-scoped object: want none")
	}
	if p.x.Spec.NamespaceResourceWhitelist == nil {
		r.problem(p.b, p.o, "spec.namespaceResourceWhitelist", "missing, so every namespaced kind is allowed: list the kinds a bot's overlay uses")
	}
	for i, gk := range p.x.Spec.NamespaceResourceWhitelist {
		if strings.ContainsAny(gk.Group+gk.Kind, globChars) {
			r.problem(p.b, p.o, fmt.Sprintf("spec.namespaceResourceWhitelist[%d]", i), "%s is a pattern: name each kind", kindName(gk.Group, gk.Kind))
		}
	}
}

// ackKinds are the only kinds the project of the ACK objects allows.
var ackKinds = []argocd.GroupKind{
	{Group: "iam.services.k8s.aws", Kind: "Role"},
	{Group: "ecr.services.k8s.aws", Kind: "Repository"},
}

// checkAWSProject checks the project of the ACK objects: exactly the two
// kinds, in awsplatform.Namespace only, nothing cluster-scoped. It may
// allow a kind no object has yet (a repo where no bot calls AWS has no
// Role), unlike the projects checkHeld checks.
func (r *run) checkAWSProject(p found[*argocd.AppProject]) {
	spec := &p.x.Spec
	for i, d := range spec.Destinations {
		if d.Namespace != awsplatform.Namespace {
			r.problem(p.b, p.o, fmt.Sprintf("spec.destinations[%d].namespace", i), "%q: the ACK objects live in %s only, the one namespace the controllers watch", d.Namespace, awsplatform.Namespace)
		}
	}
	if len(spec.ClusterResourceWhitelist) > 0 {
		r.problem(p.b, p.o, "spec.clusterResourceWhitelist", "want none: the ACK objects are namespaced")
	}
	if spec.NamespaceResourceWhitelist == nil {
		r.problem(p.b, p.o, "spec.namespaceResourceWhitelist", "missing, so every namespaced kind is allowed: list %s", kindList(ackKinds))
	}
	for i, gk := range spec.NamespaceResourceWhitelist {
		if !slices.Contains(ackKinds, gk) {
			r.problem(p.b, p.o, fmt.Sprintf("spec.namespaceResourceWhitelist[%d]", i), "%s: this project allows only %s", kindName(gk.Group, gk.Kind), kindList(ackKinds))
		}
	}
}

// checkHeld checks that a project allows no more than what its
// Applications hold: each destination, kind and cluster-scoped object
// allowed is one of theirs.
func (r *run) checkHeld(p found[*argocd.AppProject], held []placed) {
	spec := &p.x.Spec
	for i, d := range spec.Destinations {
		if strings.ContainsAny(d.Namespace, globChars) || d.Namespace == "" {
			continue // reported by checkProjectPatterns
		}
		if !slices.ContainsFunc(held, func(h placed) bool { return !h.o.clusterScoped && h.namespace == d.Namespace }) {
			r.problem(p.b, p.o, fmt.Sprintf("spec.destinations[%d]", i), "namespace %s: its Applications deploy nothing there; allow only what they hold", d.Namespace)
		}
	}
	for i, c := range spec.ClusterResourceWhitelist {
		f := fmt.Sprintf("spec.clusterResourceWhitelist[%d]", i)
		switch {
		case strings.ContainsAny(c.Group+c.Kind+c.Name, globChars):
			r.problem(p.b, p.o, f, "%s %q is a pattern: name each object", kindName(c.Group, c.Kind), c.Name)
		case c.Name == "":
			r.problem(p.b, p.o, f, "no name: allows every %s; name each one its Applications hold (Argo CD matches the names of cluster-scoped objects)", kindName(c.Group, c.Kind))
		case !slices.ContainsFunc(held, func(h placed) bool {
			return h.o.clusterScoped && h.o.group == c.Group && h.o.kind == c.Kind && h.o.name == c.Name
		}):
			r.problem(p.b, p.o, f, "allows %s %s, which its Applications do not hold", kindName(c.Group, c.Kind), c.Name)
		}
	}
	if spec.NamespaceResourceWhitelist == nil {
		r.problem(p.b, p.o, "spec.namespaceResourceWhitelist", "missing, so every namespaced kind is allowed: list the kinds its Applications hold")
	}
	for i, gk := range spec.NamespaceResourceWhitelist {
		f := fmt.Sprintf("spec.namespaceResourceWhitelist[%d]", i)
		switch {
		case strings.ContainsAny(gk.Group+gk.Kind, globChars):
			r.problem(p.b, p.o, f, "%s is a pattern: name each kind", kindName(gk.Group, gk.Kind))
		case !slices.ContainsFunc(held, func(h placed) bool {
			return !h.o.clusterScoped && h.o.group == gk.Group && h.o.kind == gk.Kind
		}):
			r.problem(p.b, p.o, f, "allows %s, which its Applications do not hold", kindName(gk.Group, gk.Kind))
		}
	}
}

// kindName is a kind as kubectl names it: Kind, or Kind.group.
func kindName(group, kind string) string {
	if group == "" {
		return kind
	}
	return kind + "." + group
}

func kindList(gks []argocd.GroupKind) string {
	var names []string
	for _, gk := range gks {
		names = append(names, kindName(gk.Group, gk.Kind))
	}
	return strings.Join(names, ", ")
}
