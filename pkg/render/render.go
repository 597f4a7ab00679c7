package render

import (
	"fmt"
	"strconv"
	"strings"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	"github.com/mastoscale/mastoscale/pkg/layout"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

// Set is what a layout renders to.
type Set struct {
	// TriggerAuthentication is nil when Redis needs no password or nothing is autoscaled.
	TriggerAuthentication *kedav1alpha1.TriggerAuthentication
	Deployments           []*appsv1.Deployment
	ScaledObjects         []*kedav1alpha1.ScaledObject
}

// Objects returns every object in output order: the TriggerAuthentication, then each worker's
// Deployment followed by its ScaledObject, in the layout's worker order.
func (s *Set) Objects() []runtime.Object {
	var out []runtime.Object
	if s.TriggerAuthentication != nil {
		out = append(out, s.TriggerAuthentication)
	}
	byTarget := map[string]*kedav1alpha1.ScaledObject{}
	for _, so := range s.ScaledObjects {
		byTarget[so.Spec.ScaleTargetRef.Name] = so
	}
	for _, d := range s.Deployments {
		out = append(out, d)
		if so, ok := byTarget[d.Name]; ok {
			out = append(out, so)
		}
	}
	return out
}

// Render validates l (after defaulting a copy) and renders it. It fails with every
// validation error when the layout is invalid; warnings do not stop it.
func Render(l *layout.SidekiqLayout) (*Set, error) {
	d, report := layout.Prepare(l)
	if report.HasErrors() {
		return nil, fmt.Errorf("invalid layout: %w", report.Err())
	}
	s := &Set{TriggerAuthentication: TriggerAuthenticationFor(d)}
	for i := range d.Spec.Workers {
		w := &d.Spec.Workers[i]
		s.Deployments = append(s.Deployments, DeploymentFor(d, w))
		if w.Autoscale == nil {
			continue
		}
		so, err := ScaledObjectFor(d, w, DeploymentName(d, w))
		if err != nil {
			return nil, err
		}
		s.ScaledObjects = append(s.ScaledObjects, so)
	}
	if len(s.ScaledObjects) == 0 {
		s.TriggerAuthentication = nil
	}
	return s, nil
}

// DeploymentName is the Deployment of worker w: `<fullname>-sidekiq-<worker>`, as the charts name it.
func DeploymentName(l *layout.SidekiqLayout, w *layout.Worker) string {
	return layout.SidekiqDeploymentName(l.Spec.Release.Fullname, w.Name)
}

// SidekiqCommand is the container command of worker w:
// `bundle exec sidekiq -c N [-t T] -q q1[,w1] -q q2 ...`. -t is written only when it differs
// from Sidekiq's default.
func SidekiqCommand(w *layout.Worker) []string {
	cmd := []string{"bundle", "exec", "sidekiq", "-c", strconv.Itoa(int(*w.Concurrency))}
	if w.Timeout != nil && *w.Timeout != layout.SidekiqDefaultTimeout {
		cmd = append(cmd, "-t", strconv.Itoa(int(*w.Timeout)))
	}
	for _, q := range w.Queues {
		arg := q.Name
		if q.Weight != nil {
			arg += "," + strconv.Itoa(int(*q.Weight))
		}
		cmd = append(cmd, "-q", arg)
	}
	return cmd
}

// DeploymentFor renders the Deployment of worker w of a defaulted layout: the chart's labels
// and container name, the Sidekiq command, DB_POOL equal to the concurrency, REDIS_PASSWORD
// from the layout's Redis secret, the environment from the chart's env ConfigMap (and, for
// the legacy chart, its Secret), a grace period
// above Sidekiq's timeout, no replicas when autoscaled, and Recreate with one replica for the
// scheduler worker.
func DeploymentFor(l *layout.SidekiqLayout, w *layout.Worker) *appsv1.Deployment {
	labels := layout.SidekiqSelectorLabels(l.Spec.Release.Name, w.Name)
	envFrom := []corev1.EnvFromSource{{
		ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{
			Name: layout.EnvConfigMapName(l.Spec.Release.Fullname),
		}},
	}}
	if l.Spec.Release.Chart == string(layout.ChartLegacy) {
		envFrom = append(envFrom, corev1.EnvFromSource{
			SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: l.Spec.Release.Fullname}},
		})
	}
	env := []corev1.EnvVar{DBPoolEnv(w)}
	if a := l.Spec.Redis.Auth; a != nil && !a.Disabled {
		env = append(env, corev1.EnvVar{Name: layout.EnvRedisPassword, ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: a.SecretName}, Key: a.PasswordKey},
		}})
	}
	d := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: objectMeta(l, DeploymentName(l, w), labels),
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: w.TerminationGracePeriodSeconds,
					Containers: []corev1.Container{{
						Name:    layout.AppName,
						Image:   l.Spec.Image,
						Command: SidekiqCommand(w),
						EnvFrom: envFrom,
						Env:     env,
					}},
				},
			},
		},
	}
	if w.Autoscale == nil {
		d.Spec.Replicas = ptr.To(*w.Replicas)
	}
	if w.ConsumesScheduler() {
		d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	}
	return d
}

