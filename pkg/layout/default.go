package layout

import (
	"encoding/json"
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/utils/ptr"
)

// Defaults of the scaling knobs: the values of the well-known KEDA example for Mastodon.
const (
	DefaultConcurrency      = 25
	DefaultMinReplicas      = 1
	DefaultMaxReplicas      = 4
	DefaultListLength       = 1500
	DefaultPollingInterval  = 30
	DefaultCooldownPeriod   = 300
	DefaultFailureThreshold = 3
	DefaultFallbackReplicas = 2
	DefaultRedisPort        = 6379
	// DefaultScaleUpStabilization and the one-pod-a-minute policy keep scale-up gentle.
	DefaultScaleUpStabilization = 300
	DefaultScaleUpPods          = 1
	DefaultScaleUpPeriod        = 60
	// gracePeriodMargin is added to Sidekiq's -t so a stopping pod can requeue before KILL.
	gracePeriodMargin = 5
)

// Default fills every unset field of l with its default, in place, and returns l. It is
// idempotent. Values that cannot be derived (a Redis host for a chart without bundled Redis)
// stay empty for Validate to report.
func Default(l *SidekiqLayout) *SidekiqLayout {
	s := &l.Spec
	if s.MastodonVersion == "" {
		s.MastodonVersion = DefaultMastodonVersion.String()
	}
	if s.Release.Name == "" {
		s.Release.Name = DefaultRelease
	}
	if s.Release.Chart == "" {
		s.Release.Chart = string(ChartLegacy)
	}
	if s.Release.Fullname == "" {
		s.Release.Fullname = Fullname(s.Release.Name)
	}
	if s.Preset != "" && len(s.Workers) == 0 {
		if v, err := ParseMastodonVersion(s.MastodonVersion); err == nil {
			if p, err := Preset(s.Preset, v); err == nil {
				s.Workers = p.Spec.Workers
			}
		}
	}
	defaultRedis(s)
	for i := range s.Workers {
		defaultWorker(&s.Workers[i])
	}
	defaultScaler(l)
	return l
}

func defaultRedis(s *Spec) {
	r := &s.Redis
	chart, _ := ParseChart(s.Release.Chart)
	if r.Host == "" && r.Address == "" && r.Sentinel == nil {
		if host, ok := RedisHost(chart, s.Release.Name); ok {
			r.Host = host
		}
	}
	if r.Host != "" && r.Port == nil {
		r.Port = ptr.To[int32](DefaultRedisPort)
	}
	if r.Auth == nil {
		ref := RedisPasswordSecret(chart, s.Release.Name)
		r.Auth = &RedisAuth{SecretName: ref.Name, PasswordKey: ref.Key}
	}
	if !r.Auth.Disabled && r.Auth.PasswordKey == "" {
		r.Auth.PasswordKey = RedisPasswordSecret(chart, s.Release.Name).Key
	}
	sentinelAuth := r.Sentinel != nil && r.Sentinel.Auth != nil
	if (!r.Auth.Disabled || sentinelAuth) && r.Auth.TriggerAuthenticationName == "" {
		r.Auth.TriggerAuthenticationName = s.Release.Fullname + "-sidekiq-redis"
	}
}

func defaultWorker(w *Worker) {
	if w.Concurrency == nil {
		w.Concurrency = ptr.To[int32](DefaultConcurrency)
	}
	if w.Timeout == nil {
		w.Timeout = ptr.To[int32](SidekiqDefaultTimeout)
	}
	if w.TerminationGracePeriodSeconds == nil {
		w.TerminationGracePeriodSeconds = ptr.To(int64(*w.Timeout) + gracePeriodMargin)
	}
	defaultDisruption(w)
	if w.Autoscale == nil {
		if w.Replicas == nil {
			w.Replicas = ptr.To[int32](1)
		}
		return
	}
	defaultAutoscale(w.Autoscale, *w.Concurrency)
}

