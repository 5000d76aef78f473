package validate

import (
	"fmt"
	"path"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/botfleet/botfleet/tools/internal/secretstore"
)

// esoAPIVersion is the External Secrets Operator's API that the bots'
// overlays use (the CRDs of tools/internal/kubeschema's data).
const esoAPIVersion = "external-secrets.io/v1"

// SecretsDirEnv is the variable that names where a bot's pod mounts its
// Slack Secret, so that the bot sees a rotation (botmain restarts on it).
const SecretsDirEnv = "BOT_SECRETS_DIR"

// ExternalSecret is the part of the operator's ExternalSecret validate
// reads; the CRD's schema checks the rest.
type ExternalSecret struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		RefreshInterval string `json:"refreshInterval"`
		SecretStoreRef  struct {
			Kind string `json:"kind"`
			Name string `json:"name"`
		} `json:"secretStoreRef"`
		Target struct {
			Name string `json:"name"`
		} `json:"target"`
		Data []struct {
			SecretKey string `json:"secretKey"`
			RemoteRef struct {
				Key      string `json:"key"`
				Property string `json:"property"`
			} `json:"remoteRef"`
		} `json:"data"`
		DataFrom []struct {
			Extract *struct {
				Key string `json:"key"`
			} `json:"extract"`
		} `json:"dataFrom"`
	} `json:"spec"`
}

// targetName is the Secret es makes.
func (es *ExternalSecret) targetName() string {
	if es.Spec.Target.Name != "" {
		return es.Spec.Target.Name
	}
	return es.Name
}

// SecretStore is the part of the operator's SecretStore validate reads.
type SecretStore struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Provider struct {
			AWS *struct {
				Service string `json:"service"`
				Region  string `json:"region"`
				Auth    struct {
					JWT *struct {
						ServiceAccountRef struct {
							Name string `json:"name"`
						} `json:"serviceAccountRef"`
					} `json:"jwt"`
				} `json:"auth"`
			} `json:"aws"`
		} `json:"provider"`
	} `json:"spec"`
}

// crdChecked reports whether v's kind is checked field by field by its
// CRD's schema, so decoding it into its Go type need not be strict.
func crdChecked(v any) bool {
	switch v.(type) {
	case *ExternalSecret, *SecretStore:
		return true
	}
	return false
}

// checkBotSecrets checks that a bot's overlay brings its Slack tokens from
// AWS Secrets Manager (botctl secrets put) the agreed way: an ExternalSecret
// making the Secret the pod reads, through a SecretStore that signs in as
// its own ServiceAccount, and the Secret mounted so that a rotation reaches
// the running bot.
func (r *run) checkBotSecrets(t target, objects []*object) []Problem {
	var out []Problem
	problem := func(o *object, field, format string, args ...any) {
		p := Problem{Path: t.dir, Field: field, Msg: fmt.Sprintf(format, args...)}
		if o != nil {
			p.Object = o.id(false)
		}
		out = append(out, p)
	}
	find := func(kind, name string) *object {
		i := slices.IndexFunc(objects, func(o *object) bool { return o.kind == kind && o.name == name })
		if i < 0 {
			return nil
		}
		return objects[i]
	}
	kube, store, sa := secretstore.KubeSecret(t.bot), secretstore.SecretStoreName(t.bot), secretstore.ServiceAccount(t.bot)
	name := secretstore.Name(t.bot, t.env)

	es, _ := typed[*ExternalSecret](find("ExternalSecret", kube))
	if es == nil {
		problem(nil, "", "no ExternalSecret %q: the bot's tokens come from AWS Secrets Manager (%s, botctl secrets put) through one; "+
			"add external-secret.yaml as botctl new writes it", kube, name)
	} else {
		o := find("ExternalSecret", kube)
		ref := es.Spec.SecretStoreRef
		if ref.Name != store || (ref.Kind != "" && ref.Kind != "SecretStore") {
			problem(o, "spec.secretStoreRef", "%s %q, want SecretStore %q: the bot's own store, whose role reads only its secret", ref.Kind, ref.Name, store)
		}
		if es.Spec.Target.Name != "" && es.Spec.Target.Name != kube {
			problem(o, "spec.target.name", "%q, want %q: the Secret the pod reads", es.Spec.Target.Name, kube)
		}
		if len(es.Spec.DataFrom) != 1 || es.Spec.DataFrom[0].Extract == nil || es.Spec.DataFrom[0].Extract.Key != name {
			problem(o, "spec.dataFrom", "want one extract of %q: the secret botctl secrets put writes for this bot and environment", name)
		}
		if ri := es.Spec.RefreshInterval; ri == "0" || ri == "0s" {
			problem(o, "spec.refreshInterval", "%q never refreshes: a rotated token would never reach the bot; use 1m", ri)
		}
	}

	// Other ExternalSecrets of the bot (the webhook's token alone, for
	// Alertmanager) read the same secret through the same store.
	for _, o := range objects {
		x, ok := typed[*ExternalSecret](o)
		if !ok || o.name == kube {
			continue
		}
		if ref := x.Spec.SecretStoreRef; ref.Name != store || (ref.Kind != "" && ref.Kind != "SecretStore") {
			problem(o, "spec.secretStoreRef", "%s %q, want SecretStore %q: the bot's own store, whose role reads only its secret", ref.Kind, ref.Name, store)
		}
		for i, d := range x.Spec.Data {
			if d.RemoteRef.Key != name {
				problem(o, fmt.Sprintf("spec.data[%d].remoteRef.key", i), "%q, want %q: the secret botctl secrets put writes for this bot and environment", d.RemoteRef.Key, name)
			}
		}
	}

	ss, _ := typed[*SecretStore](find("SecretStore", store))
	switch {
	case ss == nil:
		problem(nil, "", "no SecretStore %q for the ExternalSecret %q", store, kube)
	case ss.Spec.Provider.AWS == nil || ss.Spec.Provider.AWS.Service != "SecretsManager":
		problem(find("SecretStore", store), "spec.provider.aws.service", "want SecretsManager: botctl secrets put writes there")
	default:
		o, aws := find("SecretStore", store), ss.Spec.Provider.AWS
		if aws.Region != r.s.AWS.Region {
			problem(o, "spec.provider.aws.region", "%q, want %q (botfleet.yaml aws.region)", aws.Region, r.s.AWS.Region)
		}
		switch {
		case aws.Auth.JWT == nil:
			problem(o, "spec.provider.aws.auth.jwt", "missing: the store signs in with IRSA as its ServiceAccount %q", sa)
		case aws.Auth.JWT.ServiceAccountRef.Name == t.bot:
			problem(o, "spec.provider.aws.auth.jwt.serviceAccountRef.name", "%q is the bot's own ServiceAccount: the store needs its own, %q, so that the bot's role never reads Secrets Manager", t.bot, sa)
		case aws.Auth.JWT.ServiceAccountRef.Name != sa:
			problem(o, "spec.provider.aws.auth.jwt.serviceAccountRef.name", "%q, want %q", aws.Auth.JWT.ServiceAccountRef.Name, sa)
		}
	}
	if acct, _ := typed[*corev1.ServiceAccount](find("ServiceAccount", sa)); acct == nil {
		problem(nil, "", "no ServiceAccount %q: the SecretStore's own, with its IRSA role %s", sa, secretstore.RoleARN(r.s.AWS.AccountID, t.env))
	} else if _, ok := acct.Annotations[RoleARNKey]; !ok {
		problem(find("ServiceAccount", sa), "metadata.annotations", "no %s: want %s", RoleARNKey, secretstore.RoleARN(r.s.AWS.AccountID, t.env))
	}

	if d, _ := typed[*appsv1.Deployment](find("Deployment", t.bot)); d != nil {
		checkSecretMount(func(field, format string, args ...any) {
			problem(find("Deployment", t.bot), field, format, args...)
		}, d, kube)
	}
	return out
}

