package chart_test

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/mastoscale/mastoscale/pkg/layout"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// The generator draws layouts over every knob, each one set, left out or set to zero, and
// breaks a share of them in one or two of the ways layout.Validate refuses.

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

// maybe returns a pointer to a value in [lo, hi] half of the time, nil otherwise.
func maybe[T ~int32 | ~int64](r *rand.Rand, lo, hi T) *T {
	if r.IntN(2) == 0 {
		return nil
	}
	return ptr.To(lo + T(r.Int64N(int64(hi-lo)+1)))
}

func randomLayout(r *rand.Rand) *layout.SidekiqLayout {
	l := &layout.SidekiqLayout{APIVersion: layout.APIVersion, Kind: layout.Kind, Metadata: layout.Metadata{Name: "gen"}}
	s := &l.Spec
	s.MastodonVersion = pick(r, "", "3.3", "3.5", "4.0", "4.2", "4.3", "v4.3.2", "4.4", "4.5.0-beta.1", "4.6", "4.7")
	s.Release = layout.Release{
		Name:  pick(r, "", "mastodon", "social", "fedi-mastodon-prod", "x1"),
		Chart: pick(r, "", string(layout.ChartLegacy), string(layout.ChartHelmCharts)),
	}
	if r.IntN(4) == 0 {
		s.Release.Fullname = "masto"
	}
	if r.IntN(4) == 0 {
		s.Image = "registry.example.org/mastodon:custom"
	}
	v := layout.DefaultMastodonVersion
	if s.MastodonVersion != "" {
		v, _ = layout.ParseMastodonVersion(s.MastodonVersion)
	}

	red := &s.Redis
	switch r.IntN(4) {
	case 0: // the chart's bundled Redis, when it has one
	case 1:
		red.Host = "redis.example"
		red.Port = maybe[int32](r, 1, 65535)
	case 2:
		red.Address = pick(r, "redis:6379", "10.0.0.1:6380", "[fd00::1]:6379")
	case 3:
		red.Sentinel = &layout.Sentinel{Master: "mymaster", Addresses: pick(r, []string{"s0:26379"}, []string{"s0:26379", "s1:26379"})}
	}
	red.DatabaseIndex = maybe[int32](r, 0, 3)
	if r.IntN(3) == 0 {
		red.TLS = &layout.RedisTLS{Enabled: r.IntN(2) == 0, UnsafeSSL: r.IntN(2) == 0}
	}
	if r.IntN(4) == 0 {
		red.Username = "sidekiq"
	}
	switch r.IntN(4) {
	case 0:
	case 1:
		red.Auth = &layout.RedisAuth{Disabled: true}
	case 2:
		red.Auth = &layout.RedisAuth{SecretName: "redis-secret"}
	case 3:
		red.Auth = &layout.RedisAuth{SecretName: "redis-secret", PasswordKey: "pw", UsernameKey: pick(r, "", "user"), TriggerAuthenticationName: pick(r, "", "ta")}
	}
	if v.AllowsRedisNamespace() && r.IntN(2) == 0 {
		red.Namespace = "masto5"
	}
	if r.IntN(3) == 0 {
		s.Database = layout.Database{MaxConnections: pick[int32](r, 0, 10000), Reserved: int32(r.IntN(50))}
	}

	var queues []string
	for _, q := range layout.QueueNames(v) {
		if q != layout.SchedulerQueue {
			queues = append(queues, q)
		}
	}
	r.Shuffle(len(queues), func(i, j int) { queues[i], queues[j] = queues[j], queues[i] })
	groups := 1 + r.IntN(4)
	for g := range groups {
		w := layout.Worker{Name: fmt.Sprintf("w%d", g)}
		for i := g; i < len(queues); i += groups {
			w.Queues = append(w.Queues, layout.Queue{Name: queues[i], Weight: maybe[int32](r, 1, 10)})
		}
		if len(w.Queues) == 0 {
			continue
		}
		randomWorker(r, &w)
		s.Workers = append(s.Workers, w)
	}
	sched := layout.Worker{Name: "scheduler", Queues: []layout.Queue{{Name: layout.SchedulerQueue}}}
	sched.Concurrency = maybe[int32](r, 1, 10)
	sched.Replicas = maybe[int32](r, 1, 1)
	s.Workers = append(s.Workers, sched)
	return l
}

