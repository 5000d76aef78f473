package validate

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The rollout contract (docs/architecture.md, "Rollouts and replicas").
const (
	// MaxReplicas is the most steady replicas a bot may ask for: what
	// botkit's shared state is built and tested for.
	MaxReplicas = 2
	// HTTPPreStop is the least a bot behind an Ingress sleeps before its
	// SIGTERM, serving, while the load balancer stops sending it requests.
	HTTPPreStop = 20 * time.Second
	// StopMargin is what the pod's grace must hold after BOT_GRACE_PERIOD:
	// botkit cancels what still runs, records it and exits.
	StopMargin = 5 * time.Second
	// TwoReplicas is the component that asks for two replicas and their
	// PodDisruptionBudget.
	TwoReplicas = ManifestsDir + "/components/two-replicas"
	// ALBIngress is the component of a bot in HTTP Events API mode.
	ALBIngress = ManifestsDir + "/components/alb-ingress"
	// ReadinessGateLabel on a namespace has the AWS Load Balancer
	// Controller add a readiness gate to each pod behind an ALB target
	// group: the pod is Ready once the ALB sends it requests.
	ReadinessGateLabel = "elbv2.k8s.aws/pod-readiness-gate-inject"
)

// baseDeployment is where a bot's Deployment is written.
func baseDeployment(bot string) string {
	return path.Join(BotsDir, bot, ManifestsDir, "base", "deployment.yaml")
}

// replicasOf is a Deployment's replicas, Kubernetes' default 1 when unset.
func replicasOf(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

// componentLine is what an overlay lists to use a component of manifests/.
func componentLine(component string) string {
	return "../../../../../" + component
}

// checkStrategy checks a bot's replicas and rollout strategy: the new pod
// is connected (Ready) before the old one stops, one pod at a time.
func (r *run) checkStrategy(t target, d *appsv1.Deployment, add addFunc) {
	n := replicasOf(d)
	if n < 1 || n > MaxReplicas {
		add("spec.replicas", "%d, want 1, or 2 with the component %s in %s/kustomization.yaml (it adds the PodDisruptionBudget)", n, TwoReplicas, t.dir)
	}
	fix := fmt.Sprintf("set strategy type RollingUpdate, rollingUpdate maxSurge 1 and maxUnavailable 0 in %s", baseDeployment(t.bot))
	switch d.Spec.Strategy.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if n > 1 {
			add("spec.strategy.type", "Recreate with %d replicas stops every pod before it starts one: the bot is off Slack for the whole rollout; %s", n, fix)
		}
		return
	case "", appsv1.RollingUpdateDeploymentStrategyType:
	default:
		return // the schema check reports it
	}
	ru := d.Spec.Strategy.RollingUpdate
	if ru == nil {
		ru = &appsv1.RollingUpdateDeployment{}
	}
	if !isInt(ru.MaxUnavailable, 0) {
		add("spec.strategy.rollingUpdate.maxUnavailable", "%s, want 0: the old pod must keep its Slack connection until the new one is connected; %s", intOrDefault(ru.MaxUnavailable), fix)
	}
	if !isInt(ru.MaxSurge, 1) {
		add("spec.strategy.rollingUpdate.maxSurge", "%s, want 1: one new pod at a time, which the stray connection alert allows for (replicas plus 1); %s", intOrDefault(ru.MaxSurge), fix)
	}
}

func isInt(v *intstr.IntOrString, want int32) bool {
	return v != nil && v.Type == intstr.Int && v.IntVal == want
}

func intOrDefault(v *intstr.IntOrString) string {
	if v == nil {
		return "not set (Kubernetes' default is 25%)"
	}
	return fmt.Sprintf("%q", v.String())
}

// preStopSleep is how long a container's preStop hook sleeps before its
// SIGTERM.
func preStopSleep(c *corev1.Container) time.Duration {
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
		return 0
	}
	return time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
}

