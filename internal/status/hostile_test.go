package status_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mastoscale/mastoscale/internal/sidekiq"
	"github.com/mastoscale/mastoscale/internal/sidekiq/sidekiqtest"
	"github.com/mastoscale/mastoscale/internal/status"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A Redis whose Sidekiq keys have the wrong type is refused with the key named, not read as 0
// (issue 15 item 11).
func TestReadNamesWronglyTypedKeys(t *testing.T) {
	addr := testutil.RedisServer(t)
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	for _, tc := range []struct {
		key  string
		want string
	}{
		{"queue:default", `reading queue "queue:default": WRONGTYPE`},
		{"retry", `reading "retry" (Sidekiq keeps it as a sorted set): WRONGTYPE`},
		{"schedule", `reading "schedule" (Sidekiq keeps it as a sorted set): WRONGTYPE`},
		{"dead", `reading "dead" (Sidekiq keeps it as a sorted set): WRONGTYPE`},
		{"stat:processed", `reading "stat:processed" (Sidekiq keeps it as a string): WRONGTYPE`},
	} {
		require.NoError(t, c.FlushAll(ctx).Err())
		require.NoError(t, c.SAdd(ctx, "queues", "default").Err())
		require.NoError(t, c.HSet(ctx, tc.key, "not", "sidekiq's").Err())
		_, err := status.Read(ctx, c, status.ReadOptions{}, now)
		require.Error(t, err, tc.key)
		assert.Contains(t, err.Error(), tc.want)
	}
}

// enqueued_at far in the future or near zero is no timestamp: the latency is 0, not 292 years.
func TestReadAbsurdEnqueuedAt(t *testing.T) {
	addr := testutil.RedisServer(t)
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	for _, at := range []string{"1e300", "1e-300", "9.2e18", "99999999999999999999", "1", "-5"} {
		require.NoError(t, c.FlushAll(ctx).Err())
		require.NoError(t, c.SAdd(ctx, "queues", "default").Err())
		require.NoError(t, c.LPush(ctx, "queue:default", `{"class":"A","queue":"default","enqueued_at":`+at+`}`).Err())
		snap, err := status.Read(ctx, c, status.ReadOptions{}, now)
		require.NoError(t, err)
		q := snap.Queues["default"]
		assert.Equal(t, int64(1), q.Backlog)
		assert.True(t, q.OldestEnqueuedAt.IsZero(), "enqueued_at %s read as %v", at, q.OldestEnqueuedAt)
		st := status.Compute(snap, nil)
		for _, qs := range st.Queues {
			assert.Less(t, qs.LatencySeconds, time.Hour.Seconds(), "enqueued_at %s", at)
		}
	}
}

// rediss:// to a plain port says the URL asks for TLS.
func TestExplainTLSToPlainPort(t *testing.T) {
	addr := testutil.RedisServer(t)
	sidekiqtest.New(t, addr).Push("default", 1, now)
	conn := sidekiq.Connection{URL: fmt.Sprintf("rediss://%s/0", addr), TLSInsecure: true}
	_, err := status.Read(context.Background(), connect(t, conn), status.ReadOptions{}, now)
	require.Error(t, err)
	assert.Contains(t, conn.Explain(err).Error(), "if this Redis port is plain TCP, use redis://")
}
