package layout

import (
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// Resolve defaults a copy of l, validates it and returns it resolved, with the validation
// report (warnings included). When the layout has errors the error names every one, and the
// layout returned is only fit for reports about the invalid layout (its connection budget,
// say), never for rendering. l itself is never changed.
func Resolve(l *SidekiqLayout) (*Layout, Report, error) {
	d := Default(Clone(l))
	report := Validate(d)
	if report.HasErrors() {
		return resolved(d), report, fmt.Errorf("invalid layout: %w", report.Err())
	}
	return resolved(d), report, nil
}

// resolved converts a defaulted layout. It never fails: fields that validation refuses are
// carried over as they are, so the rules can see them.
func resolved(d *SidekiqLayout) *Layout {
	s := &d.Spec
	v, err := ParseMastodonVersion(s.MastodonVersion)
	if err != nil {
		v = DefaultMastodonVersion
	}
	chart, _ := ParseChart(s.Release.Chart)
	out := &Layout{
		Name: d.Metadata.Name, Namespace: d.Metadata.Namespace,
		Version:  v,
		Release:  ReleaseNames{Name: s.Release.Name, Chart: chart, Fullname: s.Release.Fullname},
		Image:    s.Image,
		Redis:    resolvedRedis(&s.Redis),
		Database: s.Database,
	}
	for i := range s.Workers {
		out.Workers = append(out.Workers, resolvedWorker(&s.Workers[i], s.Redis.Namespace))
	}
	out.Scaler = resolvedScaler(d)
	return out
}

func resolvedRedis(r *Redis) RedisTarget {
	t := RedisTarget{
		Host: r.Host, Address: r.Address, Username: r.Username, Namespace: r.Namespace,
		Port: deref(r.Port), DatabaseIndex: deref(r.DatabaseIndex), HasDatabaseIndex: r.DatabaseIndex != nil,
	}
	if r.Sentinel != nil {
		t.SentinelMaster, t.SentinelAddresses = r.Sentinel.Master, r.Sentinel.Addresses
	}
	if r.TLS != nil {
		t.TLS, t.UnsafeSSL = r.TLS.Enabled, r.TLS.Enabled && r.TLS.UnsafeSSL
	}
	if a := r.Auth; a != nil && !a.Disabled {
		t.Auth = RedisSecret{Name: a.SecretName, PasswordKey: a.PasswordKey, UsernameKey: a.UsernameKey}
		t.TriggerAuthentication = a.TriggerAuthenticationName
	}
	return t
}

func resolvedWorker(w *Worker, namespace string) Workload {
	out := Workload{
		Name: w.Name, Concurrency: deref(w.Concurrency), ConcurrencyFrom: "concurrency",
		Timeout: deref(w.Timeout), GracePeriod: deref(w.TerminationGracePeriodSeconds),
		Replicas: deref(w.Replicas), RedisNamespace: namespace,
	}
	// The layout's Deployments always set DB_POOL to the concurrency.
	out.DBPool, out.DBPoolFrom = out.Concurrency, "DB_POOL"
	a := w.Autoscale
	for _, q := range w.Queues {
		wq := WorkloadQueue{Name: q.Name, Weight: deref(q.Weight)}
		if a != nil {
			wq.ListLength = deref(a.ListLength)
			if q.ListLength != nil {
				wq.ListLength = *q.ListLength
			}
		}
		out.Queues = append(out.Queues, wq)
	}
	if a == nil {
		return out
	}
	out.Autoscaled = true
	out.Replicas = 0
	out.Scaling = Scaling{
		MinReplicas: deref(a.MinReplicas), MaxReplicas: deref(a.MaxReplicas), ListLength: deref(a.ListLength),
		ActivationListLength: deref(a.ActivationListLength), HasActivation: a.ActivationListLength != nil,
		PollingInterval: deref(a.PollingInterval), CooldownPeriod: deref(a.CooldownPeriod),
	}
	if f := a.Fallback; f != nil && !f.Disabled {
		out.Scaling.FailureThreshold, out.Scaling.FallbackReplicas = deref(f.FailureThreshold), deref(f.Replicas)
	}
	if a.Behavior != nil {
		out.Scaling.Behavior = *a.Behavior.DeepCopy()
	}
	if a.LatencyTarget != nil {
		out.Scaling.LatencyTarget = a.LatencyTarget.Duration
	}
	if a.ThroughputPerThread != nil {
		out.Scaling.ThroughputPerThread = float64(*a.ThroughputPerThread)
	}
	if t := a.LatencyTrigger; t != nil {
		out.Scaling.LatencyExporter, out.Scaling.PrometheusAddress = t.Exporter, t.ServerAddress
	}
	out.Scaling.Scaler, out.Scaling.UtilizationTarget, out.Scaling.IncludeDue = a.Scaler, deref(a.UtilizationTarget), a.IncludeDue
	if out.Scaling.Scaler == "" {
		out.Scaling.Scaler = ScalerRedis
	}
	return out
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// HasBehavior reports whether s sets any HPA behavior.
func (s Scaling) HasBehavior() bool { return s.Behavior.ScaleUp != nil || s.Behavior.ScaleDown != nil }

var _ = autoscalingv2.MaxChangePolicySelect
