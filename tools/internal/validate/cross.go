package validate

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"text/template"

	corev1 "k8s.io/api/core/v1"

	"github.com/botfleet/botfleet/tools/internal/argocd"
)

// inCluster is the destination server of the cluster Argo CD runs in.
const inCluster = "https://kubernetes.default.svc"

// found is an object and the build it came from.
type found[T any] struct {
	b *built
	o *object
	x T
}

// cross runs the checks that span builds: the Argo CD objects of manifests/
// against the settings, the overlays and each other, and the EFS volumes
// against their claims.
func (r *run) cross(results []*built) {
	var (
		projects []found[*argocd.AppProject]
		apps     []found[*argocd.Application]
		appsets  []found[*argocd.ApplicationSet]
		pvs      []found[*corev1.PersistentVolume]
		pvcs     []found[*corev1.PersistentVolumeClaim]
		nss      []found[*corev1.Namespace]
		overlays = map[string]*built{} // by dir
		byDir    = map[string]*built{}
		cluster  bool
	)
	for _, b := range results {
		byDir[b.dir] = b
		if b.bot != "" {
			overlays[b.dir] = b
			continue
		}
		cluster = true
		for _, o := range b.objects {
			switch x := o.typed.(type) {
			case *argocd.AppProject:
				projects = append(projects, found[*argocd.AppProject]{b, o, x})
			case *argocd.Application:
				apps = append(apps, found[*argocd.Application]{b, o, x})
			case *argocd.ApplicationSet:
				appsets = append(appsets, found[*argocd.ApplicationSet]{b, o, x})
			case *corev1.PersistentVolume:
				pvs = append(pvs, found[*corev1.PersistentVolume]{b, o, x})
			case *corev1.PersistentVolumeClaim:
				pvcs = append(pvcs, found[*corev1.PersistentVolumeClaim]{b, o, x})
			case *corev1.Namespace:
				nss = append(nss, found[*corev1.Namespace]{b, o, x})
			}
		}
	}
	if !cluster {
		r.addProblem(Problem{Path: ManifestsDir, Msg: "no kustomization: the cluster side (namespaces, EFS volumes, Argo CD objects) is missing"})
		return
	}
	project := func(name string) *argocd.AppProject {
		for _, p := range projects {
			if p.x.Name == name {
				return p.x
			}
		}
		return nil
	}
	for _, p := range projects {
		if !p.x.PermitsSource(r.s.Git.RepoURL) {
			r.problem(p.b, p.o, "spec.sourceRepos", "lacks %s (botfleet.yaml git.repoURL)", r.s.Git.RepoURL)
		}
	}

	for _, a := range apps {
		r.checkApplication(a, project, byDir)
	}
	generated := map[string]bool{} // overlay dirs some ApplicationSet generates an Application for
	for _, a := range appsets {
		r.checkApplicationSet(a, project, overlays, generated)
	}
	for _, b := range results {
		if b.bot != "" && !b.failed && len(appsets) > 0 && !generated[b.dir] {
			r.addProblem(Problem{Path: b.dir, Msg: "no ApplicationSet in manifests/ generates an Application for this overlay"})
		}
	}
	r.checkProjects(projects, apps, appsets, byDir)
	r.checkVolumes(pvs, pvcs)
	r.checkSharedEFSDirs(results)
	r.checkReadinessGates(results, nss)
	r.checkReceiverSecrets(results)
}

