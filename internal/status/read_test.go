package status_test

import (
	"context"
	"testing"
	"time"

	"github.com/mastoscale/mastoscale/internal/sidekiq"
	"github.com/mastoscale/mastoscale/internal/sidekiq/sidekiqtest"
	"github.com/mastoscale/mastoscale/internal/status"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var now = time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)

const splitLayout = `apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
metadata: {name: mastodon}
spec:
  mastodonVersion: "4.5"
  workers:
    - name: default
      concurrency: 20
      queues: [{name: default}]
      autoscale: {minReplicas: 1, maxReplicas: 4, listLength: 1500}
    - name: ingress
      queues: [{name: ingress}]
      autoscale: {minReplicas: 1, maxReplicas: 4, listLength: 1500}
    - name: push-pull
      queues: [{name: push}, {name: pull}, {name: fasp}]
      autoscale: {minReplicas: 0, maxReplicas: 4, listLength: 1500}
    - name: mailers
      queues: [{name: mailers}]
      autoscale: {minReplicas: 0, maxReplicas: 2, listLength: 100}
    - name: scheduler
      concurrency: 5
      replicas: 1
      queues: [{name: scheduler}]
`

func prepared(t *testing.T, src string) *layout.SidekiqLayout {
	t.Helper()
	l, err := layout.Parse([]byte(src))
	require.NoError(t, err)
	d, report := layout.Prepare(l)
	require.NoError(t, report.Err())
	return d
}

func connect(t *testing.T, c sidekiq.Connection) *redis.Client {
	t.Helper()
	opts, err := c.Options()
	require.NoError(t, err)
	client := redis.NewClient(opts)
	t.Cleanup(func() { _ = client.Close() })
	return client
}

func read(t *testing.T, client *redis.Client, opts status.ReadOptions) *status.Snapshot {
	t.Helper()
	snap, err := status.Read(context.Background(), client, opts, now)
	require.NoError(t, err)
	return snap
}

// seed writes a busy Mastodon 4.5 Sidekiq: a 1567-job ingress backlog in Sidekiq 7 format,
// three default jobs in Sidekiq 8 format, and processes that differ from splitLayout.
func seed(sk *sidekiqtest.Sidekiq) {
	sk.Push("ingress", 1567, now.Add(-90*time.Second))
	sk.Millis = true
	sk.Push("default", 3, now.Add(-1500*time.Millisecond))
	sk.Millis = false
	sk.Push("push", 0, now)
	beat := now.Add(-2 * time.Second)
	sk.Heartbeat(sidekiqtest.Process{Hostname: "mastodon-sidekiq-ingress-a", PID: 1, Concurrency: 25, Queues: []string{"ingress"}, Busy: []string{"ingress", "ingress"}, Beat: beat})
	sk.Heartbeat(sidekiqtest.Process{Hostname: "mastodon-sidekiq-default-a", PID: 1, Concurrency: 25, Queues: []string{"default"}, Busy: []string{"default"}, Beat: beat, Version: "8.0.8"})
	sk.Heartbeat(sidekiqtest.Process{Hostname: "mastodon-sidekiq-push-pull-a", PID: 1, Concurrency: 25, Queues: []string{"push,6", "pull", "fasp"}, Beat: beat})
	sk.Heartbeat(sidekiqtest.Process{Hostname: "mastodon-sidekiq-scheduler-a", PID: 1, Concurrency: 5, Queues: []string{"scheduler"}, Beat: beat})
	sk.Heartbeat(sidekiqtest.Process{Hostname: "mastodon-sidekiq-scheduler-b", PID: 1, Concurrency: 5, Queues: []string{"scheduler"}, Beat: beat})
	sk.Heartbeat(sidekiqtest.Process{Hostname: "mastodon-sidekiq-old", PID: 2, Concurrency: 25, Queues: []string{"mailers"}, Quiet: true, Beat: beat})
	sk.Stats(123456, 2, 3, 1)
}