// checkGrace checks that the pod's terminationGracePeriodSeconds holds what
// happens after the kubelet starts stopping it: the preStop sleep, then
// botkit's BOT_GRACE_PERIOD for running commands, then StopMargin.
func checkGrace(spec *corev1.PodSpec, field string, add addFunc) {
	grace := time.Duration(ShutdownGrace) * time.Second
	var preStop time.Duration
	for i := range spec.Containers {
		c := &spec.Containers[i]
		preStop = max(preStop, preStopSleep(c))
		for _, e := range c.Env {
			if e.Name != "BOT_GRACE_PERIOD" {
				continue
			}
			if d, err := time.ParseDuration(e.Value); err != nil || d < 0 {
				add(fmt.Sprintf("%s.containers[%d].env", field, i), "BOT_GRACE_PERIOD is %q: want a duration such as 25s or 30m (the bot refuses to start)", e.Value)
			} else {
				grace = max(grace, d)
			}
		}
	}
	want := preStop + grace + StopMargin
	if g := spec.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second < want {
		why := fmt.Sprintf("botkit lets running commands finish for BOT_GRACE_PERIOD (%s) and needs %s more to stop", grace, StopMargin)
		if preStop > 0 {
			why = fmt.Sprintf("the kubelet counts it from the preStop sleep (%s), then %s", preStop, why)
		}
		add(field+".terminationGracePeriodSeconds", "%s, want at least %d: %s; a shorter grace kills commands botkit still waits for",
			optInt(g), int64(want/time.Second), why)
	}
}

// checkStateMount checks that a bot with more than one replica keeps its
// state where every process sees it: its state directory on EFS, which
// BOT_STATE_DIR names (or defaults to).
func checkStateMount(t target, n int32, spec *corev1.PodSpec, field string, add addFunc) {
	stateDir := path.Join(EFSMount, EFSStateDir, t.bot)
	for i := range spec.Containers {
		c := &spec.Containers[i]
		cf := fmt.Sprintf("%s.containers[%d]", field, i)
		mounted := slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
			return m.MountPath == stateDir && path.Clean(m.SubPath) == path.Join(EFSStateDir, t.bot) && !m.ReadOnly &&
				slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool {
					return v.Name == m.Name && v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == EFSClaim
				})
		})
		if !mounted {
			add(cf+".volumeMounts", "%d replicas without the bot's state directory: want %s/%s of the EFS claim %s mounted writable at %s by subPath (as %s has it), where botkit shares event dedupe, the inbox, interactions, jobs and schedule ticks between the processes", n, EFSStateDir, t.bot, EFSClaim, stateDir, baseDeployment(t.bot))
		}
		for _, e := range c.Env {
			if e.Name == "BOT_STATE_DIR" && path.Clean(e.Value) != stateDir && !strings.HasPrefix(path.Clean(e.Value), stateDir+"/") {
				add(cf+".env", "BOT_STATE_DIR is %q: with %d replicas it must be on the bot's state directory %s, shared by every process; set it to %s in %s", e.Value, n, stateDir, stateDir, baseDeployment(t.bot))
			}
		}
	}
}