// DBPoolEnv is DB_POOL set to the worker's concurrency: one connection per thread.
func DBPoolEnv(w *layout.Worker) corev1.EnvVar {
	return corev1.EnvVar{Name: layout.EnvDBPool, Value: strconv.Itoa(int(*w.Concurrency))}
}

// TriggerAuthenticationFor renders the TriggerAuthentication that hands KEDA the Redis
// credentials from their Secret, or nil when Redis needs none.
func TriggerAuthenticationFor(l *layout.SidekiqLayout) *kedav1alpha1.TriggerAuthentication {
	a := l.Spec.Redis.Auth
	if a == nil || a.Disabled {
		return nil
	}
	refs := []kedav1alpha1.AuthSecretTargetRef{{Parameter: "password", Name: a.SecretName, Key: a.PasswordKey}}
	if a.UsernameKey != "" {
		refs = append(refs, kedav1alpha1.AuthSecretTargetRef{Parameter: "username", Name: a.SecretName, Key: a.UsernameKey})
	}
	return &kedav1alpha1.TriggerAuthentication{
		TypeMeta:   metav1.TypeMeta{APIVersion: kedav1alpha1.SchemeGroupVersion.String(), Kind: "TriggerAuthentication"},
		ObjectMeta: objectMeta(l, a.TriggerAuthenticationName, nil),
		Spec:       kedav1alpha1.TriggerAuthenticationSpec{SecretTargetRef: refs},
	}
}

// ScaledObjectFor renders the ScaledObject of autoscaled worker w of a defaulted layout,
// targeting the Deployment named target, and checks it with KEDA's own validators.
func ScaledObjectFor(l *layout.SidekiqLayout, w *layout.Worker, target string) (*kedav1alpha1.ScaledObject, error) {
	a := w.Autoscale
	so := &kedav1alpha1.ScaledObject{
		TypeMeta:   metav1.TypeMeta{APIVersion: kedav1alpha1.SchemeGroupVersion.String(), Kind: "ScaledObject"},
		ObjectMeta: objectMeta(l, target, layout.SidekiqSelectorLabels(l.Spec.Release.Name, w.Name)),
		Spec: kedav1alpha1.ScaledObjectSpec{
			ScaleTargetRef:  &kedav1alpha1.ScaleTarget{APIVersion: "apps/v1", Kind: "Deployment", Name: target},
			PollingInterval: a.PollingInterval,
			CooldownPeriod:  a.CooldownPeriod,
			MinReplicaCount: a.MinReplicas,
			MaxReplicaCount: a.MaxReplicas,
			Triggers:        Triggers(l, w),
		},
	}
	if f := a.Fallback; f != nil && !f.Disabled {
		so.Spec.Fallback = &kedav1alpha1.Fallback{FailureThreshold: *f.FailureThreshold, Replicas: *f.Replicas}
	}
	if a.Behavior != nil && (a.Behavior.ScaleUp != nil || a.Behavior.ScaleDown != nil) {
		so.Spec.Advanced = &kedav1alpha1.AdvancedConfig{
			HorizontalPodAutoscalerConfig: &kedav1alpha1.HorizontalPodAutoscalerConfig{Behavior: a.Behavior.DeepCopy()},
		}
	}
	if err := CheckWithKEDA(so); err != nil {
		return nil, fmt.Errorf("worker %q: %w", w.Name, err)
	}
	return so, nil
}

// CheckWithKEDA runs KEDA's own cluster-free validators on so.
func CheckWithKEDA(so *kedav1alpha1.ScaledObject) error {
	c := so.DeepCopy()
	if err := kedav1alpha1.CheckReplicaCountBoundsAreValid(c); err != nil {
		return fmt.Errorf("ScaledObject %s rejected by KEDA: %w", so.Name, err)
	}
	if err := kedav1alpha1.CheckFallbackValid(c); err != nil {
		return fmt.Errorf("ScaledObject %s rejected by KEDA: %w", so.Name, err)
	}
	if err := kedav1alpha1.ValidateTriggers(c.Spec.Triggers); err != nil {
		return fmt.Errorf("ScaledObject %s rejected by KEDA: %w", so.Name, err)
	}
	return nil
}

