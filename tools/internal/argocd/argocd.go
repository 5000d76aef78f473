// Package argocd declares the Argo CD objects botfleet uses (Application,
// ApplicationSet, AppProject), with the fields this repo uses. Argo CD's own
// Go packages need a newer Go than the repo's, so they are not imported;
// botctl validate also checks these objects against Argo CD's CRD schemas
// (internal/kubeschema).
//
// Decoding is strict: a field missing here is an error, so that the repo
// uses only what botctl's checks understand. Add a field here when the repo
// starts to use it.
package argocd

import (
	"path"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Group is Argo CD's API group; Version its version.
const (
	Group      = "argoproj.io"
	Version    = "v1alpha1"
	APIVersion = Group + "/" + Version
)

// Application is an Argo CD Application.
type Application struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ApplicationSpec `json:"spec"`
}

// ApplicationSpec is an Application's spec (and an ApplicationSet template's).
type ApplicationSpec struct {
	Project     string      `json:"project"`
	Source      *Source     `json:"source,omitempty"`
	Destination Destination `json:"destination"`
	SyncPolicy  *SyncPolicy `json:"syncPolicy,omitempty"`
}

// Source is where an Application's manifests come from.
type Source struct {
	RepoURL        string `json:"repoURL"`
	Path           string `json:"path,omitempty"`
	TargetRevision string `json:"targetRevision,omitempty"`
}

// Destination is a cluster and namespace.
type Destination struct {
	Server    string `json:"server,omitempty"`
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
}

// SyncPolicy is an Application's sync policy; nil means manual sync.
type SyncPolicy struct {
	Automated   *Automated `json:"automated,omitempty"`
	SyncOptions []string   `json:"syncOptions,omitempty"`
}

// Automated turns on automatic sync.
type Automated struct {
	Prune    bool `json:"prune,omitempty"`
	SelfHeal bool `json:"selfHeal,omitempty"`
}

// ApplicationSet generates Applications.
type ApplicationSet struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ApplicationSetSpec `json:"spec"`
}

// ApplicationSetSpec is an ApplicationSet's spec.
type ApplicationSetSpec struct {
	GoTemplate        bool                      `json:"goTemplate,omitempty"`
	GoTemplateOptions []string                  `json:"goTemplateOptions,omitempty"`
	SyncPolicy        *ApplicationSetSyncPolicy `json:"syncPolicy,omitempty"`
	Generators        []Generator               `json:"generators"`
	Template          Template                  `json:"template"`
}

// ApplicationSetSyncPolicy says what the controller may do to the
// Applications it generated.
type ApplicationSetSyncPolicy struct {
	// ApplicationsSync is create-only, create-update, create-delete or sync
	// (the default); honoured when the controller runs with
	// --enable-policy-override.
	ApplicationsSync string `json:"applicationsSync,omitempty"`
	// PreserveResourcesOnDeletion leaves out the resources finalizer, so
	// deleting a generated Application leaves its resources.
	PreserveResourcesOnDeletion bool `json:"preserveResourcesOnDeletion,omitempty"`
}

// Generator is one generator; botfleet uses the git directory generator.
type Generator struct {
	Git *GitGenerator `json:"git,omitempty"`
}

// GitGenerator generates one parameter set per matching directory.
type GitGenerator struct {
	RepoURL     string         `json:"repoURL"`
	Revision    string         `json:"revision"`
	Directories []GitDirectory `json:"directories,omitempty"`
}

// GitDirectory is a path.Match pattern of directories, relative to the repo
// root; Exclude removes the matches from the others'.
type GitDirectory struct {
	Path    string `json:"path"`
	Exclude bool   `json:"exclude,omitempty"`
}

// Template is the Application an ApplicationSet generates.
type Template struct {
	Metadata TemplateMeta    `json:"metadata"`
	Spec     ApplicationSpec `json:"spec"`
}

// TemplateMeta is a template's metadata.
type TemplateMeta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Finalizers  []string          `json:"finalizers,omitempty"`
}

// AppProject limits what its Applications may deploy, and where.
type AppProject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              AppProjectSpec `json:"spec"`
}

// AppProjectSpec is an AppProject's spec.
type AppProjectSpec struct {
	Description string   `json:"description,omitempty"`
	SourceRepos []string `json:"sourceRepos,omitempty"`
	// SourceNamespaces are the namespaces besides Argo CD's own whose
	// Applications may use the project (globs).
	SourceNamespaces           []string          `json:"sourceNamespaces,omitempty"`
	Destinations               []Destination     `json:"destinations,omitempty"`
	ClusterResourceWhitelist   []ClusterResource `json:"clusterResourceWhitelist,omitempty"`
	ClusterResourceBlacklist   []ClusterResource `json:"clusterResourceBlacklist,omitempty"`
	NamespaceResourceWhitelist []GroupKind       `json:"namespaceResourceWhitelist,omitempty"`
	NamespaceResourceBlacklist []GroupKind       `json:"namespaceResourceBlacklist,omitempty"`
}

// GroupKind names a namespaced kind; both parts may be globs. Argo CD
// matches namespaced kinds by group and kind only, never by name.
type GroupKind struct {
	Group string `json:"group"`
	Kind  string `json:"kind"`
}

// ClusterResource names a cluster-scoped kind, and optionally the names of
// its objects; each part may be a glob, and no name means every object.
type ClusterResource struct {
	Group string `json:"group"`
	Kind  string `json:"kind"`
	Name  string `json:"name,omitempty"`
}

func (gk GroupKind) matches(group, kind string) bool {
	return glob(gk.Group, group) && glob(gk.Kind, kind)
}

func (c ClusterResource) matches(group, kind, name string) bool {
	return glob(c.Group, group) && glob(c.Kind, kind) && (c.Name == "" || glob(c.Name, name))
}

func glob(pattern, s string) bool {
	ok, err := path.Match(pattern, s)
	return err == nil && ok
}

// Permits reports whether the project lets its Applications deploy the
// object of group and kind named name, as Argo CD decides
// (AppProject.IsGroupKindNamePermitted): a cluster-scoped object must match
// an entry of the cluster whitelist (empty means none); a namespaced kind
// must be in the namespace whitelist when it has one (an empty list allows
// none, a missing one all), and neither may be in its blacklist.
func (p *AppProject) Permits(group, kind, name string, clusterScoped bool) bool {
	if clusterScoped {
		in := func(list []ClusterResource) bool {
			for _, c := range list {
				if c.matches(group, kind, name) {
					return true
				}
			}
			return false
		}
		return in(p.Spec.ClusterResourceWhitelist) && !in(p.Spec.ClusterResourceBlacklist)
	}
	in := func(list []GroupKind) bool {
		for _, gk := range list {
			if gk.matches(group, kind) {
				return true
			}
		}
		return false
	}
	white := p.Spec.NamespaceResourceWhitelist
	return (white == nil || in(white)) && !in(p.Spec.NamespaceResourceBlacklist)
}

// PermitsDestination reports whether the project lets its Applications
// deploy to namespace ns of the cluster server (or name).
func (p *AppProject) PermitsDestination(d Destination, ns string) bool {
	for _, pd := range p.Spec.Destinations {
		if (pd.Server != "" && glob(pd.Server, d.Server)) || (pd.Name != "" && glob(pd.Name, d.Name)) {
			if glob(pd.Namespace, ns) {
				return true
			}
		}
	}
	return false
}

// PermitsSource reports whether the project allows repoURL.
func (p *AppProject) PermitsSource(repoURL string) bool {
	for _, r := range p.Spec.SourceRepos {
		if glob(r, repoURL) {
			return true
		}
	}
	return false
}
