package argocd

import "testing"

func TestPermits(t *testing.T) {
	p := &AppProject{Spec: AppProjectSpec{
		SourceRepos:                []string{"https://github.com/botfleet/*"},
		Destinations:               []Destination{{Server: "https://kubernetes.default.svc", Namespace: "infra-bot-*"}},
		ClusterResourceWhitelist:   []ClusterResource{{Group: "", Kind: "Namespace", Name: "infra-bot-*"}, {Group: "storage.k8s.io", Kind: "StorageClass"}},
		NamespaceResourceWhitelist: []GroupKind{{Group: "apps", Kind: "*"}, {Group: "", Kind: "Service"}},
		NamespaceResourceBlacklist: []GroupKind{{Group: "apps", Kind: "DaemonSet"}},
	}}
	tests := []struct {
		group, kind, name string
		cluster           bool
		want              bool
	}{
		{"apps", "Deployment", "x", false, true},
		{"apps", "DaemonSet", "x", false, false}, // blacklisted
		{"", "Service", "x", false, true},
		{"", "Secret", "x", false, false},
		{"", "Namespace", "infra-bot-dev", true, true},
		{"", "Namespace", "kube-system", true, false}, // not the name
		{"storage.k8s.io", "StorageClass", "any", true, true},
		{"", "PersistentVolume", "x", true, false},
	}
	for _, tt := range tests {
		if got := p.Permits(tt.group, tt.kind, tt.name, tt.cluster); got != tt.want {
			t.Errorf("Permits(%q, %q, %q, %v) = %v, want %v", tt.group, tt.kind, tt.name, tt.cluster, got, tt.want)
		}
	}
	open := &AppProject{}
	if !open.Permits("", "Secret", "x", false) || open.Permits("", "Namespace", "x", true) {
		t.Error("a project without lists: want every namespaced kind and no cluster-scoped one")
	}
	none := &AppProject{Spec: AppProjectSpec{NamespaceResourceWhitelist: []GroupKind{}}}
	if none.Permits("", "ConfigMap", "x", false) {
		t.Error("an empty namespace whitelist: want no namespaced kind, as Argo CD")
	}
	d := Destination{Server: "https://kubernetes.default.svc"}
	if !p.PermitsDestination(d, "infra-bot-dev") || p.PermitsDestination(d, "kube-system") {
		t.Error("PermitsDestination: want infra-bot-dev only")
	}
	if p.PermitsDestination(Destination{Server: "https://other"}, "infra-bot-dev") {
		t.Error("PermitsDestination: another cluster allowed")
	}
	if !p.PermitsSource("https://github.com/botfleet/botfleet.git") || p.PermitsSource("https://github.com/evil/botfleet.git") {
		t.Error("PermitsSource: want botfleet's repos only")
	}
}