// checkRollout checks what a bot's overlay needs as a whole for its
// rollouts and replicas: a PodDisruptionBudget that lets one pod go at a
// time with two replicas (and none that blocks the one pod's eviction), and
// behind an Ingress, a preStop sleep that keeps the old pod serving until
// the load balancer has let it go.
func (r *run) checkRollout(t target, objects []*object) []Problem {
	var d *appsv1.Deployment
	var do *object
	for _, o := range objects {
		if x, ok := o.typed.(*appsv1.Deployment); ok && x.Name == t.bot {
			d, do = x, o
		}
	}
	if d == nil {
		return nil // checkBotOverlay reports it
	}
	var out []Problem
	addTo := func(o *object, field, format string, args ...any) {
		out = append(out, Problem{Path: t.dir, Object: o.id(false), Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	n := replicasOf(d)
	kust := t.dir + "/kustomization.yaml"
	pod := labels.Set(d.Spec.Template.Labels)
	var budget bool
	for _, o := range objects {
		pdb, ok := o.typed.(*policyv1.PodDisruptionBudget)
		if !ok {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || pdb.Spec.Selector == nil || sel.Empty() || !sel.Matches(pod) {
			continue
		}
		budget = true
		kept, ok := keptUp(pdb, n)
		switch {
		case !ok:
			addTo(o, "spec", "want minAvailable 1 (as the component %s has it)", TwoReplicas)
		case kept < 1 && n > 1:
			addTo(o, "spec", "keeps no pod of %s up through an eviction: want minAvailable 1", t.bot)
		case kept >= n && n == 1:
			addTo(o, "spec", "blocks every eviction of %s's one pod: Fargate's patching and node drains would wait on it for good; remove the budget, or ask for two replicas with the component %s in %s", t.bot, TwoReplicas, kust)
		case kept >= n:
			addTo(o, "spec", "keeps all %d pods of %s up, so it blocks every eviction: Fargate's patching and node drains would wait on it for good; want minAvailable 1", n, t.bot)
		}
	}
	if n > 1 && !budget {
		addTo(do, "spec.replicas", "%d replicas and no PodDisruptionBudget: an eviction (Fargate's patching, a drain) may take them all at once; list the component %s under components: in %s, which sets the replicas and a budget of minAvailable 1", n, TwoReplicas, kust)
	}

	var ingress string
	for _, o := range objects {
		if _, ok := o.typed.(*networkingv1.Ingress); ok {
			ingress = o.name
		}
	}
	if ingress == "" {
		return out
	}
	for i := range d.Spec.Template.Spec.Containers {
		c := &d.Spec.Template.Spec.Containers[i]
		if s := preStopSleep(c); s < HTTPPreStop {
			addTo(do, fmt.Sprintf("spec.template.spec.containers[%d].lifecycle.preStop", i), "sleeps %s behind the Ingress %s, want at least %s: a stopping pod must serve until the load balancer has stopped sending it requests; the component %s adds it", s, ingress, HTTPPreStop, ALBIngress)
		}
	}
	return out
}

// keptUp is how many of n pods pdb keeps up through evictions; ok is false
// when it says neither minAvailable nor maxUnavailable.
func keptUp(pdb *policyv1.PodDisruptionBudget, n int32) (kept int32, ok bool) {
	switch {
	case pdb.Spec.MinAvailable != nil:
		v, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MinAvailable, int(n), true)
		return int32(v), err == nil
	case pdb.Spec.MaxUnavailable != nil:
		v, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MaxUnavailable, int(n), true)
		return n - int32(v), err == nil
	}
	return 0, false
}

// checkReadinessGates checks that the namespace of each bot behind an
// Ingress has the load balancer controller gate its pods' readiness on
// their ALB targets: without it a rollout stops the old pod as soon as the
// new one answers /readyz, before the ALB sends the new one a request.
func (r *run) checkReadinessGates(results []*built, nss []found[*corev1.Namespace]) {
	for _, b := range results {
		if b.bot == "" || !slices.ContainsFunc(b.objects, func(o *object) bool { _, ok := o.typed.(*networkingv1.Ingress); return ok }) {
			continue
		}
		want, _ := r.s.Namespace(b.env)
		for _, ns := range nss {
			if ns.x.Name == want && ns.x.Labels[ReadinessGateLabel] != "enabled" {
				r.problem(ns.b, ns.o, "metadata.labels", "%s is %q, want \"enabled\": bot %s is behind an ALB (%s), and without the gate a rollout stops its old pod before the ALB sends the new one requests", ReadinessGateLabel, ns.x.Labels[ReadinessGateLabel], b.bot, b.dir)
			}
		}
	}
}
