package scaler

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mastoscale/mastoscale/internal/sidekiq"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// TestStreamReconnectsDoNotLeak opens and drops 1,000 StreamIsActive streams, as KEDA does each
// time it rebuilds a ScaledObject's scalers, and checks that goroutines and Redis connections
// come back to what they were: counts, not timings.
func TestStreamReconnectsDoNotLeak(t *testing.T) {
	addr := testutil.RedisServer(t)
	admin := redis.NewClient(&redis.Options{Addr: addr})
	defer admin.Close()
	p, _, _ := newPoller(t, sidekiq.Connection{URL: "redis://" + addr}, "")
	p.Now = time.Now
	client, _, srvAddr, _ := served(t, &Service{Poller: p, StreamInterval: time.Millisecond})
	tr := ref(md("latency", "mastodon-sidekiq-mailers", "mailers", "30"))

	open := func() {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s, err := client.StreamIsActive(ctx, tr)
		require.NoError(t, err)
		_, err = s.Recv()
		require.NoError(t, err)
	}
	open() // warm up: the gRPC transport, the Redis pool
	time.Sleep(50 * time.Millisecond)
	goroutines, conns := settle(t, runtime.NumGoroutine()), redisClients(t, admin)

	for range 1000 {
		open()
	}
	// 100 more, each on a connection of its own, as after KEDA restarts.
	for range 100 {
		conn, err := grpc.NewClient(srvAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		s, err := newClient(conn).StreamIsActive(ctx, tr)
		require.NoError(t, err)
		_, err = s.Recv()
		require.NoError(t, err)
		cancel()
		require.NoError(t, conn.Close())
	}
	after := settle(t, goroutines)
	t.Logf("goroutines %d -> %d, Redis connections %d -> %d, after 1,100 stream reconnects", goroutines, after, conns, redisClients(t, admin))
	assert.LessOrEqual(t, after, goroutines+2, "goroutines after 1,100 reconnects (before: %d)", goroutines)
	assert.LessOrEqual(t, redisClients(t, admin), conns, "Redis connections after 1,100 reconnects")
	assert.LessOrEqual(t, p.Client.PoolStats().TotalConns, uint32(2), "the scaler's Redis pool")
}

// settle waits (up to 5 s) for the goroutine count to come down to want, and returns it.
func settle(t *testing.T, want int) int {
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		n := runtime.NumGoroutine()
		if n <= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// redisClients is the number of connections redis-server has, the admin's own excluded.
func redisClients(t *testing.T, admin *redis.Client) int {
	list, err := admin.ClientList(context.Background()).Result()
	require.NoError(t, err)
	return strings.Count(list, "\n") - 1
}
