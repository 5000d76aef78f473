package validate

import (
	"fmt"
	"path"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psaapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"

	"github.com/botfleet/botfleet/tools/internal/awsplatform"
	"github.com/botfleet/botfleet/tools/internal/iampolicy"
	"github.com/botfleet/botfleet/tools/internal/secretstore"
)

// The cluster contract's values (docs/architecture.md).
const (
	LabelName    = "app.kubernetes.io/name"
	LabelPartOf  = "app.kubernetes.io/part-of"
	PartOf       = "botfleet"
	RoleARNKey   = "eks.amazonaws.com/role-arn"
	EFSClaim     = "botfleet-efs"
	EFSDriver    = "efs.csi.aws.com"
	EFSMount     = "/efs"
	TmpMount     = "/tmp"
	UID          = 65532
	HealthPath   = "/healthz"
	ReadyPath    = "/readyz"
	SecretSuffix = "-slack"
	// ShutdownGrace is how long botkit lets running commands finish after
	// SIGTERM when BOT_GRACE_PERIOD is unset (checkGrace).
	ShutdownGrace = 25
)

// psa evaluates pods against the Pod Security Standards, as the API server's
// admission does.
var psa = func() policy.Evaluator {
	e, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		panic(err)
	}
	return e
}()

type addFunc func(field, format string, args ...any)

func (r *run) adder(t target, o *object, out *[]Problem) addFunc {
	return func(field, format string, args ...any) {
		*out = append(*out, Problem{Path: t.dir, Object: o.id(t.bot == ""), Field: field, Msg: fmt.Sprintf(format, args...)})
	}
}

// eachContainer calls f with every init and app container and its path.
func eachContainer(spec *corev1.PodSpec, field string, f func(c *corev1.Container, field string)) {
	for i := range spec.InitContainers {
		f(&spec.InitContainers[i], fmt.Sprintf("%s.initContainers[%d]", field, i))
	}
	for i := range spec.Containers {
		f(&spec.Containers[i], fmt.Sprintf("%s.containers[%d]", field, i))
	}
}

// checkPod checks any pod template: Fargate's limits, Pod Security
// "restricted" at the target version, and the contract's user and root FS.
func (r *run) checkPod(t target, o *object, meta *metav1.ObjectMeta, spec *corev1.PodSpec, field string) []Problem {
	var out []Problem
	add := r.adder(t, o, &out)

	// Fargate; these are left out of the Pod Security check below, so that
	// each problem is reported once.
	spec = spec.DeepCopy()
	for _, ns := range []struct {
		name string
		on   *bool
	}{{"hostNetwork", &spec.HostNetwork}, {"hostPID", &spec.HostPID}, {"hostIPC", &spec.HostIPC}} {
		if *ns.on {
			add(field+"."+ns.name, "Fargate: pods cannot share the host's namespaces")
			*ns.on = false
		}
	}
	spec.Volumes = slices.DeleteFunc(spec.Volumes, func(v corev1.Volume) bool {
		if v.HostPath != nil {
			add(field+".volumes", "volume %q: Fargate: no hostPath volumes", v.Name)
		}
		return v.HostPath != nil
	})
	eachContainer(spec, field, func(c *corev1.Container, cf string) {
		for j := range c.Ports {
			if c.Ports[j].HostPort != 0 {
				add(fmt.Sprintf("%s.ports[%d].hostPort", cf, j), "Fargate: no host ports")
				c.Ports[j].HostPort = 0
			}
		}
		if sc := c.SecurityContext; sc != nil && sc.Privileged != nil && *sc.Privileged {
			add(cf+".securityContext.privileged", "Fargate: no privileged containers")
			sc.Privileged = nil
		}
	})

	if p := fargateSizeOf(spec); p.Size == (FargateSize{}) {
		add(field, "Fargate has no size for %s (the largest is %s): the pod would stay Pending", p.requests(), fargateSizes[len(fargateSizes)-1])
	}

	lv := psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.MajorMinorVersion(1, r.s.KubernetesMinor())}
	for _, res := range psa.EvaluatePod(lv, meta, spec) {
		if res.Allowed {
			continue
		}
		msg := "Pod Security restricted: " + res.ForbiddenReason
		if res.ForbiddenDetail != "" {
			msg += " (" + res.ForbiddenDetail + ")"
		}
		add(field, "%s", msg)
	}

	psc := spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	for _, id := range []struct {
		name string
		v    *int64
	}{{"runAsUser", psc.RunAsUser}, {"runAsGroup", psc.RunAsGroup}, {"fsGroup", psc.FSGroup}} {
		if id.name == "runAsUser" && id.v != nil && *id.v == 0 {
			continue // Pod Security reports it
		}
		if id.v == nil || *id.v != UID {
			add(field+".securityContext."+id.name, "%s, want %d: the image's user and the EFS access point's POSIX user", optInt(id.v), UID)
		}
	}
	eachContainer(spec, field, func(c *corev1.Container, cf string) {
		if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			add(cf+".securityContext.readOnlyRootFilesystem", "want true (write to /tmp or /efs)")
		}
	})
	return out
}