// Triggers renders one redis (or redis-sentinel) trigger per queue of w, with the queue's
// list name (namespaced when REDIS_NAMESPACE is set) and listLength as AverageValue target,
// then the latency trigger when w has one.
func Triggers(l *layout.SidekiqLayout, w *layout.Worker) []kedav1alpha1.ScaleTriggers {
	r := &l.Spec.Redis
	triggers := make([]kedav1alpha1.ScaleTriggers, 0, len(w.Queues))
	for _, q := range w.Queues {
		md := connectionMetadata(r)
		md["listName"] = layout.ListName(r.Namespace, q.Name)
		md["listLength"] = strconv.FormatInt(w.ListLengthFor(q), 10)
		if a := w.Autoscale.ActivationListLength; a != nil {
			md["activationListLength"] = strconv.FormatInt(*a, 10)
		}
		typ := "redis"
		if r.Sentinel != nil {
			typ = "redis-sentinel"
		}
		t := kedav1alpha1.ScaleTriggers{Type: typ, Metadata: md, MetricType: autoscalingv2.AverageValueMetricType}
		if r.Auth != nil && !r.Auth.Disabled {
			t.AuthenticationRef = &kedav1alpha1.AuthenticationRef{Name: r.Auth.TriggerAuthenticationName}
		}
		triggers = append(triggers, t)
	}
	if lt := w.Autoscale.LatencyTrigger; lt != nil {
		triggers = append(triggers, LatencyTriggerFor(w))
	}
	return triggers
}

// NeverActivateSeconds is the activationThreshold of the latency trigger of a worker that may
// sleep: a job would have to wait a year. KEDA wakes a ScaledObject when ANY trigger is
// active, and a latency above 0 s is "active" by default, so without it the first waiting job
// would wake the worker and activationListLength of the redis triggers would mean nothing.
// The redis triggers alone decide 0 -> 1; above zero the HPA uses the latency as usual.
const NeverActivateSeconds = 365 * 24 * 60 * 60

// LatencyQuery is the PromQL of worker w's latency trigger, or "" without one. Every Sidekiq
// process reports the latency of every queue, so the series are copies of one value per
// queue: take the max (the oldest job over the worker's queues), never the sum.
// Mastodon's exporter labels the queue `queue`, sidekiq-prometheus-exporter labels it `name`.
func LatencyQuery(w *layout.Worker) string {
	if w.Autoscale == nil || w.Autoscale.LatencyTrigger == nil {
		return ""
	}
	label := "queue"
	if w.Autoscale.LatencyTrigger.Exporter == layout.ExporterSidekiqPrometheus {
		label = "name"
	}
	names := make([]string, len(w.Queues))
	for i, q := range w.Queues {
		names[i] = q.Name
	}
	return fmt.Sprintf(`max(sidekiq_queue_latency_seconds{%s=~"%s"})`, label, strings.Join(names, "|"))
}

// LatencyTriggerFor is the prometheus trigger of worker w's latency goal: the queue latency
// against latencyTarget in seconds. Its metricType is Value: the HPA then asks for
// ceil(replicas x latency / target) replicas, proportional to how far the goal is missed.
// AverageValue would divide the latency by the replica count, as if each pod carried a share
// of it; latency is not shared out, so AverageValue would scale in exactly when jobs wait.
func LatencyTriggerFor(w *layout.Worker) kedav1alpha1.ScaleTriggers {
	a := w.Autoscale
	md := map[string]string{
		"serverAddress": a.LatencyTrigger.ServerAddress,
		"query":         LatencyQuery(w),
		"threshold":     strconv.FormatFloat(a.LatencyTarget.Seconds(), 'f', -1, 64),
	}
	if *a.MinReplicas == 0 {
		md["activationThreshold"] = strconv.Itoa(NeverActivateSeconds)
	}
	return kedav1alpha1.ScaleTriggers{Type: "prometheus", Metadata: md, MetricType: autoscalingv2.ValueMetricType}
}

func connectionMetadata(r *layout.Redis) map[string]string {
	md := map[string]string{}
	switch {
	case r.Sentinel != nil:
		md["addresses"] = strings.Join(r.Sentinel.Addresses, ",")
		md["sentinelMaster"] = r.Sentinel.Master
	case r.Address != "":
		md["address"] = r.Address
	default:
		md["host"] = r.Host
		md["port"] = strconv.Itoa(int(*r.Port))
	}
	if r.DatabaseIndex != nil {
		md["databaseIndex"] = strconv.Itoa(int(*r.DatabaseIndex))
	}
	if r.TLS != nil && r.TLS.Enabled {
		md["enableTLS"] = "true"
		if r.TLS.UnsafeSSL {
			md["unsafeSsl"] = "true"
		}
	}
	if r.Username != "" {
		md["username"] = r.Username
	}
	return md
}

func objectMeta(l *layout.SidekiqLayout, name string, labels map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: l.Metadata.Namespace, Labels: labels}
}
