package validate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "sigs.k8s.io/json"

	"github.com/botfleet/botfleet/tools/internal/argocd"
	"github.com/botfleet/botfleet/tools/internal/awsplatform"
	"github.com/botfleet/botfleet/tools/internal/kubeschema"
)

// object is one object of a build.
type object struct {
	apiVersion, group, kind, name, namespace string
	clusterScoped                            bool
	raw                                      []byte         // JSON
	m                                        map[string]any // raw decoded, numbers as json.Number
	typed                                    any            // decoded into its Go type; nil when that failed
}

func newObject(js []byte, clusterScoped bool) (*object, error) {
	d := json.NewDecoder(bytes.NewReader(js))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	o := &object{raw: js, m: m, clusterScoped: clusterScoped}
	o.apiVersion, _ = m["apiVersion"].(string)
	o.kind, _ = m["kind"].(string)
	o.group = schema.FromAPIVersionAndKind(o.apiVersion, o.kind).Group
	if md, ok := m["metadata"].(map[string]any); ok {
		o.name, _ = md["name"].(string)
		o.namespace, _ = md["namespace"].(string)
	}
	return o, nil
}

// id names the object in a Problem; withNamespace adds its namespace.
func (o *object) id(withNamespace bool) string {
	if withNamespace && o.namespace != "" {
		return o.kind + "/" + o.namespace + "/" + o.name
	}
	return o.kind + "/" + o.name
}

func (o *object) labels() map[string]string {
	if mo, ok := o.typed.(metav1.Object); ok {
		return mo.GetLabels()
	}
	return nil
}

func (o *object) annotations() map[string]string {
	if mo, ok := o.typed.(metav1.Object); ok {
		return mo.GetAnnotations()
	}
	return nil
}

// scheme knows the built-in kinds a botfleet repo may hold.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, networkingv1.AddToScheme,
		policyv1.AddToScheme, rbacv1.AddToScheme, autoscalingv2.AddToScheme, storagev1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

// Prometheus Operator kinds (monitoring.coreos.com/v1), with the fields this
// repo uses. Their CRDs are not embedded, so strict decoding is their check.
const monitoringAPIVersion = "monitoring.coreos.com/v1"

// PrometheusRule holds alerting and recording rules.
type PrometheusRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Groups []RuleGroup `json:"groups"`
	} `json:"spec"`
}

// RuleGroup is a PrometheusRule's group.
type RuleGroup struct {
	Name     string `json:"name"`
	Interval string `json:"interval,omitempty"`
	Rules    []Rule `json:"rules"`
}

