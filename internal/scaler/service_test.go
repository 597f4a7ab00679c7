package scaler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	pb "github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"github.com/mastoscale/mastoscale/internal/sidekiq"
	"github.com/mastoscale/mastoscale/internal/sidekiq/sidekiqtest"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

func md(metric, deployment, queues, target string) map[string]string {
	return map[string]string{"metric": metric, "deployment": deployment, "queues": queues, "target": target,
		"scalerAddress": "127.0.0.1:50051"}
}

func TestServiceOverGRPC(t *testing.T) {
	addr := testutil.RedisServer(t)
	sk := sidekiqtest.New(t, addr)
	plant(t, sk)
	require.NoError(t, sk.Client.Set(context.Background(), "queue:broken", "x", 0).Err())
	p, _, _ := newPoller(t, sidekiq.Connection{URL: "redis://" + addr}, "")
	client, _, _, _ := served(t, &Service{Poller: p})
	ctx := context.Background()

	for _, tc := range []struct {
		md     map[string]string
		name   string
		target float64
		value  float64
		active bool
	}{
		{md("latency", "mastodon-sidekiq-ingress", "ingress,default", "30"), "sidekiq-latency", 30, 42.25, true},
		{md("utilization", "mastodon-sidekiq-ingress", "ingress", "0.7"), "sidekiq-utilization", 0.7, 0.6, true},
		{md("backlog", "mastodon-sidekiq-ingress", "ingress", "1500"), "sidekiq-backlog", 1500, 1567, true},
		{md("utilization", "mastodon-sidekiq-mailers", "mailers", "0.7"), "sidekiq-utilization", 0.7, 0.7, false},
		{md("latency", "mastodon-sidekiq-mailers", "mailers", "30"), "sidekiq-latency", 30, 0, false},
	} {
		spec, err := client.GetMetricSpec(ctx, ref(tc.md))
		require.NoError(t, err)
		require.Len(t, spec.MetricSpecs, 1)
		assert.Equal(t, tc.name, spec.MetricSpecs[0].MetricName)
		assert.Equal(t, tc.target, spec.MetricSpecs[0].TargetSizeFloat)

		m, err := client.GetMetrics(ctx, &pb.GetMetricsRequest{ScaledObjectRef: ref(tc.md), MetricName: tc.name})
		require.NoError(t, err)
		require.Len(t, m.MetricValues, 1)
		assert.InDelta(t, tc.value, m.MetricValues[0].MetricValueFloat, 1e-6, "%v", tc.md)
		assert.Equal(t, int64(tc.value+0.5), m.MetricValues[0].MetricValue, "the integer for old KEDA versions, rounded")

		a, err := client.IsActive(ctx, ref(tc.md))
		require.NoError(t, err)
		assert.Equal(t, tc.active, a.Result, "%v", tc.md)
	}

	_, err := client.GetMetrics(ctx, &pb.GetMetricsRequest{ScaledObjectRef: ref(md("latency", "d", "q", "30")), MetricName: "sidekiq-backlog"})
	assert.Equal(t, codes.NotFound, status.Code(err))
	_, err = client.GetMetricSpec(ctx, ref(map[string]string{"metric": "latency"}))
	assert.Equal(t, codes.InvalidArgument, status.Code(err))
	assert.ErrorContains(t, err, "ScaledObject mastodon/worker: metadata.deployment: required")
	_, err = client.GetMetrics(ctx, &pb.GetMetricsRequest{ScaledObjectRef: ref(md("latency", "d", "broken", "30")), MetricName: "sidekiq-latency"})
	assert.Equal(t, codes.FailedPrecondition, status.Code(err))
	assert.ErrorContains(t, err, "WRONGTYPE")
	_, err = client.IsActive(ctx, ref(md("backlog", "d", "broken", "30")))
	assert.Equal(t, codes.FailedPrecondition, status.Code(err))

	stream, err := client.StreamMetricSpec(ctx, ref(md("latency", "d", "q", "30")))
	require.NoError(t, err)
	_, err = stream.Recv()
	assert.Equal(t, codes.Unimplemented, status.Code(err), "KEDA then keeps to GetMetricSpec")
}

