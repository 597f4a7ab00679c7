//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mastoscale/mastoscale/internal/sidekiq/sidekiqtest"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestScaler drives mastoscale's scaler with the real KEDA operator: HPAs with the scaler's
// metrics and targets, the values of what is planted in Redis (real Sidekiq 6.4 for the busy
// threads), a worker at zero woken by StreamIsActive, and the fallback while Redis, then the
// scaler, are away.
func TestScaler(t *testing.T) {
	ctx := context.Background()
	if _, err := exec.LookPath("sidekiq"); err != nil {
		t.Fatal("real Sidekiq is missing: test/e2e/rig.sh prepare installs ruby-sidekiq")
	}
	s := startScaler(t, ctx)
	plantScalerRedis(t, s)
	ingress := sidekiqtest.StartReal(t, sidekiqtest.RealOptions{Addr: s.redis.Addr, Password: s.redis.Password,
		Hostname: "mastodon-sidekiq-ingress-6f7d9c8b5-h4j6k", Concurrency: 5, Queues: []string{"ingress"}})
	ingress.Enqueue("ingress", 3, 3600)
	ingress.WaitBusy(3)
	applyScalerObjects(t, ctx, s)

	t.Run("hpa", func(t *testing.T) {
		for _, so := range []string{"mastodon-sidekiq-push-pull", "mastodon-sidekiq-ingress", "mastodon-sidekiq-mailers"} {
			checkScalerHPA(t, ctx, so)
		}
	})
	t.Run("metrics", func(t *testing.T) { checkPlanted(t, ctx, s) })
	t.Run("wake-from-zero", func(t *testing.T) { checkWake(t, ctx, s) })
	t.Run("redis-down", func(t *testing.T) {
		s.redis.Stop()
		for _, so := range []string{"mastodon-sidekiq-push-pull", "mastodon-sidekiq-ingress"} {
			expectScalerFallback(t, ctx, so)
		}
	})
	t.Run("recovery-after-redis-restart", func(t *testing.T) {
		require.NoError(t, s.redis.Start(ctx)) // empty: no persistence; checkPlanted plants again
		ingress.WaitBusy(3)                    // real Sidekiq registers again at its next heartbeat
		checkPlanted(t, ctx, s)
	})
	t.Run("scaler-down", func(t *testing.T) {
		s.proc.Stop(15 * time.Second)
		for _, so := range []string{"mastodon-sidekiq-push-pull", "mastodon-sidekiq-ingress"} {
			expectNoFallbackWhileScalerDown(t, ctx, so)
		}
	})
	t.Run("recovery-after-scaler-restart", func(t *testing.T) {
		s.start(t)
		checkPlanted(t, ctx, s)
	})
	t.Run("wake-from-zero-after-the-outages", func(t *testing.T) {
		// KEDA threw its scalers away on the errors above; StreamIsActive must work again.
		c := s.redis.Client()
		defer c.Close()
		require.NoError(t, c.Del(ctx, "queue:mailers").Err())
		d := &appsv1.Deployment{}
		require.NoError(t, platform.Client.Get(ctx, client.ObjectKey{Namespace: scalerNS, Name: "mastodon-sidekiq-mailers"}, d))
		d.Spec.Replicas = new(int32(0))
		require.NoError(t, platform.Client.Update(ctx, d), "back to sleep, as KEDA does after cooldownPeriod")
		checkWake(t, ctx, s)
	})
	if t.Failed() {
		t.Logf("scaler log (tail):\n%s", s.log()[max(0, len(s.log())-6000):])
	}
}

// plantScalerRedis writes what the metrics must show and returns when the oldest job was
// enqueued: 101 push-pull jobs waiting (Sidekiq 8's milliseconds), the oldest 42 s old, and 2
// retries due (a third is not due yet), nothing for mailers. Real Sidekiq's poller may move the
// due retries onto push any moment: the backlog with includeDue is 103 either way.
func plantScalerRedis(t *testing.T, s *scalerUnderTest) time.Time {
	enqueued := time.Now().Add(-42 * time.Second)
	c := s.redis.Client()
	defer c.Close()
	ctx := context.Background()
	require.NoError(t, c.Del(ctx, "queue:push", "queue:pull", "queue:mailers", "retry").Err())
	sk := &sidekiqtest.Sidekiq{T: t, Client: c, Millis: true}
	sk.Push("pull", 1, enqueued)
	sk.Push("push", 100, time.Now())
	for i, at := range []time.Time{time.Now().Add(-time.Minute), time.Now().Add(-time.Second), time.Now().Add(time.Hour)} {
		job := sk.Job("push", "ActivityPub::DeliveryWorker", at.Add(-time.Hour))
		require.NoError(t, c.ZAdd(ctx, "retry", redis.Z{Score: float64(at.UnixMilli()) / 1000, Member: job}).Err(), "retry %d", i)
	}
	return enqueued
}

func target(m scalerMetric) resource.Quantity {
	return resource.MustParse(strconv.FormatFloat(m.target, 'f', -1, 64))
}