// checkReceiverSecrets checks that the Secret each AlertmanagerConfig's
// webhook takes its token from is made in its namespace, with that key, by
// an ExternalSecret (or a Secret) of the repo: a Secret nobody makes leaves
// the receiver without a token, and the bot answers 401. Only when every
// bot is checked: the maker is in a bot's overlay.
func (r *run) checkReceiverSecrets(results []*built) {
	if r.partial {
		return
	}
	type ref struct{ namespace, name string }
	keys := map[ref][]string{} // the keys each Secret gets; "*" for all of a secret's
	for _, b := range results {
		for _, o := range b.objects {
			switch x := o.typed.(type) {
			case *ExternalSecret:
				k := ref{o.namespace, x.targetName()}
				keys[k] = append(keys[k], "")
				for _, d := range x.Spec.Data {
					keys[k] = append(keys[k], d.SecretKey)
				}
				if len(x.Spec.DataFrom) > 0 {
					keys[k] = append(keys[k], "*")
				}
			case *corev1.Secret:
				k := ref{o.namespace, o.name}
				keys[k] = append(keys[k], "")
				for key := range x.Data {
					keys[k] = append(keys[k], key)
				}
				for key := range x.StringData {
					keys[k] = append(keys[k], key)
				}
			}
		}
	}
	bots := map[string]bool{}
	for _, b := range results {
		bots[b.bot] = true
	}
	for _, b := range results {
		for _, o := range b.objects {
			x, ok := o.typed.(*AlertmanagerConfig)
			if !ok {
				continue
			}
			for i, rc := range x.Spec.Receivers {
				for j, wh := range rc.WebhookConfigs {
					if wh.HTTPConfig == nil || wh.HTTPConfig.Authorization == nil || wh.HTTPConfig.Authorization.Credentials == nil {
						continue // checkClusterObject says so
					}
					if u, err := url.Parse(wh.URL); err == nil && !bots[strings.Split(u.Hostname(), ".")[0]] {
						continue // a receiver of a bot this repo does not have: no overlay to make its Secret
					}
					c := wh.HTTPConfig.Authorization.Credentials
					field := fmt.Sprintf("spec.receivers[%d].webhookConfigs[%d].httpConfig.authorization.credentials", i, j)
					got, made := keys[ref{o.namespace, c.Name}]
					switch {
					case !made:
						r.problem(b, o, field, "Secret %q: nothing in %s makes it; the bot's overlay makes it with an ExternalSecret from its secret in AWS Secrets Manager (botctl secrets put)", c.Name, o.namespace)
					case !slices.Contains(got, c.Key) && !slices.Contains(got, "*"):
						r.problem(b, o, field, "Secret %q has no key %q (its ExternalSecret makes %q)", c.Name, c.Key, slices.DeleteFunc(slices.Clone(got), func(k string) bool { return k == "" }))
					}
				}
			}
		}
	}
}

// checkSharedEFSDirs reports, for each overlay involved, a directory of an
// environment's EFS volume outside config/ and state/ that two bots mount
// (one inside the other counts): such a directory belongs to one bot, like
// ansible's playbooks, or another could read or change what that one runs.
func (r *run) checkSharedEFSDirs(results []*built) {
	for _, b := range results {
		for _, other := range results {
			if other.bot == "" || other.bot == b.bot || other.env != b.env {
				continue
			}
			for _, dir := range b.efsDirs {
				if i := slices.IndexFunc(other.efsDirs, func(d string) bool { return overlaps(d, dir) }); i >= 0 {
					r.addProblem(Problem{Path: b.dir, Msg: fmt.Sprintf("mounts %s of the EFS volume, and bot %s mounts %s: a directory outside %s/ and %s/ belongs to one bot", dir, other.bot, other.efsDirs[i], EFSConfigDir, EFSStateDir)})
				}
			}
		}
	}
}

func (r *run) problem(b *built, o *object, field, format string, args ...any) {
	r.addProblem(Problem{Path: b.dir, Object: o.id(b.bot == ""), Field: field, Msg: fmt.Sprintf(format, args...)})
}

