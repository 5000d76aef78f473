package validate

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/botfleet/botfleet/tools/internal/argocd"
)

// Fargate logging's names, fixed by EKS.
const (
	ObservabilityNamespace = "aws-observability"
	LoggingConfigMap       = "aws-logging"
)

// Pod Security admission's modes: each has a label for its level and one
// for the version of the standard ("latest" when unset).
var psaModes = []string{"enforce", "warn", "audit"}

const psaLabelPrefix = "pod-security.kubernetes.io/"

var (
	regionLine = regexp.MustCompile(`(?m)^\s*region\s+(\S+)\s*$`)
	duration   = regexp.MustCompile(`^([0-9]+(ms|s|m|h|d|w|y))+$`)
)

// checkClusterObject checks an object of manifests/ against the settings.
func (r *run) checkClusterObject(t target, o *object) []Problem {
	var out []Problem
	add := r.adder(t, o, &out)
	switch x := o.typed.(type) {
	case *corev1.Namespace:
		_, isEnv := r.s.EnvOfNamespace(x.Name)
		for _, mode := range psaModes {
			level := psaLabelPrefix + mode
			if isEnv && x.Labels[level] != "restricted" {
				add("metadata.labels", "%s is %q, want restricted: the bots' namespaces enforce it, and warn and audit at it so that kubectl and the audit log show what a newer standard refuses", level, x.Labels[level])
			}
			if v, ok := x.Labels[level+"-version"]; ok && v != "latest" && v != "v"+r.s.Kubernetes.Version {
				add("metadata.labels", "%s-version is %q, want %q (botfleet.yaml kubernetes.version) or latest", level, v, "v"+r.s.Kubernetes.Version)
			}
		}
	case *corev1.PersistentVolume:
		csi := x.Spec.CSI
		if csi == nil || csi.Driver != EFSDriver {
			break
		}
		if !slices.Contains(x.Spec.AccessModes, corev1.ReadWriteMany) {
			add("spec.accessModes", "want ReadWriteMany: every bot of the environment mounts it")
		}
		cr := x.Spec.ClaimRef
		if cr == nil {
			add("spec.claimRef", "missing: a static EFS volume is bound to its environment's claim %s", EFSClaim)
			break
		}
		env, ok := r.s.EnvOfNamespace(cr.Namespace)
		if !ok {
			add("spec.claimRef.namespace", "%q is no environment's namespace (botfleet.yaml environments)", cr.Namespace)
			break
		}
		if cr.Name != EFSClaim {
			add("spec.claimRef.name", "%q, want %q", cr.Name, EFSClaim)
		}
		if want := r.s.Environments[env].EFS.VolumeHandle(); csi.VolumeHandle != want {
			add("spec.csi.volumeHandle", "%q, want %q (botfleet.yaml environments.%s.efs)", csi.VolumeHandle, want, env)
		}
	case *corev1.ConfigMap:
		if x.Namespace != ObservabilityNamespace || x.Name != LoggingConfigMap {
			break
		}
		m := regionLine.FindStringSubmatch(x.Data["output.conf"])
		if m == nil || m[1] != r.s.AWS.Region {
			got := "none"
			if m != nil {
				got = m[1]
			}
			add(`data["output.conf"]`, "region is %s, want %s (botfleet.yaml aws.region)", got, r.s.AWS.Region)
		}
	case *AlertmanagerConfig:
		var names []string
		for i, rc := range x.Spec.Receivers {
			names = append(names, rc.Name)
			for j, wh := range rc.WebhookConfigs {
				f := fmt.Sprintf("spec.receivers[%d].webhookConfigs[%d]", i, j)
				if u, err := url.Parse(wh.URL); err != nil || !strings.HasPrefix(u.Path, "/hooks/") {
					add(f+".url", "%q: want a bot's webhook, http://<bot>.<namespace>.svc:8080/hooks/<name>", wh.URL)
				}
				if wh.HTTPConfig == nil || wh.HTTPConfig.Authorization == nil || wh.HTTPConfig.Authorization.Credentials == nil {
					add(f+".httpConfig.authorization.credentials", "missing: a bot's webhook refuses requests without its token (401)")
				}
			}
		}
		if x.Spec.Route == nil || !slices.Contains(names, x.Spec.Route.Receiver) {
			add("spec.route.receiver", "want one of the receivers %q", names)
		}
	case *PrometheusRule:
		for i, g := range x.Spec.Groups {
			for j, rule := range g.Rules {
				f := fmt.Sprintf("spec.groups[%d].rules[%d]", i, j)
				if (rule.Alert == "") == (rule.Record == "") {
					add(f, "want one of alert and record")
				}
				if strings.TrimSpace(rule.Expr) == "" {
					add(f+".expr", "empty")
				}
				if rule.For != "" && !duration.MatchString(rule.For) {
					add(f+".for", "%q is not a Prometheus duration like 10m", rule.For)
				}
			}
		}
	}
	if o.group == argocd.Group && o.namespace != r.s.ArgoCD.Namespace {
		add("metadata.namespace", "%q, want %q (botfleet.yaml argocd.namespace)", o.namespace, r.s.ArgoCD.Namespace)
	}
	return out
}
