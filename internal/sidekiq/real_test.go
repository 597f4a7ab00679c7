package sidekiq_test

import (
	"context"
	"testing"
	"time"

	"github.com/mastoscale/mastoscale/internal/sidekiq"
	"github.com/mastoscale/mastoscale/internal/sidekiq/sidekiqtest"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRealSidekiq reads what real Sidekiq 6.4 writes: its heartbeat, its running jobs and the
// jobs its client pushes, plain and under REDIS_NAMESPACE (redis-namespace, Mastodon <= 4.3).
func TestRealSidekiq(t *testing.T) {
	for _, ns := range []string{"", "masto5"} {
		t.Run("namespace "+ns, func(t *testing.T) {
			t.Parallel()
			addr := testutil.RedisServer(t, append(aclUser, "--requirepass", "admin")...)
			pod := "mastodon-sidekiq-default-5c4b8d9f7-x2kq4"
			sk := sidekiqtest.StartReal(t, sidekiqtest.RealOptions{Addr: addr, Password: "admin", Namespace: ns, Hostname: pod,
				Concurrency: 5, Queues: []string{"default,8", "push"}})
			sk.Enqueue("default", 3, 60)
			id := sk.WaitBusy(3)
			before := time.Now()
			sk.Enqueue("ingress", 2, 1) // nobody consumes it: the jobs wait
			after := time.Now()

			keys := sidekiq.Keys{Namespace: ns}
			c := client(t, sidekiq.Connection{URL: "redis://mastoscale@" + addr, Password: "pw"})
			ids, err := c.SMembers(context.Background(), keys.Of(sidekiq.KeyProcesses)).Result()
			require.NoError(t, err)
			assert.Equal(t, []string{id}, ids, "identities are bare in the set, also with a namespace")
			ps, alive, errs := readProcesses(t, c, keys, nil, id)
			require.NoError(t, errs[0])
			require.True(t, alive[0])
			p := ps[0]
			assert.Equal(t, pod, p.Hostname)
			assert.Empty(t, p.Version, "Sidekiq 6.4 does not write its version into the info")
			assert.Equal(t, int32(5), p.Concurrency)
			assert.Equal(t, []string{"default", "push"}, p.Queues)
			assert.Equal(t, int64(3), p.Busy)
			assert.Equal(t, []string{"default", "default", "default"}, p.Running)
			assert.WithinDuration(t, time.Now(), p.Beat, 10*time.Second)

			u := sidekiq.UsageOf(ps, "mastodon-sidekiq-default")
			util, ok := u.Utilization()
			assert.True(t, ok)
			assert.InDelta(t, 0.6, util, 1e-12, "3 of 5 threads busy")

			qs, qerrs := readQueues(t, c, keys, "ingress")
			require.NoError(t, qerrs[0])
			assert.Equal(t, int64(2), qs[0].Backlog)
			age := qs[0].Latency(after)
			assert.True(t, age >= 0 && age <= after.Sub(before).Seconds(), "the oldest job was enqueued while Enqueue ran: %v", age)
		})
	}
}