// checkSource checks an Application's (or template's) source against the
// settings and its project.
func (r *run) checkSource(b *built, o *object, field string, spec *argocd.ApplicationSpec, p *argocd.AppProject) {
	src := spec.Source
	if src == nil {
		r.problem(b, o, field+".source", "missing: want this repo's %s", r.s.Git.RepoURL)
		return
	}
	if src.RepoURL != r.s.Git.RepoURL {
		r.problem(b, o, field+".source.repoURL", "%q, want %q (botfleet.yaml git.repoURL)", src.RepoURL, r.s.Git.RepoURL)
	}
	if src.TargetRevision != r.s.Git.Revision {
		r.problem(b, o, field+".source.targetRevision", "%q, want %q (botfleet.yaml git.revision)", src.TargetRevision, r.s.Git.Revision)
	}
	if p == nil {
		r.problem(b, o, field+".project", "no AppProject %q in manifests/", spec.Project)
	}
}

// checkPermitted reports the objects of an Application's build that its
// project would refuse: Argo CD fails such a sync.
func (r *run) checkPermitted(target *built, p *argocd.AppProject, dest argocd.Destination) {
	if target == nil || p == nil {
		return
	}
	for _, o := range target.objects {
		if !p.Permits(o.group, o.kind, o.name, o.clusterScoped) {
			if o.clusterScoped {
				r.problem(target, o, "", "AppProject %s does not permit %s %s (its clusterResourceWhitelist names each object): Argo CD would refuse to sync it", p.Name, o.kind, o.name)
			} else {
				r.problem(target, o, "", "AppProject %s does not permit kind %s (its namespaceResourceWhitelist): Argo CD would refuse to sync it", p.Name, o.kind)
			}
			continue
		}
		ns := o.namespace
		if ns == "" {
			ns = dest.Namespace
		}
		if !o.clusterScoped && !p.PermitsDestination(dest, ns) {
			r.problem(target, o, "metadata.namespace", "AppProject %s does not permit namespace %q", p.Name, ns)
		}
	}
}

func (r *run) checkApplication(a found[*argocd.Application], project func(string) *argocd.AppProject, byDir map[string]*built) {
	p := project(a.x.Spec.Project)
	r.checkSource(a.b, a.o, "spec", &a.x.Spec, p)
	if a.x.Spec.Source == nil {
		return
	}
	dir := path.Clean(a.x.Spec.Source.Path)
	if r.kustomizationFile(dir) == "" {
		r.problem(a.b, a.o, "spec.source.path", "%q holds no kustomization", dir)
		return
	}
	if p != nil && !p.PermitsSource(a.x.Spec.Source.RepoURL) {
		r.problem(a.b, a.o, "spec.source.repoURL", "AppProject %s does not permit this repo", p.Name)
	}
	r.checkPermitted(byDir[dir], p, a.x.Spec.Destination)
}

// params are the git directory generator's parameters for dir, as goTemplate
// sees them.
func params(dir string) map[string]any {
	segs := strings.Split(dir, "/")
	base := segs[len(segs)-1]
	return map[string]any{"path": map[string]any{
		"path": dir, "segments": segs, "basename": base,
		"basenameNormalized": regexp.MustCompile(`[^a-zA-Z0-9-]`).ReplaceAllString(base, "-"),
	}}
}

func execute(tmpl, dir string) (string, error) {
	t, err := template.New("").Option("missingkey=error").Parse(tmpl)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	if err := t.Execute(&sb, params(dir)); err != nil {
		return "", err
	}
	return sb.String(), nil
}