// checkScalerHPA waits for the ScaledObject to be Ready and compares its HPA's metrics with the
// triggers: one External metric each, selected by the ScaledObject, with its type and target.
func checkScalerHPA(t *testing.T, ctx context.Context, so string) {
	eventually(t, 2*time.Minute, time.Second, so+" Ready=True", func() (bool, string) {
		s, err := getSO(ctx, scalerNS, so)
		if err != nil {
			return false, err.Error()
		}
		c := s.Status.Conditions.GetReadyCondition()
		return c.IsTrue(), conditions(s)
	})
	hpa := &autoscalingv2.HorizontalPodAutoscaler{}
	require.True(t, eventually(t, time.Minute, time.Second, "HPA keda-hpa-"+so, func() (bool, string) {
		err := platform.Client.Get(ctx, client.ObjectKey{Namespace: scalerNS, Name: "keda-hpa-" + so}, hpa)
		return err == nil, fmt.Sprint(err)
	}))
	want := 0
	for _, m := range scalerMetrics {
		if m.so != so {
			continue
		}
		want++
		var got *autoscalingv2.ExternalMetricSource
		for _, spec := range hpa.Spec.Metrics {
			if spec.External != nil && spec.External.Metric.Name == m.name {
				got = spec.External
			}
		}
		if !assertf(t, got != nil, "HPA %s has no External metric %s: %+v", hpa.Name, m.name, hpa.Spec.Metrics) {
			continue
		}
		assertf(t, got.Metric.Selector != nil && got.Metric.Selector.MatchLabels["scaledobject.keda.sh/name"] == so,
			"%s selector %v", m.name, got.Metric.Selector)
		q, tq := target(m), got.Target.Value
		if m.metricType == autoscalingv2.AverageValueMetricType {
			tq = got.Target.AverageValue
		}
		assertf(t, got.Target.Type == m.metricType && tq != nil && tq.Cmp(q) == 0, "%s target %s %v, want %s %s", m.name, got.Target.Type, tq, m.metricType, q.String())
	}
	assertf(t, len(hpa.Spec.Metrics) == want, "HPA %s has %d metrics, want %d", hpa.Name, len(hpa.Spec.Metrics), want)
}

func assertf(t *testing.T, ok bool, format string, args ...any) bool {
	t.Helper()
	if !ok {
		t.Errorf(format, args...)
	}
	return ok
}

// checkPlanted asks KEDA's metrics service (what the HPA's metrics adapter asks) for every
// metric and compares it with Redis: the age of a job enqueued 42 s ago (planted now; give or
// take the second a reading serves), the backlog with the due retries, and the busy share of
// the ingress worker's real Sidekiq; push-pull runs no process, so its utilization is the
// target itself.
func checkPlanted(t *testing.T, ctx context.Context, s *scalerUnderTest) {
	enqueued := plantScalerRedis(t, s)
	exact := map[string]float64{
		"mastodon-sidekiq-push-pull/s0-sidekiq-backlog":     103,
		"mastodon-sidekiq-push-pull/s2-sidekiq-utilization": 0.7,
		"mastodon-sidekiq-ingress/s0-sidekiq-backlog":       0,
		"mastodon-sidekiq-ingress/s1-sidekiq-utilization":   0.6,
		"mastodon-sidekiq-mailers/s0-sidekiq-backlog":       0,
		"mastodon-sidekiq-mailers/s1-sidekiq-latency":       0,
	}
	for _, m := range scalerMetrics {
		key := m.so + "/" + m.name
		eventually(t, 3*time.Minute, time.Second, key, func() (bool, string) {
			before := time.Since(enqueued).Seconds()
			v, err := metricValue(ctx, scalerNS, m.so, m.name)
			after := time.Since(enqueued).Seconds()
			if err != nil {
				return false, err.Error()
			}
			if want, ok := exact[key]; ok {
				return math.Abs(v-want) < 1e-3, fmt.Sprintf("value %v, want %v", v, want)
			}
			// The latency: the planted job's age while the request ran, less up to the second a
			// reading may be reused, within KEDA's milli precision.
			ok := v >= before-1.001 && v <= after+0.001
			if ok {
				t.Logf("%s = %.3f s (the job was enqueued %.3f-%.3f s before)", key, v, before, after)
			}
			return ok, fmt.Sprintf("value %v, want %.3f-%.3f", v, before-1, after)
		})
	}
}

