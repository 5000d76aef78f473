package validate

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
)

// The paths a bot serves on BOT_HTTP_ADDR (the runtime contract).
const (
	MetricsPath = "/metrics"
	// HooksPath holds the webhooks, /hooks/<name>.
	HooksPath = "/hooks"
)

// SlackPaths are what Slack calls in HTTP mode: the Events API,
// interactivity, slash commands and external select options.
var SlackPaths = []string{"/slack/events", "/slack/interactive", "/slack/commands", "/slack/options"}

// privatePaths serve the cluster only: Prometheus and the kubelet's probes.
var privatePaths = []string{MetricsPath, ReadyPath, HealthPath}

// checkIngress refuses an Ingress that routes more than a bot's public
// paths: Exact SlackPaths, and webhooks under HooksPath. A path that reaches
// /metrics, /readyz or /healthz, or every path, is named as such.
func checkIngress(add addFunc, bot string, ing *networkingv1.Ingress) {
	if ing.Spec.DefaultBackend != nil {
		add("spec.defaultBackend", "a catch-all: it routes every path, %s included, to the internet; route only the bot's public paths", strings.Join(privatePaths, ", "))
	}
	for i, rule := range ing.Spec.Rules {
		if rule.HTTP == nil {
			continue
		}
		for j, p := range rule.HTTP.Paths {
			f := fmt.Sprintf("spec.rules[%d].http.paths[%d]", i, j)
			typ := networkingv1.PathTypeImplementationSpecific
			if p.PathType != nil {
				typ = *p.PathType
			}
			var reached []string
			for _, priv := range privatePaths {
				if routes(typ, p.Path, priv) {
					reached = append(reached, priv)
				}
			}
			switch {
			case len(reached) == len(privatePaths):
				add(f, "%s %q is a catch-all: it routes %s to the internet; route only the bot's public paths (%s)", typ, p.Path, strings.Join(reached, ", "), publicPaths())
			case len(reached) > 0:
				add(f, "%s %q routes %s to the internet; it serves the cluster only", typ, p.Path, strings.Join(reached, ", "))
			case !public(typ, p.Path):
				add(f, "%s %q is not one of a bot's public paths (%s)", typ, p.Path, publicPaths())
			}
			if s := p.Backend.Service; bot != "" && (s == nil || s.Name != bot) {
				add(f+".backend", "want the bot's own Service %q", bot)
			}
		}
	}
}

func publicPaths() string {
	return "Exact " + strings.Join(SlackPaths, ", ") + ", and webhooks: Prefix " + HooksPath
}

// public reports whether an Ingress path routes only public paths.
func public(typ networkingv1.PathType, p string) bool {
	if typ == networkingv1.PathTypeExact && slices.Contains(SlackPaths, p) {
		return true
	}
	if typ != networkingv1.PathTypeExact && typ != networkingv1.PathTypePrefix || strings.ContainsAny(p, "*?") {
		return false
	}
	return strings.TrimSuffix(p, "/") == HooksPath || strings.HasPrefix(p, HooksPath+"/")
}

// routes reports whether an Ingress path of type typ sends a request for
// target to the backend. Prefix matches whole path elements, as Kubernetes
// defines it; ImplementationSpecific is read as the AWS Load Balancer
// Controller does: a path pattern in which * matches any characters and ?
// one.
func routes(typ networkingv1.PathType, p, target string) bool {
	switch typ {
	case networkingv1.PathTypeExact:
		return p == target
	case networkingv1.PathTypePrefix:
		prefix := strings.TrimSuffix(p, "/")
		return prefix == "" || target == prefix || strings.HasPrefix(target, prefix+"/")
	default:
		pattern := strings.NewReplacer(`\*`, `.*`, `\?`, `.`).Replace(regexp.QuoteMeta(p))
		return regexp.MustCompile("^" + pattern + "$").MatchString(target)
	}
}
