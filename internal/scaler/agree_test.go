package scaler

import (
	"context"
	"testing"

	"github.com/mastoscale/mastoscale/internal/sidekiq"
	"github.com/mastoscale/mastoscale/internal/sidekiq/sidekiqtest"
	"github.com/mastoscale/mastoscale/internal/status"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStatusAndScalerAgree reads one Redis with `status` and with the scaler at the same
// instant: the backlog and latency of every queue, and the threads and busy threads of every
// process, are the same numbers.
func TestStatusAndScalerAgree(t *testing.T) {
	addr := testutil.RedisServer(t)
	plant(t, sidekiqtest.New(t, addr))
	conn := sidekiq.Connection{URL: "redis://" + addr}
	client, _, err := conn.NewClient()
	require.NoError(t, err)
	defer client.Close()
	snap, err := status.Read(context.Background(), client, status.ReadOptions{ScanKeys: -1}, now)
	require.NoError(t, err)
	st := status.Compute(snap, nil)
	p, _, _ := newPoller(t, conn, "")

	for _, q := range st.Queues {
		lat, bl := trig(MetricLatency, "d", q.Name, 30), trig(MetricBacklog, "d", q.Name, 1500)
		v, err := get(t, p, lat).Value(lat)
		require.NoError(t, err)
		assert.Equal(t, q.LatencySeconds, v, "latency of %s", q.Name)
		v, err = get(t, p, bl).Value(bl)
		require.NoError(t, err)
		assert.Equal(t, float64(q.Backlog), v, "backlog of %s", q.Name)
	}
	r := get(t, p, trig(MetricUtilization, "d", "default", 0.7))
	assert.Equal(t, st.Processes, r.processes, "the same processes, with the same concurrency and busy threads")
}