func (r *run) checkApplicationSet(a found[*argocd.ApplicationSet], project func(string) *argocd.AppProject, overlays map[string]*built, generated map[string]bool) {
	spec := &a.x.Spec
	tmpl := &spec.Template
	p := project(tmpl.Spec.Project)
	if strings.Contains(tmpl.Spec.Project, "{{") {
		r.problem(a.b, a.o, "spec.template.spec.project", "templated: a generated Application's project must be fixed")
	}
	r.checkSource(a.b, a.o, "spec.template.spec", &tmpl.Spec, p)
	if !spec.GoTemplate {
		r.problem(a.b, a.o, "spec.goTemplate", "want true: the templates use Go template syntax")
		return
	}
	if !slices.Contains(spec.GoTemplateOptions, "missingkey=error") {
		r.problem(a.b, a.o, "spec.goTemplateOptions", "want missingkey=error, so a typo fails instead of rendering empty")
	}
	for i, g := range spec.Generators {
		gf := fmt.Sprintf("spec.generators[%d]", i)
		if g.Git == nil {
			r.problem(a.b, a.o, gf, "want a git directory generator")
			continue
		}
		if g.Git.RepoURL != r.s.Git.RepoURL {
			r.problem(a.b, a.o, gf+".git.repoURL", "%q, want %q (botfleet.yaml git.repoURL)", g.Git.RepoURL, r.s.Git.RepoURL)
		}
		if g.Git.Revision != r.s.Git.Revision {
			r.problem(a.b, a.o, gf+".git.revision", "%q, want %q (botfleet.yaml git.revision)", g.Git.Revision, r.s.Git.Revision)
		}
		var excluded []string
		for _, d := range g.Git.Directories {
			if d.Exclude {
				excluded = append(excluded, d.Path)
			}
		}
		for j, d := range g.Git.Directories {
			if d.Exclude {
				continue
			}
			df := fmt.Sprintf("%s.git.directories[%d].path", gf, j)
			dirs := r.globDirs(d.Path, excluded)
			if len(dirs) == 0 {
				r.problem(a.b, a.o, df, "%q matches no directory", d.Path)
				continue
			}
			env := path.Base(d.Path)
			if _, ok := r.s.Environments[env]; !ok {
				r.problem(a.b, a.o, df, "%q does not end in an environment (botfleet.yaml has %s)", d.Path, strings.Join(r.s.EnvNames(), ", "))
				continue
			}
			r.checkSyncPolicy(a, env)
			if want := r.s.ArgoCD.EnvProject(env); tmpl.Spec.Project != want {
				r.problem(a.b, a.o, "spec.template.spec.project", "%q, want %q: each environment's bots have a project of their own (botfleet.yaml argocd.project, then -%s)", tmpl.Spec.Project, want, env)
			}
			for _, dir := range dirs {
				r.checkGenerated(a, p, env, dir, overlays[dir])
				generated[dir] = true
			}
		}
	}
}

// checkSyncPolicy checks an ApplicationSet's policies against its
// environment: dev syncs itself, prd by hand and never loses an Application
// or its resources because a directory went away.
func (r *run) checkSyncPolicy(a found[*argocd.ApplicationSet], env string) {
	auto := a.x.Spec.Template.Spec.SyncPolicy
	switch env {
	case "prd":
		if auto != nil && auto.Automated != nil {
			r.problem(a.b, a.o, "spec.template.spec.syncPolicy.automated", "prd syncs by hand: remove it")
		}
		sp := a.x.Spec.SyncPolicy
		if sp == nil || (sp.ApplicationsSync != "create-update" && sp.ApplicationsSync != "create-only") || !sp.PreserveResourcesOnDeletion {
			r.problem(a.b, a.o, "spec.syncPolicy", "want applicationsSync create-update and preserveResourcesOnDeletion true: removing a bot's directory must not delete it from prd")
		}
	default:
		if auto == nil || auto.Automated == nil || !auto.Automated.Prune || !auto.Automated.SelfHeal {
			r.problem(a.b, a.o, "spec.template.spec.syncPolicy.automated", "want prune and selfHeal: %s follows Git by itself", env)
		}
	}
}