// Rule is one alerting or recording rule.
type Rule struct {
	Alert       string            `json:"alert,omitempty"`
	Record      string            `json:"record,omitempty"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// ServiceMonitor tells Prometheus which Services to scrape.
type ServiceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector          metav1.LabelSelector `json:"selector"`
		NamespaceSelector *struct {
			Any        bool     `json:"any,omitempty"`
			MatchNames []string `json:"matchNames,omitempty"`
		} `json:"namespaceSelector,omitempty"`
		Endpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path,omitempty"`
			Interval string `json:"interval,omitempty"`
			Scheme   string `json:"scheme,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// monitoringAlphaAPIVersion is the Operator's AlertmanagerConfig's version.
const monitoringAlphaAPIVersion = "monitoring.coreos.com/v1alpha1"

// AlertmanagerConfig adds a route and receivers to the cluster's
// Alertmanager, for alerts of its own namespace.
type AlertmanagerConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Route *struct {
			Receiver       string   `json:"receiver"`
			GroupBy        []string `json:"groupBy,omitempty"`
			GroupWait      string   `json:"groupWait,omitempty"`
			GroupInterval  string   `json:"groupInterval,omitempty"`
			RepeatInterval string   `json:"repeatInterval,omitempty"`
		} `json:"route"`
		Receivers []struct {
			Name           string `json:"name"`
			WebhookConfigs []struct {
				URL          string `json:"url"`
				SendResolved *bool  `json:"sendResolved,omitempty"`
				MaxAlerts    int    `json:"maxAlerts,omitempty"`
				HTTPConfig   *struct {
					Authorization *struct {
						Type        string                    `json:"type,omitempty"`
						Credentials *corev1.SecretKeySelector `json:"credentials,omitempty"`
					} `json:"authorization,omitempty"`
				} `json:"httpConfig,omitempty"`
			} `json:"webhookConfigs,omitempty"`
		} `json:"receivers"`
	} `json:"spec"`
}

// newTyped returns an empty value of o's Go type, or nil.
func newTyped(o *object) any {
	gvk := schema.FromAPIVersionAndKind(o.apiVersion, o.kind)
	if scheme.Recognizes(gvk) {
		v, err := scheme.New(gvk)
		if err == nil {
			return v
		}
	}
	switch o.apiVersion + "/" + o.kind {
	case argocd.APIVersion + "/Application":
		return &argocd.Application{}
	case argocd.APIVersion + "/ApplicationSet":
		return &argocd.ApplicationSet{}
	case argocd.APIVersion + "/AppProject":
		return &argocd.AppProject{}
	case monitoringAPIVersion + "/PrometheusRule":
		return &PrometheusRule{}
	case monitoringAPIVersion + "/ServiceMonitor":
		return &ServiceMonitor{}
	case monitoringAlphaAPIVersion + "/AlertmanagerConfig":
		return &AlertmanagerConfig{}
	case esoAPIVersion + "/ExternalSecret":
		return &ExternalSecret{}
	case esoAPIVersion + "/SecretStore":
		return &SecretStore{}
	case awsplatform.IAMAPIVersion + "/Role":
		return &ACKRole{}
	case awsplatform.ECRAPIVersion + "/Repository":
		return &ACKRepository{}
	}
	return nil
}

var goTypeErr = regexp.MustCompile(`cannot unmarshal (\w+) into Go struct field \w+\.(\S+) of type (\S+)`)

// decode decodes o strictly into its Go type (setting o.typed) and returns
// what does not fit: unknown and duplicate fields, wrong types.
func decode(o *object) []kubeschema.FieldError {
	into := newTyped(o)
	if into == nil {
		return []kubeschema.FieldError{{Msg: fmt.Sprintf("unknown kind %s %s: botctl validate has no Go type for it (tools/internal/validate)", o.apiVersion, o.kind)}}
	}
	if crdChecked(into) {
		// The operator's CRD schema checks every field (kubeschema); its
		// Go type here holds only what validate reads.
		if err := kjson.UnmarshalCaseSensitivePreserveInts(o.raw, into); err != nil {
			return []kubeschema.FieldError{{Msg: "cannot decode: " + err.Error()}}
		}
		o.typed = into
		return nil
	}
	strict, err := kjson.UnmarshalStrict(o.raw, into)
	if err != nil {
		if m := goTypeErr.FindStringSubmatch(err.Error()); m != nil {
			return []kubeschema.FieldError{{Field: m[2], Msg: fmt.Sprintf("want %s, got %s", m[3], m[1])}}
		}
		return []kubeschema.FieldError{{Msg: "cannot decode: " + err.Error()}}
	}
	o.typed = into
	var errs []kubeschema.FieldError
	for _, e := range strict {
		if fp, ok := e.(interface{ FieldPath() string }); ok {
			msg := strings.TrimSuffix(e.Error(), " "+strconv.Quote(fp.FieldPath()))
			errs = append(errs, kubeschema.FieldError{Field: fp.FieldPath(), Msg: msg})
		} else {
			errs = append(errs, kubeschema.FieldError{Msg: e.Error()})
		}
	}
	return errs
}

// checkObject runs every check that needs only the object.
func (r *run) checkObject(t target, o *object) []Problem {
	inManifests := t.bot == ""
	var out []Problem
	add := func(field, format string, args ...any) {
		out = append(out, Problem{Path: t.dir, Object: o.id(inManifests), Field: field, Msg: fmt.Sprintf(format, args...)})
	}

	// Strictly decoded and checked against the schemas; one line per field.
	fieldErrs := decode(o)
	if errs, ok := r.schemas.Validate(o.m); ok {
		fieldErrs = append(fieldErrs, errs...)
	}
	seen := map[string]bool{}
	for _, fe := range fieldErrs {
		if fe.Field != "" && seen[fe.Field] {
			continue
		}
		seen[fe.Field] = true
		add(fe.Field, "%s", fe.Msg)
	}
	if o.typed == nil {
		return out
	}

	if _, ok := o.typed.(*appsv1.DaemonSet); ok {
		add("", "Fargate runs no DaemonSets")
	}
	if ing, ok := o.typed.(*networkingv1.Ingress); ok {
		checkIngress(add, t.bot, ing)
	}
	if meta, spec, field := podOf(o.typed); spec != nil {
		out = append(out, r.checkPod(t, o, meta, spec, field)...)
	}
	if t.bot != "" {
		out = append(out, r.checkBotObject(t, o)...)
	} else {
		out = append(out, r.checkClusterObject(t, o)...)
	}
	return out
}

// podOf returns the pod template of a workload, and its field path.
func podOf(obj any) (*metav1.ObjectMeta, *corev1.PodSpec, string) {
	switch x := obj.(type) {
	case *corev1.Pod:
		return &x.ObjectMeta, &x.Spec, "spec"
	case *appsv1.Deployment:
		return &x.Spec.Template.ObjectMeta, &x.Spec.Template.Spec, "spec.template.spec"
	case *appsv1.StatefulSet:
		return &x.Spec.Template.ObjectMeta, &x.Spec.Template.Spec, "spec.template.spec"
	case *appsv1.DaemonSet:
		return &x.Spec.Template.ObjectMeta, &x.Spec.Template.Spec, "spec.template.spec"
	case *appsv1.ReplicaSet:
		return &x.Spec.Template.ObjectMeta, &x.Spec.Template.Spec, "spec.template.spec"
	case *batchv1.Job:
		return &x.Spec.Template.ObjectMeta, &x.Spec.Template.Spec, "spec.template.spec"
	case *batchv1.CronJob:
		return &x.Spec.JobTemplate.Spec.Template.ObjectMeta, &x.Spec.JobTemplate.Spec.Template.Spec, "spec.jobTemplate.spec.template.spec"
	}
	return nil, nil, ""
}
