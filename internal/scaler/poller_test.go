package scaler

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mastoscale/mastoscale/internal/sidekiq"
	"github.com/mastoscale/mastoscale/internal/sidekiq/sidekiqtest"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func trig(metric Metric, deployment, queues string, target float64) Trigger {
	tr, err := ParseTrigger(map[string]string{"metric": string(metric), "deployment": deployment, "queues": queues, "target": fmt.Sprint(target)})
	if err != nil {
		panic(err)
	}
	return tr
}

// plant writes a Mastodon whose ingress worker has 1567 jobs waiting (the oldest 42.25 s,
// Sidekiq 7 format), whose default queue has 3 (1.5 s, Sidekiq 8 format), and whose processes
// belong to several workers.
func plant(t *testing.T, sk *sidekiqtest.Sidekiq) {
	sk.Push("ingress", 1567, now.Add(-42250*time.Millisecond))
	sk.Millis = true
	sk.Push("default", 3, now.Add(-1500*time.Millisecond))
	sk.Millis = false
	sk.Push("mailers", 0, now)
	beat := now.Add(-2 * time.Second)
	for _, p := range []sidekiqtest.Process{
		{Hostname: "mastodon-sidekiq-ingress-6f7d9c8b5-h4j6k", PID: 1, Concurrency: 5, Queues: []string{"ingress"}, Busy: []string{"ingress", "ingress", "ingress"}, Beat: beat},
		{Hostname: "mastodon-sidekiq-ingress-6f7d9c8b5-q8w4r", PID: 1, Concurrency: 5, Queues: []string{"ingress"}, Busy: []string{"ingress"}, Beat: beat, Quiet: true},
		{Hostname: "mastodon-sidekiq-default-5c4b8d9f7-x2kq4", PID: 1, Concurrency: 25, Queues: []string{"default"}, Busy: []string{"default"}, Beat: beat, Version: "8.1.2"},
		{Hostname: "mastodon-sidekiq-ingress-2-7b8c9d6f5-b7z9m", PID: 1, Concurrency: 10, Queues: []string{"ingress"}, Beat: beat},
	} {
		sk.Heartbeat(p)
	}
	// A process that died without deregistering: in the set, its heartbeat expired.
	require.NoError(t, sk.Client.SAdd(context.Background(), sk.Namespace+nsSep(sk.Namespace)+"processes", "mastodon-sidekiq-ingress-6f7d9c8b5-zzzzz:9:x").Err())
}

func nsSep(ns string) string {
	if ns == "" {
		return ""
	}
	return ":"
}

// due adds jobs to the retry or schedule set at score at.
func due(t *testing.T, sk *sidekiqtest.Sidekiq, set, queue string, n int, at time.Time) {
	for range n {
		job := sk.Job(queue, "ActivityPub::DeliveryWorker", at.Add(-time.Hour))
		require.NoError(t, sk.Client.ZAdd(context.Background(), sidekiq.Keys{Namespace: sk.Namespace}.Of(set),
			redis.Z{Score: float64(at.UnixMicro()) / 1e6, Member: job}).Err())
	}
}

func TestReadingMetrics(t *testing.T) {
	addr := testutil.RedisServer(t)
	for _, ns := range []string{"", "masto5"} {
		t.Run("namespace "+ns, func(t *testing.T) {
			sk := sidekiqtest.New(t, addr)
			sk.Namespace = ns
			plant(t, sk)
			p, _, _ := newPoller(t, sidekiq.Connection{URL: "redis://" + addr}, ns)

			value := func(tr Trigger) float64 {
				v, err := get(t, p, tr).Value(tr)
				require.NoError(t, err)
				return v
			}
			active := func(tr Trigger) bool {
				a, err := get(t, p, tr).Active(tr)
				require.NoError(t, err)
				return a
			}
			assert.InDelta(t, 42.25, value(trig(MetricLatency, "mastodon-sidekiq-ingress", "ingress,default,mailers", 30)), 1e-6, "max over the queues, sub-second")
			assert.InDelta(t, 1.5, value(trig(MetricLatency, "mastodon-sidekiq-default", "default", 30)), 1e-9, "Sidekiq 8 milliseconds")
			assert.Equal(t, 0.0, value(trig(MetricLatency, "mastodon-sidekiq-mailers", "mailers,never", 30)), "empty and missing queues")
			assert.Equal(t, 1570.0, value(trig(MetricBacklog, "mastodon-sidekiq-ingress", "ingress,default", 1500)))
			assert.InDelta(t, 0.6, value(trig(MetricUtilization, "mastodon-sidekiq-ingress", "ingress", 0.7)), 1e-12,
				"3 of 5 threads; the quiet process and the ingress-2 worker's do not count")
			assert.InDelta(t, 1.0/25, value(trig(MetricUtilization, "mastodon-sidekiq-default", "default", 0.7)), 1e-12, "Sidekiq 8.1.2's concurrency field")
			assert.Equal(t, 0.7, value(trig(MetricUtilization, "mastodon-sidekiq-mailers", "mailers", 0.7)),
				"no process: the target itself, so the HPA keeps its count")

			assert.True(t, active(trig(MetricLatency, "mastodon-sidekiq-ingress", "ingress", 30)))
			assert.False(t, active(trig(MetricUtilization, "mastodon-sidekiq-mailers", "mailers", 0.7)))
			quietOnly := trig(MetricLatency, "mastodon-sidekiq-ingress", "mailers", 30)
			assert.True(t, active(quietOnly), "no job waits, but the worker's threads still run jobs")
			high := trig(MetricBacklog, "mastodon-sidekiq-ingress-2", "ingress", 1500)
			high.ActivationBacklog = 1567
			assert.False(t, active(high), "1567 jobs are not more than activationBacklog 1567, and nothing runs")
		})
	}
}