// defaultAutoscale fills the unset knobs of an autoscaled worker running concurrency threads.
func defaultAutoscale(a *Autoscale, concurrency int32) {
	if a.MinReplicas == nil {
		a.MinReplicas = ptr.To[int32](DefaultMinReplicas)
	}
	if a.MaxReplicas == nil {
		a.MaxReplicas = ptr.To(max(int32(DefaultMaxReplicas), *a.MinReplicas))
	}
	if a.ListLength == nil {
		// A latency goal and a measured throughput say what a replica can carry (Little's
		// law); without them the well-known example's 1500 stands.
		if a.LatencyTarget != nil && a.ThroughputPerThread != nil && a.LatencyTarget.Duration > 0 && *a.ThroughputPerThread > 0 {
			a.ListLength = ptr.To(ListLengthForLatency(concurrency, *a.ThroughputPerThread, a.LatencyTarget.Duration))
		} else {
			a.ListLength = ptr.To[int64](DefaultListLength)
		}
	}
	if a.PollingInterval == nil {
		a.PollingInterval = ptr.To[int32](DefaultPollingInterval)
	}
	if a.CooldownPeriod == nil {
		a.CooldownPeriod = ptr.To[int32](DefaultCooldownPeriod)
	}
	if a.Fallback == nil {
		a.Fallback = &Fallback{}
	}
	if !a.Fallback.Disabled {
		if a.Fallback.FailureThreshold == nil {
			a.Fallback.FailureThreshold = ptr.To[int32](DefaultFailureThreshold)
		}
		if a.Fallback.Replicas == nil {
			a.Fallback.Replicas = ptr.To[int32](DefaultFallbackReplicas)
		}
	}
	if t := a.LatencyTrigger; t != nil && t.Exporter == "" {
		t.Exporter = ExporterMastodon
	}
	if a.Behavior == nil {
		a.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{}
	}
	if p, ok := BehaviorPresets[a.BehaviorPreset]; ok {
		// A direction written out in behavior wins over the preset's.
		if a.Behavior.ScaleUp == nil {
			a.Behavior.ScaleUp = p.ScaleUp.DeepCopy()
		}
		if a.Behavior.ScaleDown == nil {
			a.Behavior.ScaleDown = p.ScaleDown.DeepCopy()
		}
	}
	if a.Behavior.ScaleUp == nil {
		a.Behavior.ScaleUp = defaultScaleUp()
	}
}

// defaultScaleUp is the seed's scale-up: one pod a minute after 300 s of stability. The
// conservative preset uses it too.
func defaultScaleUp() *autoscalingv2.HPAScalingRules {
	return &autoscalingv2.HPAScalingRules{
		StabilizationWindowSeconds: ptr.To[int32](DefaultScaleUpStabilization),
		Policies:                   []autoscalingv2.HPAScalingPolicy{pods(DefaultScaleUpPods, DefaultScaleUpPeriod)},
	}
}

// ConsumesScheduler reports whether w consumes the scheduler queue.
func (w *Worker) ConsumesScheduler() bool {
	for _, q := range w.Queues {
		if q.Name == SchedulerQueue {
			return true
		}
	}
	return false
}

// MaxReplicas is the most replicas w can run: its autoscale maximum or its fixed count.
// Call it on a defaulted worker.
func (w *Worker) MaxReplicas() int32 {
	if w.Autoscale != nil && w.Autoscale.MaxReplicas != nil {
		return *w.Autoscale.MaxReplicas
	}
	if w.Replicas != nil {
		return *w.Replicas
	}
	return 1
}

// ListLengthFor is the backlog per replica of queue q's trigger: the queue's own listLength,
// else the worker's. Call it on a defaulted, autoscaled worker.
func (w *Worker) ListLengthFor(q Queue) int64 {
	if q.ListLength != nil {
		return *q.ListLength
	}
	return *w.Autoscale.ListLength
}

// Clone returns a deep copy of l.
func Clone(l *SidekiqLayout) *SidekiqLayout {
	data, err := json.Marshal(l)
	if err != nil {
		panic(fmt.Sprintf("layout: cloning: %v", err)) // every field of SidekiqLayout marshals
	}
	var c SidekiqLayout
	if err := json.Unmarshal(data, &c); err != nil {
		panic(fmt.Sprintf("layout: cloning: %v", err))
	}
	return &c
}

// Prepare returns a defaulted copy of l and the validation report of that copy; l itself is
// not changed.
func Prepare(l *SidekiqLayout) (*SidekiqLayout, Report) {
	c := Default(Clone(l))
	return c, Validate(c)
}