// checkGenerated checks the Application an ApplicationSet generates for dir.
func (r *run) checkGenerated(a found[*argocd.ApplicationSet], p *argocd.AppProject, env, dir string, overlay *built) {
	tmpl := &a.x.Spec.Template
	render := func(field, s string) string {
		out, err := execute(s, dir)
		if err != nil {
			r.problem(a.b, a.o, field, "%v", err)
		}
		return out
	}
	name := render("spec.template.metadata.name", tmpl.Metadata.Name)
	if segs := strings.Split(dir, "/"); len(segs) == 5 && segs[0] == BotsDir && name != segs[1]+"-"+env {
		r.problem(a.b, a.o, "spec.template.metadata.name", "renders %q for %s, want %q", name, dir, segs[1]+"-"+env)
	}
	dest := tmpl.Spec.Destination
	dest.Namespace = render("spec.template.spec.destination.namespace", dest.Namespace)
	if ns, _ := r.s.Namespace(env); dest.Namespace != ns {
		r.problem(a.b, a.o, "spec.template.spec.destination.namespace", "%q, want %q (botfleet.yaml environments.%s.namespace)", dest.Namespace, ns, env)
	}
	if src := tmpl.Spec.Source; src != nil {
		if got := render("spec.template.spec.source.path", src.Path); got != dir {
			r.problem(a.b, a.o, "spec.template.spec.source.path", "renders %q for %s, want the directory itself", got, dir)
		}
	}
	if p != nil && !p.PermitsDestination(dest, dest.Namespace) {
		r.problem(a.b, a.o, "spec.template.spec.destination", "AppProject %s does not permit namespace %q", p.Name, dest.Namespace)
	}
	r.checkPermitted(overlay, p, dest)
}

// globDirs returns the directories matching a git directory generator's
// pattern (path.Match syntax, relative to the repo root), less those matching
// an excluded one.
func (r *run) globDirs(pattern string, excluded []string) []string {
	dirs := []string{""}
	for _, seg := range strings.Split(path.Clean(pattern), "/") {
		var next []string
		for _, d := range dirs {
			names, err := r.v.FS.ReadDir(r.abs(d))
			if err != nil {
				continue
			}
			for _, n := range names {
				p := path.Join(d, n)
				if ok, _ := path.Match(seg, n); ok && !strings.HasPrefix(n, ".") && r.v.FS.IsDir(r.abs(p)) {
					next = append(next, p)
				}
			}
		}
		dirs = next
	}
	dirs = slices.DeleteFunc(dirs, func(d string) bool {
		return slices.ContainsFunc(excluded, func(x string) bool { ok, _ := path.Match(x, d); return ok })
	})
	slices.Sort(dirs)
	return dirs
}

// checkVolumes checks that each environment has one EFS volume bound
// one-to-one to its claim.
func (r *run) checkVolumes(pvs []found[*corev1.PersistentVolume], pvcs []found[*corev1.PersistentVolumeClaim]) {
	for _, env := range r.s.EnvNames() {
		ns, _ := r.s.Namespace(env)
		var pv *found[*corev1.PersistentVolume]
		n := 0
		for i := range pvs {
			if cr := pvs[i].x.Spec.ClaimRef; cr != nil && cr.Namespace == ns && cr.Name == EFSClaim {
				pv = &pvs[i]
				n++
			}
		}
		if n != 1 {
			r.addProblem(Problem{Path: ManifestsDir, Msg: fmt.Sprintf("%s: want one PersistentVolume bound to claim %s, found %d", ns, EFSClaim, n)})
		}
		i := slices.IndexFunc(pvcs, func(c found[*corev1.PersistentVolumeClaim]) bool {
			return c.x.Namespace == ns && c.x.Name == EFSClaim
		})
		if i < 0 {
			r.addProblem(Problem{Path: ManifestsDir, Msg: fmt.Sprintf("%s: no PersistentVolumeClaim %s (the bots mount it at %s)", ns, EFSClaim, EFSMount)})
			continue
		}
		if c := pvcs[i]; pv != nil && c.x.Spec.VolumeName != pv.x.Name {
			r.problem(c.b, c.o, "spec.volumeName", "%q, want %q, the PersistentVolume bound to it", c.x.Spec.VolumeName, pv.x.Name)
		}
	}
}