func randomWorker(r *rand.Rand, w *layout.Worker) {
	w.Concurrency = maybe[int32](r, 1, 50)
	w.Timeout = maybe[int32](r, 1, 60)
	if r.IntN(3) == 0 {
		base := int64(25)
		if w.Timeout != nil {
			base = int64(*w.Timeout)
		}
		w.TerminationGracePeriodSeconds = ptr.To(base + 1 + r.Int64N(60))
	}
	if r.IntN(5) == 0 {
		w.Replicas = maybe[int32](r, 0, 3)
		return
	}
	a := &layout.Autoscale{}
	a.MinReplicas = maybe[int32](r, 0, 3)
	if r.IntN(2) == 0 {
		lo := int32(1)
		if a.MinReplicas != nil {
			lo = max(lo, *a.MinReplicas)
		}
		a.MaxReplicas = ptr.To(lo + int32(r.IntN(6)))
	}
	a.ListLength = maybe[int64](r, 1, 5000)
	a.ActivationListLength = maybe[int64](r, 0, 10)
	a.PollingInterval = maybe[int32](r, 1, 60)
	a.CooldownPeriod = maybe[int32](r, 0, 600)
	switch r.IntN(4) {
	case 0:
	case 1:
		a.Fallback = &layout.Fallback{Disabled: true}
	case 2:
		a.Fallback = &layout.Fallback{}
	case 3:
		a.Fallback = &layout.Fallback{FailureThreshold: maybe[int32](r, 1, 10), Replicas: maybe[int32](r, 0, 2)}
	}
	if r.IntN(2) == 0 {
		a.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{}
		if r.IntN(2) == 0 {
			a.Behavior.ScaleUp = randomRules(r)
		}
		if r.IntN(2) == 0 {
			a.Behavior.ScaleDown = randomRules(r)
		}
	}
	a.BehaviorPreset = pick(r, "", "", layout.BehaviorConservative, layout.BehaviorBalanced, layout.BehaviorAggressive)
	if r.IntN(4) == 0 {
		// Half seconds too: the threshold must print the same from Go and from the chart.
		a.LatencyTarget = &metav1.Duration{Duration: time.Duration(1+r.IntN(600)) * time.Second / 2}
		a.LatencyTrigger = &layout.LatencyTrigger{
			Exporter:      pick(r, "", layout.ExporterMastodon, layout.ExporterSidekiqPrometheus),
			ServerAddress: pick(r, "http://prometheus.monitoring:9090", "https://prom.example/api"),
		}
	}
	w.Autoscale = a
	for i := range w.Queues {
		w.Queues[i].ListLength = maybe[int64](r, 1, 3000)
	}
}

func randomRules(r *rand.Rand) *autoscalingv2.HPAScalingRules {
	rules := &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: maybe[int32](r, 0, 3600)}
	if r.IntN(2) == 0 {
		rules.SelectPolicy = ptr.To(pick(r, autoscalingv2.MaxChangePolicySelect, autoscalingv2.MinChangePolicySelect, autoscalingv2.DisabledPolicySelect))
	}
	for range r.IntN(3) {
		rules.Policies = append(rules.Policies, autoscalingv2.HPAScalingPolicy{
			Type:          pick(r, autoscalingv2.PodsScalingPolicy, autoscalingv2.PercentScalingPolicy),
			Value:         1 + int32(r.IntN(100)),
			PeriodSeconds: 1 + int32(r.IntN(1800)),
		})
	}
	return rules
}

// breaker breaks a generated layout in one way layout.Validate refuses (or, for a few, may
// refuse: the verdict is always layout.Resolve's).
type breaker struct {
	name string
	do   func(r *rand.Rand, l *layout.SidekiqLayout)
}

// first is the first generated worker (never the scheduler, which comes last).
func first(l *layout.SidekiqLayout) *layout.Worker { return &l.Spec.Workers[0] }

// autoscaled makes the first worker autoscaled and returns its autoscale block.
func autoscaled(l *layout.SidekiqLayout) *layout.Autoscale {
	w := first(l)
	if w.Autoscale == nil {
		w.Replicas, w.Autoscale = nil, &layout.Autoscale{}
	}
	return w.Autoscale
}

func scheduler(l *layout.SidekiqLayout) *layout.Worker {
	return &l.Spec.Workers[len(l.Spec.Workers)-1]
}