func optInt[T ~int32 | ~int64](v *T) string {
	if v == nil {
		return "not set"
	}
	return fmt.Sprint(*v)
}

func (r *run) checkLabels(add addFunc, bot string, labels map[string]string, field string) {
	if got := labels[LabelName]; got != bot {
		add(field, "%s is %q, want %q", LabelName, got, bot)
	}
	if got := labels[LabelPartOf]; got != PartOf {
		add(field, "%s is %q, want %q", LabelPartOf, got, PartOf)
	}
}

// checkBotObject checks an object of a bot's overlay.
func (r *run) checkBotObject(t target, o *object) []Problem {
	var out []Problem
	add := r.adder(t, o, &out)
	ns, _ := r.s.Namespace(t.env)
	if o.namespace != ns {
		add("metadata.namespace", "%q, want %q (botfleet.yaml environments.%s.namespace)", o.namespace, ns, t.env)
	}
	r.checkLabels(add, t.bot, o.labels(), "metadata.labels")
	switch x := o.typed.(type) {
	case *corev1.ServiceAccount:
		want, from := r.s.RoleARN(t.bot, t.env), "botfleet.yaml aws.roleARN"
		if x.Name == secretstore.ServiceAccount(t.bot) {
			want, from = secretstore.RoleARN(r.s.AWS.AccountID, t.env), "the environment's External Secrets role, made at the bootstrap"
		}
		arn, ok := x.Annotations[RoleARNKey]
		if ok && arn != want {
			add(`metadata.annotations["`+RoleARNKey+`"]`, "%q, want %q (%s): run `botctl init`", arn, want, from)
		}
		if x.Name == t.bot {
			// The bot's role exists only when its iam.yaml makes it
			// (manifests/platform/aws), and it is useless unannotated.
			decl := path.Join(BotsDir, t.bot, iampolicy.FileName)
			switch declared := r.v.FS.Exists(r.abs(decl)); {
			case ok && !declared:
				add(`metadata.annotations["`+RoleARNKey+`"]`, "%s: no role is made without %s: declare the actions its calls need there, then run `botctl init`", arn, decl)
			case !ok && declared:
				add("metadata.annotations", "no %s, but %s declares AWS actions: run `botctl init`, which writes %s with %s (its role in %s/%s.yaml), and list that file under patches in the overlay's kustomization.yaml", RoleARNKey, decl, awsplatform.ServiceAccountPatchPath(t.bot, t.env), want, awsplatform.Dir, t.bot)
			}
		}
	case *appsv1.Deployment:
		r.checkBotDeployment(t, x, add)
	case *batchv1.Job:
		if isConfigHook(t.bot, o) {
			r.checkConfigHook(t, x, add)
		}
	case *networkingv1.Ingress:
		for i, rule := range x.Spec.Rules {
			if strings.HasSuffix(rule.Host, ".invalid") {
				add(fmt.Sprintf("spec.rules[%d].host", i), "%q is a placeholder: set the bot's host in the overlay", rule.Host)
			}
		}
	}
	return out
}

