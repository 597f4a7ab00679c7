package scaler

import (
	"context"
	"testing"
	"time"

	pb "github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"github.com/mastoscale/mastoscale/internal/sidekiq"
	"github.com/mastoscale/mastoscale/internal/sidekiq/sidekiqtest"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRealSidekiq serves what real Sidekiq 6.4 writes: 3 of its 5 threads run jobs, and jobs
// its client pushed wait on a queue nobody consumes.
func TestRealSidekiq(t *testing.T) {
	addr := testutil.RedisServer(t)
	sk := sidekiqtest.StartReal(t, sidekiqtest.RealOptions{Addr: addr, Hostname: "mastodon-sidekiq-default-5c4b8d9f7-x2kq4",
		Concurrency: 5, Queues: []string{"default"}})
	other := sidekiqtest.StartReal(t, sidekiqtest.RealOptions{Addr: addr, Hostname: "mastodon-sidekiq-default-push-6d5c7b8f9-b7z9m",
		Concurrency: 5, Queues: []string{"push"}})
	sk.Enqueue("default", 3, 60)
	other.Enqueue("push", 5, 60)
	sk.WaitBusy(3)
	other.WaitBusy(5)
	enqueued := time.Now()
	sk.Enqueue("ingress", 2, 1)

	p, _, _ := newPoller(t, sidekiq.Connection{URL: "redis://" + addr}, "")
	p.Now = time.Now
	client, _, _, _ := served(t, &Service{Poller: p})
	ctx := context.Background()
	util := md("utilization", "mastodon-sidekiq-default", "default", "0.7")
	m, err := client.GetMetrics(ctx, &pb.GetMetricsRequest{ScaledObjectRef: ref(util), MetricName: "sidekiq-utilization"})
	require.NoError(t, err)
	assert.InDelta(t, 0.6, m.MetricValues[0].MetricValueFloat, 1e-12, "3 of 5 busy; the default-push worker's 5 busy threads are not its")
	a, err := client.IsActive(ctx, ref(util))
	require.NoError(t, err)
	assert.True(t, a.Result, "no job waits, but three run")

	lat := md("latency", "mastodon-sidekiq-ingress", "ingress", "30")
	time.Sleep(300 * time.Millisecond)
	m, err = client.GetMetrics(ctx, &pb.GetMetricsRequest{ScaledObjectRef: ref(lat), MetricName: "sidekiq-latency"})
	require.NoError(t, err)
	v := m.MetricValues[0].MetricValueFloat
	assert.True(t, v >= 0.3 && v <= time.Since(enqueued).Seconds(), "sub-second latency of real Sidekiq's float enqueued_at: %v", v)
}