var breakers = []breaker{
	{"concurrency 0", func(_ *rand.Rand, l *layout.SidekiqLayout) { first(l).Concurrency = ptr.To[int32](0) }},
	{"concurrency 51", func(_ *rand.Rand, l *layout.SidekiqLayout) { first(l).Concurrency = ptr.To[int32](51) }},
	{"second scheduler consumer", func(_ *rand.Rand, l *layout.SidekiqLayout) {
		first(l).Queues = append(first(l).Queues, layout.Queue{Name: layout.SchedulerQueue})
	}},
	{"autoscaled scheduler", func(_ *rand.Rand, l *layout.SidekiqLayout) {
		scheduler(l).Replicas, scheduler(l).Autoscale = nil, &layout.Autoscale{}
	}},
	{"scheduler replicas", func(r *rand.Rand, l *layout.SidekiqLayout) { scheduler(l).Replicas = ptr.To(pick[int32](r, 0, 2, 3)) }},
	{"no scheduler consumer", func(_ *rand.Rand, l *layout.SidekiqLayout) {
		if len(l.Spec.Workers) > 1 && scheduler(l).ConsumesScheduler() {
			l.Spec.Workers = l.Spec.Workers[:len(l.Spec.Workers)-1]
		}
	}},
	{"replicas and autoscale", func(_ *rand.Rand, l *layout.SidekiqLayout) {
		autoscaled(l)
		first(l).Replicas = ptr.To[int32](2)
	}},
	{"min above max", func(_ *rand.Rand, l *layout.SidekiqLayout) {
		a := autoscaled(l)
		a.MinReplicas, a.MaxReplicas = ptr.To[int32](5), ptr.To[int32](2)
	}},
	{"grace period not above timeout", func(r *rand.Rand, l *layout.SidekiqLayout) {
		first(l).Timeout = ptr.To[int32](30)
		first(l).TerminationGracePeriodSeconds = ptr.To(pick[int64](r, 30, 20))
	}},
	{"weight 0", func(_ *rand.Rand, l *layout.SidekiqLayout) { first(l).Queues[0].Weight = ptr.To[int32](0) }},
	{"listLength on a fixed worker", func(_ *rand.Rand, l *layout.SidekiqLayout) {
		scheduler(l).Queues[0].ListLength = ptr.To[int64](10)
	}},
	{"pollingInterval 0", func(_ *rand.Rand, l *layout.SidekiqLayout) { autoscaled(l).PollingInterval = ptr.To[int32](0) }},
	{"unknown behaviorPreset", func(_ *rand.Rand, l *layout.SidekiqLayout) { autoscaled(l).BehaviorPreset = "fast" }},
	{"policy period 1801", func(_ *rand.Rand, l *layout.SidekiqLayout) {
		autoscaled(l).Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{
			Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: 1801}},
		}}
	}},
	{"latency trigger without latencyTarget", func(_ *rand.Rand, l *layout.SidekiqLayout) {
		a := autoscaled(l)
		a.LatencyTarget, a.LatencyTrigger = nil, &layout.LatencyTrigger{ServerAddress: "http://prometheus:9090"}
	}},
	{"duplicate worker", func(_ *rand.Rand, l *layout.SidekiqLayout) { scheduler(l).Name = first(l).Name }},
	{"duplicate queue", func(_ *rand.Rand, l *layout.SidekiqLayout) {
		first(l).Queues = append(first(l).Queues, first(l).Queues[0])
	}},
	{"unknown queue", func(_ *rand.Rand, l *layout.SidekiqLayout) { first(l).Queues[0].Name = "mailer" }},
	{"queue nobody consumes", func(_ *rand.Rand, l *layout.SidekiqLayout) {
		first(l).Queues = first(l).Queues[:len(first(l).Queues)-1]
	}},
	{"worker name not a DNS label", func(_ *rand.Rand, l *layout.SidekiqLayout) { first(l).Name = "Push_Pull" }},
	{"name too long for KEDA", func(_ *rand.Rand, l *layout.SidekiqLayout) {
		first(l).Name = "a-worker-name-that-is-far-too-long-for-keda-hpa"
	}},
	{"version 3.2", func(_ *rand.Rand, l *layout.SidekiqLayout) { l.Spec.MastodonVersion = "3.2" }},
	{"unknown chart", func(_ *rand.Rand, l *layout.SidekiqLayout) { l.Spec.Release.Chart = "bitnami/mastodon" }},
	{"redis password", func(_ *rand.Rand, l *layout.SidekiqLayout) { l.Spec.Redis.Password = "hunter2" }},
	{"host and address", func(_ *rand.Rand, l *layout.SidekiqLayout) {
		l.Spec.Redis.Host, l.Spec.Redis.Address, l.Spec.Redis.Sentinel = "r", "r:6379", nil
	}},
	{"address with credentials", func(_ *rand.Rand, l *layout.SidekiqLayout) {
		l.Spec.Redis.Host, l.Spec.Redis.Address, l.Spec.Redis.Sentinel = "", "user:pw@r:6379", nil
	}},
	{"auth without secretName", func(_ *rand.Rand, l *layout.SidekiqLayout) { l.Spec.Redis.Auth = &layout.RedisAuth{PasswordKey: "pw"} }},
	{"REDIS_NAMESPACE on 4.4+", func(_ *rand.Rand, l *layout.SidekiqLayout) {
		l.Spec.MastodonVersion, l.Spec.Redis.Namespace = "4.6", "masto5"
	}},
	{"over the connection budget", func(_ *rand.Rand, l *layout.SidekiqLayout) {
		l.Spec.Database = layout.Database{MaxConnections: 20, Reserved: 10}
	}},
	{"reserved above maxConnections", func(_ *rand.Rand, l *layout.SidekiqLayout) {
		l.Spec.Database = layout.Database{MaxConnections: 50, Reserved: 50}
	}},
	{"timeout 0", func(_ *rand.Rand, l *layout.SidekiqLayout) { first(l).Timeout = ptr.To[int32](0) }},
	{"cooldownPeriod -1", func(_ *rand.Rand, l *layout.SidekiqLayout) { autoscaled(l).CooldownPeriod = ptr.To[int32](-1) }},
	{"failureThreshold 0", func(_ *rand.Rand, l *layout.SidekiqLayout) {
		autoscaled(l).Fallback = &layout.Fallback{FailureThreshold: ptr.To[int32](0)}
	}},
	{"selectPolicy Sometimes", func(_ *rand.Rand, l *layout.SidekiqLayout) {
		autoscaled(l).Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{
			SelectPolicy: ptr.To[autoscalingv2.ScalingPolicySelect]("Sometimes"),
		}}
	}},
	{"version abc", func(_ *rand.Rand, l *layout.SidekiqLayout) { l.Spec.MastodonVersion = "abc" }},
	{"fullname not a DNS label", func(_ *rand.Rand, l *layout.SidekiqLayout) { l.Spec.Release.Fullname = "masto." }},
	{"port 0", func(_ *rand.Rand, l *layout.SidekiqLayout) {
		l.Spec.Redis.Host, l.Spec.Redis.Address, l.Spec.Redis.Sentinel, l.Spec.Redis.Port = "r", "", nil, ptr.To[int32](0)
	}},
	{"address with scheme", func(_ *rand.Rand, l *layout.SidekiqLayout) {
		l.Spec.Redis.Host, l.Spec.Redis.Address, l.Spec.Redis.Sentinel = "", "redis://r:6379", nil
	}},
	{"sentinel without master", func(_ *rand.Rand, l *layout.SidekiqLayout) {
		l.Spec.Redis.Host, l.Spec.Redis.Address = "", ""
		l.Spec.Redis.Sentinel = &layout.Sentinel{Addresses: []string{"s:26379"}}
	}},
	{"databaseIndex -1", func(_ *rand.Rand, l *layout.SidekiqLayout) { l.Spec.Redis.DatabaseIndex = ptr.To[int32](-1) }},
	{"REDIS_NAMESPACE with a colon", func(_ *rand.Rand, l *layout.SidekiqLayout) { l.Spec.Redis.Namespace = "masto5:" }},
	{"no workers", func(_ *rand.Rand, l *layout.SidekiqLayout) { l.Spec.Workers = nil }},
}

// generatedLayout draws layout i of the generated set: about a third are broken in one or
// two ways. It returns the names of the breakers applied.
func generatedLayout(r *rand.Rand) (*layout.SidekiqLayout, []string) {
	l := randomLayout(r)
	var broken []string
	if r.IntN(3) == 0 {
		for range 1 + r.IntN(2) {
			b := breakers[r.IntN(len(breakers))]
			if len(l.Spec.Workers) == 0 {
				break // "no workers" leaves nothing for the others to break
			}
			b.do(r, l)
			broken = append(broken, b.name)
		}
	}
	return l, broken
}