// checkBotDeployment checks a bot's Deployment against the cluster contract.
func (r *run) checkBotDeployment(t target, d *appsv1.Deployment, add addFunc) {
	r.checkStrategy(t, d, add)
	r.checkLabels(add, t.bot, d.Spec.Template.Labels, "spec.template.metadata.labels")

	const f = "spec.template.spec"
	spec := &d.Spec.Template.Spec
	checkGrace(spec, f, add)
	if replicasOf(d) > 1 {
		checkStateMount(t, replicasOf(d), spec, f, add)
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
	}
	wantConfig := fmt.Sprintf("%s/config/%s/%s.yaml", EFSMount, t.bot, t.env)
	repo := r.s.ImageRepo(t.bot)
	for i := range spec.Containers {
		c := &spec.Containers[i]
		cf := fmt.Sprintf("%s.containers[%d]", f, i)

		if name, tag, ok := splitImage(c.Image); !ok || name != repo {
			add(cf+".image", "%q, want %s:<tag> (botfleet.yaml aws.ecrRegistry; set images[].newName in the overlay)", c.Image, repo)
		} else if tag == "" || tag == "latest" {
			add(cf+".image", "%q: want a fixed tag (the git SHA the release pipeline sets), not %q", c.Image, cmpOr(tag, "none"))
		}

		checkProbe(add, cf+".livenessProbe", c.LivenessProbe, HealthPath)
		checkProbe(add, cf+".readinessProbe", c.ReadinessProbe, ReadyPath)

		checkResources(add, cf, c)

		env := map[string]string{}
		for _, e := range c.Env {
			env[e.Name] = e.Value
		}
		if got, ok := env["BOT_ENV"]; !ok || got != t.env {
			add(cf+".env", "BOT_ENV is %q, want %q", got, t.env)
		}
		if got, ok := env["BOT_CONFIG"]; ok && got != wantConfig {
			add(cf+".env", "BOT_CONFIG is %q, want %q", got, wantConfig)
		}
		if got, ok := env["AWS_REGION"]; ok && got != r.s.AWS.Region {
			add(cf+".env", "AWS_REGION is %q, want %q (botfleet.yaml aws.region)", got, r.s.AWS.Region)
		}
		if !slices.ContainsFunc(c.EnvFrom, func(e corev1.EnvFromSource) bool { return e.SecretRef != nil }) {
			add(cf+".envFrom", "no Secret: want envFrom secretRef %s%s, the environment's Slack tokens", t.bot, SecretSuffix)
		}

		if !hasConfigMount(spec, c, t.bot) {
			add(cf+".volumeMounts", "want %s/%s of the environment's EFS claim %s mounted read-only at %s by subPath (BOT_CONFIG is there)", EFSConfigDir, t.bot, EFSClaim, path.Join(EFSMount, EFSConfigDir, t.bot))
		}
		mounts := map[string]string{}
		for _, m := range c.VolumeMounts {
			mounts[m.MountPath] = m.Name
		}
		if v, ok := volumes[mounts[TmpMount]]; !ok || v.EmptyDir == nil {
			add(cf+".volumeMounts", "want an emptyDir at %s (the root filesystem is read-only)", TmpMount)
		}
	}
}

func cmpOr(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// splitImage splits an image reference into its name and tag (without a
// digest); ok is false when it has no name.
func splitImage(image string) (name, tag string, ok bool) {
	image, _, _ = strings.Cut(image, "@")
	name = image
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		name, tag = image[:i], image[i+1:]
	}
	return name, tag, name != ""
}

func checkProbe(add addFunc, field string, p *corev1.Probe, path string) {
	switch {
	case p == nil:
		add(field, "missing: want an HTTP GET of %s on port http", path)
	case p.HTTPGet == nil || p.HTTPGet.Path != path:
		add(field, "want an HTTP GET of %s on port http", path)
	}
}

// checkBotPod runs the checks of a bot's pod template whose findings cross
// and Run use: its EFS mounts, and its Fargate size.
func (r *run) checkBotPod(b *built, o *object) {
	_, spec, field := podOf(o.typed)
	if spec == nil {
		return
	}
	b.efsDirs = append(b.efsDirs, checkEFSMounts(r.adder(b.target, o, &b.problems), b.bot, spec, field, isConfigHook(b.bot, o))...)
	if p := fargateSizeOf(spec); p.Size != (FargateSize{}) {
		b.pods = append(b.pods, PodSize{Path: b.dir, Object: o.id(false), Requests: p.requests(), Size: p.Size})
	}
}

// checkBotOverlay checks what a bot's overlay must hold as a whole.
func (r *run) checkBotOverlay(t target, objects []*object) []Problem {
	var out []Problem
	for _, want := range []string{"Deployment", "ServiceAccount", "Service"} {
		if !slices.ContainsFunc(objects, func(o *object) bool { return o.kind == want && o.name == t.bot }) {
			out = append(out, Problem{Path: t.dir, Msg: fmt.Sprintf("no %s named %q: every bot has a Deployment, a ServiceAccount and a Service named after it", want, t.bot)})
		}
	}
	out = append(out, r.checkRollout(t, objects)...)
	return append(out, r.checkConfigOverlay(t, objects)...)
}