// checkWake pushes the first job onto mailers, whose worker sleeps at zero and is polled every
// 5 minutes, and waits for KEDA to scale it to 1 on the scaler's StreamIsActive push. The job
// is pushed when KEDA's next poll is at least 40 s away, and the wake must come before it.
func checkWake(t *testing.T, ctx context.Context, s *scalerUnderTest) {
	opened := `msg="StreamIsActive opened" scaledObject=` + scalerNS + "/mastodon-sidekiq-mailers"
	require.True(t, eventually(t, 3*time.Minute, 200*time.Millisecond, "KEDA opened StreamIsActive for mailers", func() (bool, string) {
		log := s.log()
		since := log[max(0, strings.LastIndex(log, "serving KEDA's ExternalScaler")):] // this run of the scaler
		return strings.Contains(since, opened), "no such line in the scaler's log since it started"
	}))
	d := &appsv1.Deployment{}
	require.NoError(t, platform.Client.Get(ctx, client.ObjectKey{Namespace: scalerNS, Name: "mastodon-sidekiq-mailers"}, d))
	require.Equal(t, int32(0), *d.Spec.Replicas, "mailers sleeps before its first job")
	so, err := getSO(ctx, scalerNS, "mastodon-sidekiq-mailers")
	require.NoError(t, err)
	nextPoll := func() time.Time {
		polls := math.Ceil(time.Since(so.CreationTimestamp.Time).Seconds() / 300)
		return so.CreationTimestamp.Add(time.Duration(polls) * 300 * time.Second)
	}
	if time.Until(nextPoll()) < 40*time.Second {
		time.Sleep(time.Until(nextPoll()) + 5*time.Second)
	}
	bound := time.Until(nextPoll()) - 5*time.Second

	c := s.redis.Client()
	defer c.Close()
	(&sidekiqtest.Sidekiq{T: t, Client: c, Millis: true}).Push("mailers", 1, time.Now())
	pushed := time.Now()
	if eventually(t, bound, 50*time.Millisecond, "mailers scaled from 0 before KEDA's next poll", func() (bool, string) {
		if err := platform.Client.Get(ctx, client.ObjectKey{Namespace: scalerNS, Name: "mastodon-sidekiq-mailers"}, d); err != nil {
			return false, err.Error()
		}
		return *d.Spec.Replicas >= 1, fmt.Sprintf("replicas %d", *d.Spec.Replicas)
	}) {
		t.Logf("FIGURE wake-from-zero: replicas 0 -> %d %.2f s after the first job (KEDA's next poll was %.0f s away)",
			*d.Spec.Replicas, time.Since(pushed).Seconds(), time.Until(nextPoll()).Seconds())
	}
}

// expectScalerFallback waits until every metric of so reports its fallback value, from which
// the HPA computes exactly fallback.replicas: AverageValue ceil(value/target); Value
// ceil(readyPods x value/target), as KEDA divides a Value fallback by the ready pods.
func expectScalerFallback(t *testing.T, ctx context.Context, so string) {
	want := float64(fallbackReplicas[so])
	for _, m := range scalerMetrics {
		if m.so != so {
			continue
		}
		eventually(t, 2*time.Minute, time.Second, fmt.Sprintf("%s/%s falls back to %v replicas", so, m.name, want), func() (bool, string) {
			v, err := metricValue(ctx, scalerNS, so, m.name)
			if err != nil {
				return false, "error: " + err.Error()
			}
			replicas := math.Ceil(v/m.target - 1e-9)
			if m.metricType == autoscalingv2.ValueMetricType {
				replicas = math.Ceil(float64(readyPods[so])*v/m.target - 1e-9)
			}
			return replicas == want, fmt.Sprintf("value %v -> %v replicas", v, replicas)
		})
	}
	eventually(t, 2*time.Minute, time.Second, so+" Fallback=True", func() (bool, string) {
		s, err := getSO(ctx, scalerNS, so)
		if err != nil {
			return false, err.Error()
		}
		c := s.Status.Conditions.GetFallbackCondition()
		return c.IsTrue(), conditions(s)
	})
}

// expectNoFallbackWhileScalerDown pins what KEDA 2.21 does while the scaler cannot be reached:
// the first failed request makes it throw away the ScaledObject's scalers, and rebuilding them
// needs GetMetricSpec from the scaler, which fails too, before the fallback logic is reached.
// So every request fails, more than failureThreshold+1 times in a row, and the fallback never
// applies (as with the redis scaler and a Redis that is down); the HPA object stays, and the HPA
// keeps its replicas (FailedGetExternalMetric). Run two replicas of the scaler.
func expectNoFallbackWhileScalerDown(t *testing.T, ctx context.Context, so string) {
	for _, m := range scalerMetrics {
		if m.so != so {
			continue
		}
		var lastErr error
		for i := range 2 * (3 + 1) {
			v, err := metricValue(ctx, scalerNS, so, m.name)
			require.Error(t, err, "%s/%s answered %v with the scaler down (request %d): KEDA's behaviour changed, update internal/scaler/README.md", so, m.name, v, i+1)
			lastErr = err
			time.Sleep(time.Second)
		}
		t.Logf("FINDING scaler down: %s/%s: 8 requests in a row failed, no fallback: %v", so, m.name, lastErr)
	}
	s, err := getSO(ctx, scalerNS, so)
	require.NoError(t, err)
	c := s.Status.Conditions.GetFallbackCondition()
	require.False(t, c.IsTrue(), "Fallback with the scaler down: %s", conditions(s))
	hpa := &autoscalingv2.HorizontalPodAutoscaler{}
	require.NoError(t, platform.Client.Get(ctx, client.ObjectKey{Namespace: scalerNS, Name: "keda-hpa-" + so}, hpa), "the HPA must survive")
	t.Logf("FINDING scaler down: %s conditions: %s; HPA kept", so, conditions(s))
}
