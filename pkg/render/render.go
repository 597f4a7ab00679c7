package render

import (
	"fmt"
	"strconv"
	"strings"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	"github.com/mastoscale/mastoscale/pkg/layout"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

// Set is what a layout renders to: the KEDA objects. The Deployments they scale are the
// chart's: the official chart runs the layout's workers (values from `mastoscale
// chart-values`), or the post-renderer and the KRM function clone the chart's own Deployment.
type Set struct {
	// TriggerAuthentication is nil when Redis needs no password or nothing is autoscaled.
	TriggerAuthentication *kedav1alpha1.TriggerAuthentication
	ScaledObjects         []*kedav1alpha1.ScaledObject
	// Scaler is mastoscale's scaler, nil when no worker scales with it.
	Scaler *ScalerObjects
}

// Objects returns every object in output order: the TriggerAuthentication, then the
// ScaledObjects in the layout's worker order.
func (s *Set) Objects() []runtime.Object {
	var out []runtime.Object
	if s.TriggerAuthentication != nil {
		out = append(out, s.TriggerAuthentication)
	}
	for _, so := range s.ScaledObjects {
		out = append(out, so)
	}
	return append(out, s.Scaler.Objects()...)
}

// FromLayout resolves l (layout.Resolve: defaults, every rule) and renders it; the error names
// every problem of an invalid layout.
func FromLayout(l *layout.SidekiqLayout) (*Set, error) {
	r, _, err := layout.Resolve(l)
	if err != nil {
		return nil, err
	}
	return Render(r)
}

// Render renders a resolved layout (layout.Resolve).
func Render(l *layout.Layout) (*Set, error) {
	s := &Set{}
	for _, w := range l.Workers {
		if !w.Autoscaled {
			continue
		}
		so, err := ScaledObjectFor(l, w, l.DeploymentName(w))
		if err != nil {
			return nil, err
		}
		s.ScaledObjects = append(s.ScaledObjects, so)
	}
	if NeedsRedisAuthentication(l) {
		s.TriggerAuthentication = TriggerAuthenticationFor(l)
	}
	s.Scaler = ScalerObjectsFor(l)
	return s, nil
}

// NeedsRedisAuthentication reports whether any autoscaled worker of l has redis triggers, which
// read the Redis password through the TriggerAuthentication.
func NeedsRedisAuthentication(l *layout.Layout) bool {
	for _, w := range l.Workers {
		if w.Autoscaled && !w.UsesSidekiqScaler() {
			return true
		}
	}
	return false
}

// TriggerAuthenticationFor renders the TriggerAuthentication that hands KEDA the Redis
// credentials from their Secret, or nil when Redis needs none.
func TriggerAuthenticationFor(l *layout.Layout) *kedav1alpha1.TriggerAuthentication {
	a := l.Redis.Auth
	if a.Name == "" {
		return nil
	}
	refs := []kedav1alpha1.AuthSecretTargetRef{{Parameter: "password", Name: a.Name, Key: a.PasswordKey}}
	if a.UsernameKey != "" {
		refs = append(refs, kedav1alpha1.AuthSecretTargetRef{Parameter: "username", Name: a.Name, Key: a.UsernameKey})
	}
	return &kedav1alpha1.TriggerAuthentication{
		TypeMeta:   metav1.TypeMeta{APIVersion: kedav1alpha1.SchemeGroupVersion.String(), Kind: "TriggerAuthentication"},
		ObjectMeta: objectMeta(l, l.Redis.TriggerAuthentication, nil),
		Spec:       kedav1alpha1.TriggerAuthenticationSpec{SecretTargetRef: refs},
	}
}

// ScaledObjectFor renders the ScaledObject of autoscaled worker w of a defaulted layout,
// targeting the Deployment named target, and checks it with KEDA's own validators.
func ScaledObjectFor(l *layout.Layout, w layout.Workload, target string) (*kedav1alpha1.ScaledObject, error) {
	a := w.Scaling
	so := &kedav1alpha1.ScaledObject{
		TypeMeta:   metav1.TypeMeta{APIVersion: kedav1alpha1.SchemeGroupVersion.String(), Kind: "ScaledObject"},
		ObjectMeta: objectMeta(l, target, layout.SidekiqSelectorLabels(l.Release.Name, w.Name)),
		Spec: kedav1alpha1.ScaledObjectSpec{
			ScaleTargetRef:  &kedav1alpha1.ScaleTarget{APIVersion: "apps/v1", Kind: "Deployment", Name: target},
			PollingInterval: ptr.To(a.PollingInterval),
			CooldownPeriod:  ptr.To(a.CooldownPeriod),
			MinReplicaCount: ptr.To(a.MinReplicas),
			MaxReplicaCount: ptr.To(a.MaxReplicas),
			Triggers:        triggers(l, w),
		},
	}
	if a.FailureThreshold > 0 {
		so.Spec.Fallback = &kedav1alpha1.Fallback{FailureThreshold: a.FailureThreshold, Replicas: a.FallbackReplicas}
	}
	if a.HasBehavior() {
		so.Spec.Advanced = &kedav1alpha1.AdvancedConfig{
			HorizontalPodAutoscalerConfig: &kedav1alpha1.HorizontalPodAutoscalerConfig{Behavior: a.Behavior.DeepCopy()},
		}
	}
	if err := checkWithKEDA(so); err != nil {
		return nil, fmt.Errorf("worker %q: %w", w.Name, err)
	}
	return so, nil
}

// checkWithKEDA runs KEDA's own cluster-free validators on so.
func checkWithKEDA(so *kedav1alpha1.ScaledObject) error {
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

// triggers renders one redis (or redis-sentinel) trigger per queue of w, with the queue's
// list name (namespaced when REDIS_NAMESPACE is set) and listLength as AverageValue target,
// then the latency trigger when w has one.
func triggers(l *layout.Layout, w layout.Workload) []kedav1alpha1.ScaleTriggers {
	if w.UsesSidekiqScaler() {
		return scalerTriggers(l, w)
	}
	r := l.Redis
	out := make([]kedav1alpha1.ScaleTriggers, 0, len(w.Queues)+1)
	for _, q := range w.Queues {
		md := connectionMetadata(r)
		md["listName"] = layout.ListName(r.Namespace, q.Name)
		md["listLength"] = strconv.FormatInt(q.ListLength, 10)
		if w.Scaling.HasActivation {
			md["activationListLength"] = strconv.FormatInt(w.Scaling.ActivationListLength, 10)
		}
		typ := "redis"
		if len(r.SentinelAddresses) > 0 {
			typ = "redis-sentinel"
		}
		t := kedav1alpha1.ScaleTriggers{Type: typ, Metadata: md, MetricType: autoscalingv2.AverageValueMetricType}
		if r.TriggerAuthentication != "" {
			t.AuthenticationRef = &kedav1alpha1.AuthenticationRef{Name: r.TriggerAuthentication}
		}
		out = append(out, t)
	}
	if w.Scaling.LatencyExporter != "" {
		out = append(out, latencyTrigger(w))
	}
	return out
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
func LatencyQuery(w layout.Workload) string {
	if !w.Autoscaled || w.Scaling.LatencyExporter == "" {
		return ""
	}
	label := "queue"
	if w.Scaling.LatencyExporter == layout.ExporterSidekiqPrometheus {
		label = "name"
	}
	return fmt.Sprintf(`max(sidekiq_queue_latency_seconds{%s=~"%s"})`, label, strings.Join(w.QueueNames(), "|"))
}

// latencyTrigger is the prometheus trigger of worker w's latency goal: the queue latency
// against latencyTarget in seconds. Its metricType is Value: the HPA then asks for
// ceil(replicas x latency / target) replicas, proportional to how far the goal is missed.
// AverageValue would divide the latency by the replica count, as if each pod carried a share
// of it; latency is not shared out, so AverageValue would scale in exactly when jobs wait.
func latencyTrigger(w layout.Workload) kedav1alpha1.ScaleTriggers {
	a := w.Scaling
	md := map[string]string{
		"serverAddress": a.PrometheusAddress,
		"query":         LatencyQuery(w),
		"threshold":     strconv.FormatFloat(a.LatencyTarget.Seconds(), 'f', -1, 64),
	}
	if a.MinReplicas == 0 {
		md["activationThreshold"] = strconv.Itoa(NeverActivateSeconds)
	}
	return kedav1alpha1.ScaleTriggers{Type: "prometheus", Metadata: md, MetricType: autoscalingv2.ValueMetricType}
}

func connectionMetadata(r layout.RedisTarget) map[string]string {
	md := map[string]string{}
	switch {
	case len(r.SentinelAddresses) > 0:
		md["addresses"] = strings.Join(r.SentinelAddresses, ",")
		md["sentinelMaster"] = r.SentinelMaster
	case r.Address != "":
		md["address"] = r.Address
	default:
		md["host"] = r.Host
		md["port"] = strconv.Itoa(int(r.Port))
	}
	if r.HasDatabaseIndex {
		md["databaseIndex"] = strconv.Itoa(int(r.DatabaseIndex))
	}
	if r.TLS {
		md["enableTLS"] = "true"
		if r.UnsafeSSL {
			md["unsafeSsl"] = "true"
		}
	}
	if r.Username != "" {
		md["username"] = r.Username
	}
	return md
}

func objectMeta(l *layout.Layout, name string, labels map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: l.Namespace, Labels: labels}
}
