package chart_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/mastoscale/mastoscale/internal/chartvalues"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/render"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestGeneratedLayoutsMatchRender extends the equivalence to layouts drawn at random (with a
// fixed seed) over every knob, each one set, left out or set to zero: the chart's defaulting
// must agree with layout.Default wherever a hand-written example does not look.
func TestGeneratedLayoutsMatchRender(t *testing.T) {
	c := loadChart(t)
	r := rand.New(rand.NewPCG(5, 2026))
	const n = 300
	valid := 0
	type refusedLayout struct {
		l   *layout.SidekiqLayout
		err error
	}
	var refused []refusedLayout
	for i := range n {
		l := randomLayout(r)
		if _, err := render.FromLayout(l); err != nil {
			refused = append(refused, refusedLayout{l, err})
			continue
		}
		valid++
		data, err := layout.Marshal(l)
		require.NoError(t, err)
		deployments := i%2 == 0
		t.Run(fmt.Sprintf("%03d", i), func(t *testing.T) {
			vals, err := chartvalues.Values(l, chartvalues.Options{Deployments: deployments})
			require.NoError(t, err)
			rel, err := install(c, vals, "default")
			require.NoError(t, err, "layout:\n%s", data)
			got := kedaObjects(t, rel.Manifest)
			for k, m := range got {
				got[k] = withoutHelmLabels(m, true)
			}
			assert.Equal(t, want(t, l, deployments), got, "layout:\n%s", data)
			_, report := layout.Prepare(l)
			assert.Equal(t, len(report.Warnings()), noteWarnings(rel.Info.Notes), "warnings: Core %v\nNOTES:\n%s", report.Warnings(), rel.Info.Notes)
		})
	}
	t.Logf("%d of %d generated layouts were valid and compared", valid, n)
	assert.Greater(t, valid, n/2, "the generator should mostly draw valid layouts")

	// What Core refuses, the chart refuses too when it renders the whole layout.
	for i, x := range refused {
		t.Run(fmt.Sprintf("refused-%02d", i), func(t *testing.T) {
			data, err := json.Marshal(x.l.Spec)
			require.NoError(t, err)
			var vals map[string]any
			require.NoError(t, json.Unmarshal(data, &vals))
			vals["deployments"] = map[string]any{"enabled": true}
			_, err = template(t, c, vals, "default")
			assert.Error(t, err, "Core refuses this layout with: %v\n%s", x.err, data)
		})
	}
}

// noteWarnings counts the warnings NOTES.txt lists.
func noteWarnings(notes string) int {
	_, after, ok := strings.Cut(notes, "\nWarnings:\n")
	if !ok {
		return 0
	}
	block, _, _ := strings.Cut(after, "\n\n")
	return len(strings.Split(strings.TrimRight(block, "\n"), "\n"))
}

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

// TestRefusesWhatCoreRefuses breaks a valid layout one rule of layout.Validate at a time: Core
// must refuse it (or the case is wrong), and so must the chart rendering the whole layout, by
// its schema or a template failure.
func TestRefusesWhatCoreRefuses(t *testing.T) {
	base := func() *layout.SidekiqLayout {
		l, err := layout.Preset(layout.PresetSplit, layout.DefaultMastodonVersion)
		require.NoError(t, err)
		l.Spec.Workers[0].Autoscale = &layout.Autoscale{MinReplicas: ptr.To[int32](1), MaxReplicas: ptr.To[int32](3)}
		l.Spec.Workers[0].Timeout = ptr.To[int32](30)
		return l
	}
	w := func(l *layout.SidekiqLayout, name string) *layout.Worker {
		for i := range l.Spec.Workers {
			if l.Spec.Workers[i].Name == name {
				return &l.Spec.Workers[i]
			}
		}
		t.Fatalf("no worker %q", name)
		return nil
	}
	rules := func() *autoscalingv2.HPAScalingRules {
		return &autoscalingv2.HPAScalingRules{Policies: []autoscalingv2.HPAScalingPolicy{{Type: "Pods", Value: 1, PeriodSeconds: 60}}}
	}
	cases := map[string]func(l *layout.SidekiqLayout){
		"concurrency 0":  func(l *layout.SidekiqLayout) { w(l, "default").Concurrency = ptr.To[int32](0) },
		"concurrency 51": func(l *layout.SidekiqLayout) { w(l, "default").Concurrency = ptr.To[int32](51) },
		"second scheduler consumer": func(l *layout.SidekiqLayout) {
			w(l, "mailers").Queues = append(w(l, "mailers").Queues, layout.Queue{Name: "scheduler"})
		},
		"autoscaled scheduler": func(l *layout.SidekiqLayout) {
			w(l, "scheduler").Replicas = nil
			w(l, "scheduler").Autoscale = &layout.Autoscale{}
		},
		"scheduler replicas 2":   func(l *layout.SidekiqLayout) { w(l, "scheduler").Replicas = ptr.To[int32](2) },
		"scheduler replicas 0":   func(l *layout.SidekiqLayout) { w(l, "scheduler").Replicas = ptr.To[int32](0) },
		"no scheduler consumer":  func(l *layout.SidekiqLayout) { l.Spec.Workers = l.Spec.Workers[:len(l.Spec.Workers)-1] },
		"replicas and autoscale": func(l *layout.SidekiqLayout) { w(l, "default").Replicas = ptr.To[int32](2) },
		"negative replicas":      func(l *layout.SidekiqLayout) { w(l, "scheduler").Replicas = ptr.To[int32](-1) },
		"min above max":          func(l *layout.SidekiqLayout) { w(l, "default").Autoscale.MinReplicas = ptr.To[int32](4) },
		"max 0": func(l *layout.SidekiqLayout) {
			w(l, "default").Autoscale.MaxReplicas = ptr.To[int32](0)
			w(l, "default").Autoscale.MinReplicas = ptr.To[int32](0)
		},
		"min -1":                        func(l *layout.SidekiqLayout) { w(l, "default").Autoscale.MinReplicas = ptr.To[int32](-1) },
		"grace period equals timeout":   func(l *layout.SidekiqLayout) { w(l, "default").TerminationGracePeriodSeconds = ptr.To[int64](30) },
		"grace period below default -t": func(l *layout.SidekiqLayout) { w(l, "ingress").TerminationGracePeriodSeconds = ptr.To[int64](20) },
		"timeout 0":                     func(l *layout.SidekiqLayout) { w(l, "default").Timeout = ptr.To[int32](0) },
		"weight 0":                      func(l *layout.SidekiqLayout) { w(l, "push-pull").Queues[0].Weight = ptr.To[int32](0) },
		"queue listLength 0":            func(l *layout.SidekiqLayout) { w(l, "ingress").Queues[0].ListLength = ptr.To[int64](0) },
		"listLength on a fixed worker":  func(l *layout.SidekiqLayout) { w(l, "scheduler").Queues[0].ListLength = ptr.To[int64](10) },
		"autoscale listLength 0":        func(l *layout.SidekiqLayout) { w(l, "default").Autoscale.ListLength = ptr.To[int64](0) },
		"activationListLength -1":       func(l *layout.SidekiqLayout) { w(l, "default").Autoscale.ActivationListLength = ptr.To[int64](-1) },
		"pollingInterval 0":             func(l *layout.SidekiqLayout) { w(l, "default").Autoscale.PollingInterval = ptr.To[int32](0) },
		"cooldownPeriod -1":             func(l *layout.SidekiqLayout) { w(l, "default").Autoscale.CooldownPeriod = ptr.To[int32](-1) },
		"failureThreshold 0": func(l *layout.SidekiqLayout) {
			w(l, "default").Autoscale.Fallback = &layout.Fallback{FailureThreshold: ptr.To[int32](0)}
		},
		"fallback replicas -1": func(l *layout.SidekiqLayout) {
			w(l, "default").Autoscale.Fallback = &layout.Fallback{Replicas: ptr.To[int32](-1)}
		},
		"stabilization 3601": func(l *layout.SidekiqLayout) {
			r := rules()
			r.StabilizationWindowSeconds = ptr.To[int32](3601)
			w(l, "default").Autoscale.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: r}
		},
		"selectPolicy Sometimes": func(l *layout.SidekiqLayout) {
			r := rules()
			r.SelectPolicy = ptr.To[autoscalingv2.ScalingPolicySelect]("Sometimes")
			w(l, "default").Autoscale.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: r}
		},
		"policy periodSeconds 1801": func(l *layout.SidekiqLayout) {
			r := rules()
			r.Policies[0].PeriodSeconds = 1801
			w(l, "default").Autoscale.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: r}
		},
		"policy value 0": func(l *layout.SidekiqLayout) {
			r := rules()
			r.Policies[0].Value = 0
			w(l, "default").Autoscale.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: r}
		},
		"unknown behaviorPreset": func(l *layout.SidekiqLayout) { w(l, "default").Autoscale.BehaviorPreset = "fast" },
		"duplicate worker":       func(l *layout.SidekiqLayout) { w(l, "ingress").Name = "default" },
		"duplicate queue": func(l *layout.SidekiqLayout) {
			w(l, "default").Queues = append(w(l, "default").Queues, layout.Queue{Name: "default"})
		},
		"unknown queue":                func(l *layout.SidekiqLayout) { w(l, "mailers").Queues[0].Name = "mailer" },
		"queue nobody consumes":        func(l *layout.SidekiqLayout) { w(l, "push-pull").Queues = w(l, "push-pull").Queues[:2] },
		"queue of a later release":     func(l *layout.SidekiqLayout) { l.Spec.MastodonVersion = "4.3" },
		"worker without queues":        func(l *layout.SidekiqLayout) { l.Spec.Workers = append(l.Spec.Workers, layout.Worker{Name: "idle"}) },
		"worker name not a DNS label":  func(l *layout.SidekiqLayout) { w(l, "mailers").Name = "Mailers" },
		"name too long for KEDA":       func(l *layout.SidekiqLayout) { w(l, "mailers").Name = "mailers-and-a-very-long-suffix-for-keda-hpa" },
		"no workers":                   func(l *layout.SidekiqLayout) { l.Spec.Workers = nil },
		"version 3.2":                  func(l *layout.SidekiqLayout) { l.Spec.MastodonVersion = "3.2" },
		"version abc":                  func(l *layout.SidekiqLayout) { l.Spec.MastodonVersion = "abc" },
		"unknown chart":                func(l *layout.SidekiqLayout) { l.Spec.Release.Chart = "bitnami/mastodon" },
		"release name not a DNS label": func(l *layout.SidekiqLayout) { l.Spec.Release.Name = "Mastodon_1" },
		"fullname not a DNS label":     func(l *layout.SidekiqLayout) { l.Spec.Release.Fullname = "masto." },
		"redis password":               func(l *layout.SidekiqLayout) { l.Spec.Redis.Password = "hunter2" },
		"sentinel password": func(l *layout.SidekiqLayout) {
			l.Spec.Redis.Sentinel = &layout.Sentinel{Master: "m", Addresses: []string{"s:26379"}, Password: "x"}
			l.Spec.Redis.Host = ""
		},
		"port 0":                   func(l *layout.SidekiqLayout) { l.Spec.Redis.Host = "r"; l.Spec.Redis.Port = ptr.To[int32](0) },
		"port 65536":               func(l *layout.SidekiqLayout) { l.Spec.Redis.Host = "r"; l.Spec.Redis.Port = ptr.To[int32](65536) },
		"host and address":         func(l *layout.SidekiqLayout) { l.Spec.Redis.Host = "r"; l.Spec.Redis.Address = "r:6379" },
		"address with credentials": func(l *layout.SidekiqLayout) { l.Spec.Redis.Address = "user:pw@r:6379" },
		"address with scheme":      func(l *layout.SidekiqLayout) { l.Spec.Redis.Address = "redis://r:6379" },
		"address without port":     func(l *layout.SidekiqLayout) { l.Spec.Redis.Address = "r" },
		"sentinel without master": func(l *layout.SidekiqLayout) {
			l.Spec.Redis.Sentinel = &layout.Sentinel{Addresses: []string{"s:26379"}}
		},
		"sentinel without addresses": func(l *layout.SidekiqLayout) { l.Spec.Redis.Sentinel = &layout.Sentinel{Master: "m"} },
		"databaseIndex -1":           func(l *layout.SidekiqLayout) { l.Spec.Redis.DatabaseIndex = ptr.To[int32](-1) },
		"auth without secretName":    func(l *layout.SidekiqLayout) { l.Spec.Redis.Auth = &layout.RedisAuth{PasswordKey: "pw"} },
		"secretName not a DNS name":  func(l *layout.SidekiqLayout) { l.Spec.Redis.Auth = &layout.RedisAuth{SecretName: "Redis_Secret"} },
		"REDIS_NAMESPACE on 4.6":     func(l *layout.SidekiqLayout) { l.Spec.Redis.Namespace = "masto5" },
		"REDIS_NAMESPACE with a colon": func(l *layout.SidekiqLayout) {
			l.Spec.MastodonVersion = "4.3"
			l.Spec.Workers[2].Queues = l.Spec.Workers[2].Queues[:2]
			l.Spec.Redis.Namespace = "masto5:"
		},
		"maxConnections -1":             func(l *layout.SidekiqLayout) { l.Spec.Database.MaxConnections = -1 },
		"reserved above maxConnections": func(l *layout.SidekiqLayout) { l.Spec.Database = layout.Database{MaxConnections: 50, Reserved: 50} },
		"over the connection budget":    func(l *layout.SidekiqLayout) { l.Spec.Database = layout.Database{MaxConnections: 100, Reserved: 30} },
	}
	c := loadChart(t)
	for name, breakIt := range cases {
		t.Run(name, func(t *testing.T) {
			l := base()
			breakIt(l)
			_, coreErr := render.FromLayout(l)
			require.Error(t, coreErr, "the case must break a rule of layout.Validate")
			data, err := json.Marshal(l.Spec)
			require.NoError(t, err)
			var vals map[string]any
			require.NoError(t, json.Unmarshal(data, &vals))
			vals["deployments"] = map[string]any{"enabled": true}
			_, err = template(t, c, vals, "default")
			require.Error(t, err, "Core refuses it with: %v", coreErr)
			// The chart names the same field as Core's first error (its last path step).
			_, report := layout.Prepare(l)
			require.NotEmpty(t, report.Errors())
			path := report.Errors()[0].Field
			step := path[strings.LastIndexAny(path, ".")+1:]
			if i := strings.IndexByte(step, '['); i >= 0 {
				step = step[:i]
			}
			assert.Contains(t, err.Error(), step, "Core: %v", coreErr)
		})
	}
}