func TestReadingDueJobs(t *testing.T) {
	addr := testutil.RedisServer(t)
	sk := sidekiqtest.New(t, addr)
	sk.Push("push", 2, now.Add(-time.Second))
	due(t, sk, "retry", "push", 3, now.Add(-10*time.Second))
	due(t, sk, "retry", "push", 4, now.Add(time.Minute)) // not due yet
	due(t, sk, "schedule", "push", 1, now)
	due(t, sk, "schedule", "mailers", 5, now.Add(-time.Second))
	p, _, _ := newPoller(t, sidekiq.Connection{URL: "redis://" + addr}, "")

	push := trig(MetricBacklog, "mastodon-sidekiq-push", "push", 100)
	v, err := get(t, p, push).Value(push)
	require.NoError(t, err)
	assert.Equal(t, 2.0, v, "without includeDue: the list only")
	push.IncludeDue = true
	v, err = get(t, p, push).Value(push)
	require.NoError(t, err)
	assert.Equal(t, 2.0+3+1, v, "due retries and scheduled jobs of the queue, not the later ones")

	mailers := trig(MetricBacklog, "mastodon-sidekiq-mailers", "mailers", 100)
	a, err := get(t, p, mailers).Active(mailers)
	require.NoError(t, err)
	assert.False(t, a)
	mailers.IncludeDue = true
	a, err = get(t, p, mailers).Active(mailers)
	require.NoError(t, err)
	assert.True(t, a, "5 scheduled mailers are due: Sidekiq's poller pushes them any moment")

	p.DueLimit = 2
	p.MaxAge = 0
	v, err = get(t, p, push).Value(push)
	require.NoError(t, err)
	assert.LessOrEqual(t, v, 2.0+2+2, "at most due-limit jobs of each set are read")
}

func TestReadingErrors(t *testing.T) {
	addr := testutil.RedisServer(t)
	sk := sidekiqtest.New(t, addr)
	plant(t, sk)
	ctx := context.Background()
	require.NoError(t, sk.Client.Set(ctx, "queue:broken", "not a list", 0).Err())
	require.NoError(t, sk.Client.SAdd(ctx, "processes", "mastodon-sidekiq-default-5c4b8d9f7-b7z9m:3:abc").Err())
	require.NoError(t, sk.Client.Set(ctx, "mastodon-sidekiq-default-5c4b8d9f7-b7z9m:3:abc", "not a hash", 0).Err())
	p, _, _ := newPoller(t, sidekiq.Connection{URL: "redis://" + addr}, "")

	broken := trig(MetricLatency, "mastodon-sidekiq-ingress", "ingress,broken", 30)
	_, err := get(t, p, broken).Value(broken)
	assert.ErrorContains(t, err, `reading queue "queue:broken": WRONGTYPE`)
	fine := trig(MetricLatency, "mastodon-sidekiq-ingress", "ingress", 30)
	_, err = get(t, p, fine).Value(fine)
	assert.NoError(t, err, "the other triggers are served")

	def := trig(MetricUtilization, "mastodon-sidekiq-default", "default", 0.7)
	_, err = get(t, p, def).Value(def)
	assert.ErrorContains(t, err, `reading the heartbeat of process "mastodon-sidekiq-default-5c4b8d9f7-b7z9m:3:abc": WRONGTYPE`)
	ing := trig(MetricUtilization, "mastodon-sidekiq-ingress", "ingress", 0.7)
	_, err = get(t, p, ing).Value(ing)
	assert.NoError(t, err, "a broken heartbeat fails its own Deployment's triggers only")

	require.NoError(t, sk.Client.Del(ctx, "processes").Err())
	require.NoError(t, sk.Client.Set(ctx, "processes", "x", 0).Err())
	require.NoError(t, sk.Client.Del(ctx, "retry").Err())
	require.NoError(t, sk.Client.Set(ctx, "retry", "x", 0).Err())
	p.MaxAge = 0
	_, err = get(t, p, ing).Value(ing)
	assert.ErrorContains(t, err, `reading the process registry "processes": WRONGTYPE`)
	_, err = get(t, p, fine).Value(fine)
	assert.NoError(t, err, "latency needs no processes")
	_, err = get(t, p, fine).Active(fine)
	assert.NoError(t, err, "ingress has jobs waiting: active without asking the processes")
	withDue := trig(MetricBacklog, "mastodon-sidekiq-ingress", "ingress", 1500)
	withDue.IncludeDue = true
	_, err = get(t, p, withDue).Value(withDue)
	assert.ErrorContains(t, err, `reading the due jobs of "retry": WRONGTYPE`)
}

