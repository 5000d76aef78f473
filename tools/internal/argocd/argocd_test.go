package argocd

import "testing"

func TestPermits(t *testing.T) {
	p := &AppProject{Spec: AppProjectSpec{
		SourceRepos:                []string{"https://github.com/botfleet/*"},
		Destinations:               []Destination{{Server: "https://kubernetes.default.svc", Namespace: "infra-bot-*"}},
		ClusterResourceWhitelist:   []GroupKind{{Group: "", Kind: "Namespace"}},
		NamespaceResourceWhitelist: []GroupKind{{Group: "apps", Kind: "*"}, {Group: "", Kind: "Service"}},
		NamespaceResourceBlacklist: []GroupKind{{Group: "apps", Kind: "DaemonSet"}},
	}}
	tests := []struct {
		group, kind string
		cluster     bool
		want        bool
	}{
		{"apps", "Deployment", false, true},
		{"apps", "DaemonSet", false, false}, // blacklisted
		{"", "Service", false, true},
		{"", "Secret", false, false},
		{"", "Namespace", true, true},
		{"", "PersistentVolume", true, false},
	}
	for _, tt := range tests {
		if got := p.Permits(tt.group, tt.kind, tt.cluster); got != tt.want {
			t.Errorf("Permits(%q, %q, %v) = %v, want %v", tt.group, tt.kind, tt.cluster, got, tt.want)
		}
	}
	open := &AppProject{}
	if !open.Permits("", "Secret", false) || open.Permits("", "Namespace", true) {
		t.Error("a project without lists: want every namespaced kind and no cluster-scoped one")
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