func TestReadAgainstRedis(t *testing.T) {
	addr := testutil.RedisServer(t)
	sk := sidekiqtest.New(t, addr)
	seed(sk)
	// A dead process: still in the set, its heartbeat hash expired.
	require.NoError(t, sk.Client.SAdd(context.Background(), "processes", "gone:9:000000000009").Err())

	l := prepared(t, splitLayout)
	client := connect(t, sidekiq.Connection{URL: "redis://" + addr + "/0"})
	snap := read(t, client, status.ReadOptions{Queues: []string{"default", "ingress", "push", "pull", "mailers", "scheduler", "fasp"}})
	st := status.Compute(snap, l)

	type row struct {
		Backlog   int64
		Latency   float64
		Consumers int
		Threads   int64
		Busy      int64
	}
	got := map[string]row{}
	for _, q := range st.Queues {
		got[q.Name] = row{q.Backlog, q.LatencySeconds, q.Consumers, q.Threads, q.Busy}
	}
	assert.Equal(t, map[string]row{
		"default":   {3, 1.5, 1, 25, 1},
		"push":      {0, 0, 1, 25, 0},
		"ingress":   {1567, 90, 1, 25, 2},
		"mailers":   {0, 0, 0, 0, 0}, // only a quiet process lists it
		"pull":      {0, 0, 1, 25, 0},
		"scheduler": {0, 0, 2, 10, 0},
		"fasp":      {0, 0, 1, 25, 0},
	}, got)
	assert.Equal(t, []string{"default", "push", "ingress", "mailers", "pull", "scheduler", "fasp"}, names(st.Queues), "catalogue order")
	assert.Equal(t, [3]int64{2, 3, 1}, [3]int64{st.Retry, st.Scheduled, st.Dead})
	assert.Equal(t, int64(123456), snap.Processed)
	assert.Len(t, st.Processes, 6, "the dead process is left out")

	workers := map[string][3]int64{} // replicas, connections, pods
	for _, w := range st.Workers {
		workers[w.Name] = [3]int64{int64(w.Replicas), w.Connections, int64(w.Processes)}
	}
	assert.Equal(t, map[string][3]int64{
		"default":   {1, 20, 1},
		"ingress":   {2, 50, 1},
		"push-pull": {0, 0, 1},
		"mailers":   {0, 0, 1},
		"scheduler": {1, 5, 2},
	}, workers)
	assert.Equal(t, "1567/1500", st.Workers[1].Targets[0].String())

	assert.ElementsMatch(t, []string{
		`2 processes mastodon-sidekiq-scheduler-a:1:000000000001, mastodon-sidekiq-scheduler-b:1:000000000001: worker "scheduler" consumes "scheduler" and runs 2 replicas, but the queue must run in exactly one process (` + layout.SchedulerDuplicates + `): set replicas to 1 (strategy Recreate) and move the other queues to a worker that can scale`,
		`the live processes: queue "mailers" is consumed by no worker, so its jobs would wait forever: add it to a worker's queues`,
		`process mastodon-sidekiq-default-a:1:000000000001: the database pool is 20 (DB_POOL of the layout's worker "default") but Sidekiq runs 25 threads (the process registry): 5 threads wait for a connection; set DB_POOL to 25 or remove it (Mastodon 4.3+ then sizes the pool to the threads)`,
		`process mastodon-sidekiq-default-a:1:000000000001 (worker "default") runs 25 threads but the layout says 20`,
	}, st.Warnings)
}

func names(qs []status.QueueStatus) []string {
	var out []string
	for _, q := range qs {
		out = append(out, q.Name)
	}
	return out
}

func TestReadNamespaced(t *testing.T) {
	addr := testutil.RedisServer(t)
	sk := sidekiqtest.New(t, addr)
	sk.Namespace = "masto5"
	sk.Push("default", 42, now.Add(-time.Minute))
	sk.Heartbeat(sidekiqtest.Process{Hostname: "sidekiq", PID: 1, Concurrency: 25, Queues: []string{"default", "scheduler"}, Busy: []string{"default"}, Beat: now})
	sk.Stats(7, 1, 0, 0)
	client := connect(t, sidekiq.Connection{URL: "redis://" + addr})

	snap := read(t, client, status.ReadOptions{Namespace: "masto5"})
	assert.Equal(t, int64(42), snap.Queues["default"].Backlog)
	assert.Equal(t, int64(1), snap.Queues["default"].Busy)
	assert.Len(t, snap.Processes, 1)
	assert.Equal(t, int64(7), snap.Processed)
	assert.Equal(t, int64(1), snap.Retry)
	assert.Empty(t, snap.OtherPrefixes)
	assert.Empty(t, status.Compute(snap, nil).Warnings)

	// Read without the namespace: nothing there, and a warning that names it.
	snap = read(t, client, status.ReadOptions{})
	assert.Empty(t, snap.Queues)
	assert.Equal(t, []string{"masto5"}, snap.OtherPrefixes)
	assert.Contains(t, status.Compute(snap, nil).Warnings,
		`Redis holds Sidekiq keys under namespace "masto5" (masto5:queues) while no namespace was read (--namespace): set spec.redis.namespace or --namespace masto5 if Sidekiq uses REDIS_NAMESPACE=masto5`)

	// The reverse: a namespace is read but Sidekiq writes un-namespaced keys.
	sk.Namespace = ""
	sk.Push("default", 1, now)
	snap = read(t, client, status.ReadOptions{Namespace: "masto5"})
	assert.Equal(t, []string{""}, snap.OtherPrefixes)
}