// checkSecretMount checks that the bot's container mounts the Secret kube
// where BOT_SECRETS_DIR says: the kubelet refreshes a mounted Secret (not
// env vars), so that is how the bot learns of a rotation and restarts.
func checkSecretMount(add func(field, format string, args ...any), d *appsv1.Deployment, kube string) {
	spec := d.Spec.Template.Spec
	vol := ""
	for _, v := range spec.Volumes {
		if v.Secret != nil && v.Secret.SecretName == kube {
			vol = v.Name
		}
	}
	if vol == "" {
		add("spec.template.spec.volumes", "no volume of the Secret %q: a rotated token would not reach the running bot (mount it and set %s)", kube, SecretsDirEnv)
		return
	}
	for i, c := range spec.Containers {
		dir := ""
		for _, e := range c.Env {
			if e.Name == SecretsDirEnv {
				dir = e.Value
			}
		}
		mounted := slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == vol && m.MountPath == dir && m.SubPath == "" })
		if dir == "" || !mounted {
			add(fmt.Sprintf("spec.template.spec.containers[%d]", i), "want the volume %q mounted (without subPath, which the kubelet never refreshes) at the path %s names", vol, SecretsDirEnv)
		}
	}
}

// typed returns o's Go value as T.
func typed[T any](o *object) (T, bool) {
	var zero T
	if o == nil || o.typed == nil {
		return zero, false
	}
	v, ok := o.typed.(T)
	return v, ok
}

// Where the operator's install is described.
const (
	ESOValuesFile = "manifests/bootstrap/external-secrets.values.yaml"
	ESONamespace  = "external-secrets"
	// fargateKubeletPort is the port Fargate's own kubelet listens on in
	// every Fargate pod, and the chart's default webhook port.
	fargateKubeletPort = 10250
)

// checkOperator checks the External Secrets Operator's install: its Helm
// values move the webhook off Fargate's kubelet port, and the bootstrap
// (manifests/README.md, when present) gives its namespace a Fargate
// profile, without which its pods stay Pending on a cluster with no nodes.
func (r *run) checkOperator() {
	data, err := r.v.FS.ReadFile(r.abs(ESOValuesFile))
	if err != nil {
		r.addProblem(Problem{Path: ESOValuesFile, Msg: "missing: the External Secrets Operator's Helm values (its webhook port on Fargate)"})
		return
	}
	var v struct {
		Webhook struct {
			Port int `json:"port"`
		} `json:"webhook"`
	}
	if err := yaml.Unmarshal(data, &v); err != nil {
		r.addProblem(Problem{Path: ESOValuesFile, Msg: err.Error()})
		return
	}
	if v.Webhook.Port == 0 || v.Webhook.Port == fargateKubeletPort {
		r.addProblem(Problem{Path: ESOValuesFile, Msg: fmt.Sprintf("webhook.port %d: the chart's default %d is Fargate's kubelet port, which the webhook cannot bind on Fargate; set webhook.port: 9443",
			v.Webhook.Port, fargateKubeletPort)})
	}
	readme := path.Join(ManifestsDir, "README.md")
	doc, err := r.v.FS.ReadFile(r.abs(readme))
	if err != nil {
		return // fixtures without docs
	}
	if !strings.Contains(string(doc), "--selectors namespace="+ESONamespace) {
		r.addProblem(Problem{Path: readme, Msg: fmt.Sprintf("the bootstrap creates no Fargate profile for namespace %s (aws eks create-fargate-profile ... --selectors namespace=%s): the operator's pods would stay Pending", ESONamespace, ESONamespace)})
	}
}