func TestServiceRedisDown(t *testing.T) {
	p, _, _ := newPoller(t, sidekiq.Connection{URL: fmt.Sprintf("redis://127.0.0.1:%d", testutil.FreePort(t))}, "")
	client, _, _, _ := served(t, &Service{Poller: p})
	ctx := context.Background()
	_, err := client.GetMetrics(ctx, &pb.GetMetricsRequest{ScaledObjectRef: ref(md("latency", "d", "q", "30")), MetricName: "sidekiq-latency"})
	assert.Equal(t, codes.Unavailable, status.Code(err), "an error, so KEDA counts a failure and falls back")
	assert.ErrorContains(t, err, "connection refused")
	_, err = client.IsActive(ctx, ref(md("latency", "d", "q", "30")))
	assert.Equal(t, codes.Unavailable, status.Code(err))
	_, err = client.GetMetricSpec(ctx, ref(md("latency", "d", "q", "30")))
	assert.NoError(t, err, "the spec needs no Redis: KEDA can build the HPA while Redis is down")
}

func TestStreamIsActive(t *testing.T) {
	addr := testutil.RedisServer(t)
	sk := sidekiqtest.New(t, addr)
	p, _, _ := newPoller(t, sidekiq.Connection{URL: "redis://" + addr}, "")
	p.Now, p.MaxAge = time.Now, 100*time.Millisecond // the stream's ticks must see new readings
	client, _, _, _ := served(t, &Service{Poller: p, StreamInterval: 20 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	stream, err := client.StreamIsActive(ctx, ref(md("latency", "mastodon-sidekiq-mailers", "mailers", "30")))
	require.NoError(t, err)
	msg, err := stream.Recv()
	require.NoError(t, err)
	assert.False(t, msg.Result, "the state when the stream opens")

	sk.Push("mailers", 1, time.Now())
	msg, err = stream.Recv()
	require.NoError(t, err)
	assert.True(t, msg.Result, "the first job wakes the worker")

	// A broken key: no message (KEDA ignores "inactive" anyway), and the stream stays open.
	require.NoError(t, sk.Client.Del(ctx, "queue:mailers").Err())
	require.NoError(t, sk.Client.Set(ctx, "queue:mailers", "x", 0).Err())
	time.Sleep(100 * time.Millisecond)
	require.NoError(t, sk.Client.Del(ctx, "queue:mailers").Err())
	msg, err = stream.Recv()
	require.NoError(t, err, "the stream outlived the error")
	assert.False(t, msg.Result, "the state is sent again once it can be read")
}

func TestHealthAndGracefulShutdown(t *testing.T) {
	addr := testutil.RedisServer(t)
	p, _, _ := newPoller(t, sidekiq.Connection{URL: "redis://" + addr}, "")
	p.Now = time.Now
	client, conn, _, stop := served(t, &Service{Poller: p})
	ctx := context.Background()
	health := healthpb.NewHealthClient(conn)
	for _, svc := range []string{"", "externalscaler.ExternalScaler"} {
		h, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
		require.NoError(t, err)
		assert.Equal(t, healthpb.HealthCheckResponse_SERVING, h.Status)
	}

	stream, err := client.StreamIsActive(ctx, ref(md("latency", "d", "q", "30")))
	require.NoError(t, err)
	_, err = stream.Recv()
	require.NoError(t, err)
	watch, err := health.Watch(ctx, &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	h, err := watch.Recv()
	require.NoError(t, err)
	require.Equal(t, healthpb.HealthCheckResponse_SERVING, h.Status)

	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	h, err = watch.Recv()
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, h.Status, "health turns NOT_SERVING")
	_, err = watch.Recv()
	assert.Error(t, err, "then the watch ends, not holding the shutdown for its grace period")
	_, err = stream.Recv()
	assert.True(t, errors.Is(err, io.EOF), "open streams end cleanly, so KEDA reconnects without backing off: %v", err)
	select {
	case err := <-stopped:
		assert.NoError(t, err)
	case <-time.After(4 * time.Second): // the grace period is 5 s: nothing may wait for it
		t.Fatal("Serve did not return promptly after shutdown")
	}
}