func TestReadWithPassword(t *testing.T) {
	addr := testutil.RedisServer(t, "--requirepass", "s3cret")
	_, err := status.Read(context.Background(), connect(t, sidekiq.Connection{URL: "redis://" + addr}), status.ReadOptions{}, now)
	assert.ErrorContains(t, err, "NOAUTH")
	_, err = status.Read(context.Background(), connect(t, sidekiq.Connection{URL: "redis://" + addr, Password: "wrong"}), status.ReadOptions{}, now)
	assert.ErrorContains(t, err, "WRONGPASS")
	snap := read(t, connect(t, sidekiq.Connection{URL: "redis://" + addr, Password: "s3cret"}), status.ReadOptions{Queues: []string{"default"}})
	assert.Equal(t, int64(0), snap.Queues["default"].Backlog)
}

// readOnlyACL is the least a Redis ACL user needs for `mastoscale status`.
var readOnlyACL = []string{"mastoscale", "on", ">pw", "~*", "+@read", "+@transaction", "+@connection", "-@dangerous", "+scan"}

func TestReadWithACLUser(t *testing.T) {
	addr := testutil.RedisServer(t, append([]string{"--user"}, readOnlyACL...)...)
	sk := sidekiqtest.New(t, addr)
	seed(sk)
	client := connect(t, sidekiq.Connection{URL: "redis://mastoscale@" + addr + "/0", Password: "pw"})
	snap := read(t, client, status.ReadOptions{})
	assert.Equal(t, int64(1567), snap.Queues["ingress"].Backlog)
	assert.Len(t, snap.Processes, 6)

	_, err := status.Read(context.Background(), connect(t, sidekiq.Connection{URL: "redis://mastoscale@" + addr, Password: "nope"}), status.ReadOptions{}, now)
	assert.ErrorContains(t, err, "WRONGPASS")
}

func TestReadRedisDown(t *testing.T) {
	addr := "127.0.0.1:" + itoa(testutil.FreePort(t))
	_, err := status.Read(context.Background(), connect(t, sidekiq.Connection{URL: "redis://" + addr}), status.ReadOptions{}, now)
	assert.ErrorContains(t, err, "connection refused")
}

func itoa(n int) string { return fmtInt(n) }

func TestArrivalsAgainstRedis(t *testing.T) {
	addr := testutil.RedisServer(t)
	sk := sidekiqtest.New(t, addr)
	sk.Push("ingress", 100, now.Add(-time.Minute))
	sk.Push("default", 3, now.Add(-time.Minute))
	sk.Heartbeat(sidekiqtest.Process{Hostname: "a", PID: 1, Concurrency: 10, Queues: []string{"default", "ingress"}, Beat: now})
	sk.Stats(1000, 0, 0, 0)
	client := connect(t, sidekiq.Connection{URL: "redis://" + addr})
	prev := read(t, client, status.ReadOptions{})

	// In the interval: ingress gets 25 jobs and 40 are fetched, its backlog outlives the
	// interval; default is drained (3 old jobs), gets 2 that wait and 4 that come and go.
	sk.Push("ingress", 25, now)
	sk.Fetch("ingress", 40)
	sk.Fetch("default", 3)
	sk.Push("default", 4, now)
	sk.Fetch("default", 4)
	sk.Push("default", 2, now)
	sk.Stats(1000+40+3+4, 0, 0, 0)

	cur := read(t, client, status.ReadOptions{Previous: prev})
	assert.Equal(t, int64(25), cur.Queues["ingress"].MarkerIndex)
	assert.Equal(t, int64(-1), cur.Queues["default"].MarkerIndex)
	assert.Equal(t, map[string]int64{"ingress": 25, "default": 2 + 4}, status.Arrivals(prev, cur))
}

func TestNamespaceLeftoversAfter44(t *testing.T) {
	snap := &status.Snapshot{Time: now, Queues: map[string]status.QueueSample{}, OtherPrefixes: []string{"masto5"}}
	assert.Contains(t, status.Compute(snap, prepared(t, splitLayout)).Warnings,
		`Redis holds Sidekiq keys under namespace "masto5" (masto5:queues), but Mastodon 4.5 ignores REDIS_NAMESPACE: they are leftovers of an older release; migrate the jobs or delete the keys`)
}
