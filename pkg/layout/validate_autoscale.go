package layout

import (
	"net/url"
	"slices"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateAutoscaleTail checks an autoscaled worker's fallback, behavior, latency trigger and
// scaler (validateScaling checks its replica bounds and sizing).
func validateAutoscaleTail(r *problems, w *Worker, v MastodonVersion, versionOK bool, wp *field.Path) {
	a, ap := w.Autoscale, wp.Child("autoscale")
	if f := a.Fallback; f != nil && !f.Disabled {
		fp := ap.Child("fallback")
		if f.FailureThreshold != nil && *f.FailureThreshold < 1 {
			r.errorf(fp.Child("failureThreshold"), *f.FailureThreshold, "must be at least 1 failed poll; use fallback.disabled: true to turn fallback off")
		}
		if f.Replicas != nil && *f.Replicas < 0 {
			r.errorf(fp.Child("replicas"), *f.Replicas, "must be 0 or more")
		} else if f.Replicas != nil && a.MaxReplicas != nil && *f.Replicas > *a.MaxReplicas {
			r.warnf(fp.Child("replicas"), *f.Replicas, "is above maxReplicas (%d): the HPA clamps it", *a.MaxReplicas)
		}
	}
	if a.BehaviorPreset != "" {
		if _, ok := BehaviorPresets[a.BehaviorPreset]; !ok {
			r.add(Error, field.NotSupported(ap.Child("behaviorPreset"), a.BehaviorPreset, BehaviorPresetNames))
		}
	}
	if t := a.LatencyTrigger; t != nil {
		validateLatencyTrigger(r, a, v, versionOK, ap)
	}
	validateAutoscaleScaler(r, w, wp)
	if b := a.Behavior; b != nil {
		validateRules(r, b.ScaleUp, ap.Child("behavior", "scaleUp"))
		validateRules(r, b.ScaleDown, ap.Child("behavior", "scaleDown"))
	}
}

func validateRules(r *problems, rules *autoscalingv2.HPAScalingRules, path *field.Path) {
	if rules == nil {
		return
	}
	if w := rules.StabilizationWindowSeconds; w != nil && (*w < 0 || *w > 3600) {
		r.errorf(path.Child("stabilizationWindowSeconds"), *w, "must be 0 to 3600 seconds")
	}
	if rules.SelectPolicy != nil && !slices.Contains([]autoscalingv2.ScalingPolicySelect{
		autoscalingv2.MaxChangePolicySelect, autoscalingv2.MinChangePolicySelect, autoscalingv2.DisabledPolicySelect,
	}, *rules.SelectPolicy) {
		r.add(Error, field.NotSupported(path.Child("selectPolicy"), *rules.SelectPolicy, []string{"Max", "Min", "Disabled"}))
	}
	for i, p := range rules.Policies {
		pp := path.Child("policies").Index(i)
		if p.Type != autoscalingv2.PodsScalingPolicy && p.Type != autoscalingv2.PercentScalingPolicy {
			r.add(Error, field.NotSupported(pp.Child("type"), p.Type, []string{"Pods", "Percent"}))
		}
		if p.Value < 1 {
			r.errorf(pp.Child("value"), p.Value, "must be at least 1")
		}
		if p.PeriodSeconds < 1 || p.PeriodSeconds > 1800 {
			r.errorf(pp.Child("periodSeconds"), p.PeriodSeconds, "must be 1 to 1800 seconds")
		}
	}
}

// validateLatencyTrigger checks autoscale.latencyTrigger of a worker: its threshold is
// latencyTarget, and Mastodon's own exporter exists from 4.4 on.
func validateLatencyTrigger(r *problems, a *Autoscale, v MastodonVersion, versionOK bool, ap *field.Path) {
	t := a.LatencyTrigger
	tp := ap.Child("latencyTrigger")
	if a.LatencyTarget == nil {
		r.add(Error, field.Required(ap.Child("latencyTarget"),
			"the latency trigger scales when jobs wait longer than latencyTarget: set it, e.g. \"30s\""))
	}
	switch t.Exporter {
	case ExporterMastodon:
		if versionOK && v.Less(MinExporterVersion) {
			r.errorf(tp.Child("exporter"), t.Exporter,
				"Mastodon's built-in Prometheus exporter exists from %s on, and this layout is for %s: run sidekiq-prometheus-exporter and set exporter: %s, or raise spec.mastodonVersion",
				MinExporterVersion, v, ExporterSidekiqPrometheus)
		}
	case ExporterSidekiqPrometheus:
	default:
		r.add(Error, field.NotSupported(tp.Child("exporter"), t.Exporter, []string{ExporterMastodon, ExporterSidekiqPrometheus}))
	}
	sp := tp.Child("serverAddress")
	if t.ServerAddress == "" {
		r.add(Error, field.Required(sp, "name the Prometheus server KEDA queries, e.g. http://prometheus.monitoring:9090"))
		return
	}
	u, err := url.Parse(t.ServerAddress)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		r.errorf(sp, t.ServerAddress, "write the Prometheus URL with its scheme, e.g. http://prometheus.monitoring:9090")
	case u.User != nil:
		r.add(Error, field.Forbidden(sp, "a layout never holds secrets: remove the credentials from the URL"))
	}
}

// validateDatabase checks the connection budget's numbers; whether the workers fit it is a
// Mastodon rule (Check).