func TestReadingRedisUnavailable(t *testing.T) {
	down := fmt.Sprintf("redis://127.0.0.1:%d", testutil.FreePort(t))
	p, _, _ := newPoller(t, sidekiq.Connection{URL: down}, "")
	tr := trig(MetricLatency, "d", "default", 30)
	r := get(t, p, tr)
	assert.ErrorContains(t, r.Err, "connection refused")
	_, err := r.Value(tr)
	assert.ErrorIs(t, err, r.Err)

	addr := testutil.RedisServer(t, "--requirepass", "s3cret")
	for pw, want := range map[string]string{"": "NOAUTH", "wrong": "WRONGPASS"} {
		p, _, _ := newPoller(t, sidekiq.Connection{URL: "redis://" + addr, Password: pw}, "")
		assert.ErrorContains(t, get(t, p, tr).Err, want, "an authentication error fails the whole reading")
	}
}

func TestCoalescing(t *testing.T) {
	addr := testutil.RedisServer(t)
	plant(t, sidekiqtest.New(t, addr))
	p, clk, rt := newPoller(t, sidekiq.Connection{URL: "redis://" + addr}, "")
	triggers := []Trigger{
		trig(MetricLatency, "mastodon-sidekiq-ingress", "ingress", 30),
		trig(MetricUtilization, "mastodon-sidekiq-ingress", "ingress", 0.7),
		trig(MetricBacklog, "mastodon-sidekiq-default", "default", 1500),
		trig(MetricLatency, "mastodon-sidekiq-mailers", "mailers,push", 30),
	}
	burst := func() {
		var wg sync.WaitGroup
		for range 5 {
			for _, tr := range triggers {
				wg.Go(func() { _, err := get(t, p, tr).Value(tr); assert.NoError(t, err) })
			}
		}
		wg.Wait()
	}
	burst()
	first := rt.n.Load()
	// A reading, its second round trip for the processes it sees first, and one or two more for
	// the triggers that asked while it was under way (how many depends on the scheduler).
	assert.LessOrEqual(t, first, int64(4), "20 requests")
	burst()
	assert.Equal(t, first, rt.n.Load(), "the same second: served from the reading")

	for range 3 {
		clk.Add(time.Second)
		before := rt.n.Load()
		burst()
		assert.Equal(t, int64(1), rt.n.Load()-before, "every later second: one round trip for all 20 requests")
	}

	sidekiqtest.New(t, addr).Heartbeat(sidekiqtest.Process{Hostname: "mastodon-sidekiq-mailers-5c4b8d9f7-b7z9m", PID: 1, Concurrency: 5, Queues: []string{"mailers"}, Beat: now})
	clk.Add(time.Second)
	before := rt.n.Load()
	burst()
	assert.Equal(t, int64(2), rt.n.Load()-before, "a new process: its info costs one more round trip, once")
	clk.Add(time.Second)
	before = rt.n.Load()
	burst()
	assert.Equal(t, int64(1), rt.n.Load()-before)
}

func TestInterestExpires(t *testing.T) {
	addr := testutil.RedisServer(t)
	p, clk, _ := newPoller(t, sidekiq.Connection{URL: "redis://" + addr}, "")
	get(t, p, trig(MetricLatency, "d", "old", 30))
	clk.Add(interestTTL + time.Second)
	r := get(t, p, trig(MetricLatency, "d", "new", 30))
	assert.Contains(t, r.queues, "new")
	assert.NotContains(t, r.queues, "old", "a queue nobody asked for in ten minutes is no longer read")
}
