package sidekiq_test

import (
	"context"
	"testing"
	"time"

	"github.com/mastoscale/mastoscale/internal/sidekiq"
	"github.com/mastoscale/mastoscale/internal/sidekiq/sidekiqtest"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var now = time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)

func client(t *testing.T, c sidekiq.Connection) *redis.Client {
	t.Helper()
	rc, _, err := c.NewClient()
	require.NoError(t, err)
	t.Cleanup(func() { _ = rc.Close() })
	return rc
}

func readQueues(t *testing.T, c *redis.Client, k sidekiq.Keys, names ...string) ([]sidekiq.Queue, []error) {
	t.Helper()
	ctx := context.Background()
	reads := make([]*sidekiq.QueueRead, len(names))
	_, _ = c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, n := range names {
			reads[i] = sidekiq.ReadQueue(ctx, p, k, n)
		}
		return nil
	})
	qs, errs := make([]sidekiq.Queue, len(names)), make([]error, len(names))
	for i, r := range reads {
		qs[i], errs[i] = r.Result()
	}
	return qs, errs
}

func TestReadQueue(t *testing.T) {
	addr := testutil.RedisServer(t)
	for _, ns := range []string{"", "masto5"} {
		t.Run("namespace "+ns, func(t *testing.T) {
			sk := sidekiqtest.New(t, addr)
			sk.Namespace = ns
			sk.Push("ingress", 10, now.Add(-42*time.Second-250*time.Millisecond)) // Sidekiq 7: float seconds
			sk.Millis = true
			sk.Push("default", 3, now.Add(-1500*time.Millisecond)) // Sidekiq 8: milliseconds
			sk.Push("push", 0, now)
			require.NoError(t, sk.Client.Set(context.Background(), sidekiq.Keys{Namespace: ns}.Queue("broken"), "x", 0).Err())

			qs, errs := readQueues(t, client(t, sidekiq.Connection{URL: "redis://" + addr}), sidekiq.Keys{Namespace: ns}, "ingress", "default", "push", "never", "broken")
			assert.Equal(t, int64(10), qs[0].Backlog)
			assert.InDelta(t, 42.25, qs[0].Latency(now), 1e-6, "sub-second precision from float seconds")
			assert.Equal(t, int64(3), qs[1].Backlog)
			assert.InDelta(t, 1.5, qs[1].Latency(now), 1e-9, "milliseconds")
			assert.Equal(t, sidekiq.Queue{}, qs[2], "an empty queue")
			assert.Equal(t, 0.0, qs[2].Latency(now))
			assert.Equal(t, sidekiq.Queue{}, qs[3], "a queue that never existed")
			require.NoError(t, errs[0])
			require.NoError(t, errs[3])
			assert.ErrorContains(t, errs[4], `reading queue "`+sidekiq.Keys{Namespace: ns}.Queue("broken")+`": WRONGTYPE`)
		})
	}
}

func TestLatencyNeverNegative(t *testing.T) {
	q := sidekiq.Queue{Backlog: 1, OldestEnqueuedAt: now.Add(time.Second)}
	assert.Equal(t, 0.0, q.Latency(now), "a writer whose clock is ahead")
	assert.Equal(t, 0.0, sidekiq.Queue{Backlog: 1}.Latency(now), "a job without a timestamp")
}

func readProcesses(t *testing.T, c *redis.Client, k sidekiq.Keys, known map[string]*sidekiq.Process, ids ...string) ([]sidekiq.Process, []bool, []error) {
	t.Helper()
	ctx := context.Background()
	reads := make([]*sidekiq.ProcessRead, len(ids))
	_, _ = c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			reads[i] = sidekiq.ReadProcess(ctx, p, k, id, known[id], true)
		}
		return nil
	})
	ps, alive, errs := make([]sidekiq.Process, len(ids)), make([]bool, len(ids)), make([]error, len(ids))
	for i, r := range reads {
		ps[i], alive[i], errs[i] = r.Result()
	}
	return ps, alive, errs
}

func TestReadProcess(t *testing.T) {
	addr := testutil.RedisServer(t)
	sk := sidekiqtest.New(t, addr)
	beat := now.Add(-2 * time.Second)
	v6 := sidekiqtest.Process{Hostname: "six", PID: 1, Concurrency: 5, Queues: []string{"default"}, Busy: []string{"default", "push"}, Beat: beat, Version: "6.5.12"}
	v7 := sidekiqtest.Process{Hostname: "seven", PID: 2, Concurrency: 25, Queues: []string{"ingress"}, Busy: []string{"ingress"}, Beat: beat}
	v8 := sidekiqtest.Process{Hostname: "eight", PID: 3, Concurrency: 10, Queues: []string{"push,6", "pull"}, Beat: beat, Version: "8.1.2", Quiet: true}
	for _, p := range []sidekiqtest.Process{v6, v7, v8} {
		sk.Heartbeat(p)
	}
	require.NoError(t, sk.Client.Set(context.Background(), "broken:1:x", "not a hash", 0).Err())
	c := client(t, sidekiq.Connection{URL: "redis://" + addr})

	ps, alive, errs := readProcesses(t, c, sidekiq.Keys{}, nil, v6.Identity(), v7.Identity(), v8.Identity(), "gone:9:x", "broken:1:x")
	require.NoError(t, errs[0])
	assert.Equal(t, []bool{true, true, true, false, false}, alive)
	assert.Equal(t, int64(2), ps[0].Busy)
	assert.ElementsMatch(t, []string{"default", "push"}, ps[0].Running, "Sidekiq 6 keeps the running jobs in :workers")
	assert.Equal(t, []string{"ingress"}, ps[1].Running, "Sidekiq 7 in :work")
	assert.Equal(t, int32(25), ps[1].Concurrency)
	assert.Equal(t, int32(10), ps[2].Concurrency, "Sidekiq 8.1.2 writes the concurrency into the hash")
	assert.Equal(t, []string{"pull", "push"}, ps[2].Queues)
	assert.True(t, ps[2].Quiet)
	assert.True(t, beat.Equal(ps[1].Beat))
	assert.ErrorContains(t, errs[4], `reading the heartbeat of process "broken:1:x": WRONGTYPE`)

	// A process already known is read without its info, which a process writes once.
	known := map[string]*sidekiq.Process{v7.Identity(): &ps[1]}
	v7.Busy = []string{"ingress", "ingress", "ingress"}
	sk.Heartbeat(v7)
	require.NoError(t, sk.Client.HSet(context.Background(), v7.Identity(), "info", "{not read}").Err())
	again, alive, errs := readProcesses(t, c, sidekiq.Keys{}, known, v7.Identity())
	require.NoError(t, errs[0])
	assert.True(t, alive[0])
	assert.Equal(t, int64(3), again[0].Busy, "the heartbeat is read again")
	assert.Equal(t, "seven", again[0].Hostname, "the info is the known one")

	require.NoError(t, sk.Client.Del(context.Background(), v7.Identity()).Err())
	_, alive, errs = readProcesses(t, c, sidekiq.Keys{}, known, v7.Identity())
	require.NoError(t, errs[0])
	assert.False(t, alive[0], "its heartbeat expired")
}

func TestUsageOf(t *testing.T) {
	p := func(host string, conc int32, busy int64, quiet bool) sidekiq.Process {
		return sidekiq.Process{Identity: host + ":1:abc", Hostname: host, Concurrency: conc, Busy: busy, Quiet: quiet}
	}
	procs := []sidekiq.Process{
		p("mastodon-sidekiq-default-5c4b8d9f7-x2kq4", 5, 3, false),
		p("mastodon-sidekiq-default-5c4b8d9f7-b7z9m", 5, 0, false),
		p("mastodon-sidekiq-default-5c4b8d9f7-q8w4r", 5, 2, true), // stopping
		p("mastodon-sidekiq-default-push-6d5c7b8f9-x2kq4", 25, 25, false),
		{Identity: "mastodon-sidekiq-default-6f7d9c8b5-h4j6k:7:abc", Concurrency: 5, Busy: 1}, // no hostname in the info
	}
	u := sidekiq.UsageOf(procs, "mastodon-sidekiq-default")
	assert.Equal(t, sidekiq.Usage{Processes: 3, Threads: 15, Busy: 4, Running: 6}, u)
	util, ok := u.Utilization()
	assert.True(t, ok)
	assert.InDelta(t, 4.0/15, util, 1e-12)

	_, ok = sidekiq.UsageOf(procs, "mastodon-sidekiq-mailers").Utilization()
	assert.False(t, ok, "no process: nothing to divide by")
}

func TestIsPodOf(t *testing.T) {
	long := "mastodon-production-sidekiq-push-and-pull-federation" // 52 characters
	for _, tc := range []struct {
		host, deployment string
		want             bool
	}{
		{"mastodon-sidekiq-default-5c4b8d9f7-x2kq4", "mastodon-sidekiq-default", true},
		{"mastodon-sidekiq-default-7-x2kq4", "mastodon-sidekiq-default", true},
		{"mastodon-sidekiq-default-push-6d5c7b8f9-x2kq4", "mastodon-sidekiq-default", false},
		{"mastodon-sidekiq-default-2-6d5c7b8f9-x2kq4", "mastodon-sidekiq-default", false},
		{"mastodon-sidekiq-default-5c4b8d9f7-x2kq4", "mastodon-sidekiq-default-push", false},
		{"mastodon-sidekiq-default-5c4b8d9f7-X2KQ4", "mastodon-sidekiq-default", false},
		{"mastodon-sidekiq-default-5c4b8d9f7a1-x2kq4", "mastodon-sidekiq-default", false}, // hash too long, 'a' not in the alphabet
		{"mastodon-sidekiq-default-x2kq4", "mastodon-sidekiq-default", false},
		{"sidekiq", "sidekiq", false},
		{"", "", false},
		// Long names: the apiserver keeps 58 characters of "<rs name>-" and adds 5.
		{long + "-6d5c-b7z9m", long, true},    // exactly 58: nothing cut
		{long + "-6d5c7b-b7z9m", long, false}, // 60: the apiserver would have cut it
		{(long + "-6d5c7b8f9-")[:58] + "b7z9m", long, true},
		{(long + "-6d5c7b8f9-")[:58] + "b7z9m", long + "-6", false},
		{(long + "xxxxxxx-6d5c7b8f9-")[:58] + "b7z9m", long + "xxxxxxx", true},
	} {
		assert.Equal(t, tc.want, sidekiq.IsPodOf(tc.host, tc.deployment), "%s of %s", tc.host, tc.deployment)
	}
}

func TestHostnameOf(t *testing.T) {
	assert.Equal(t, "web-1", sidekiq.HostnameOf("web-1:7:0123456789ab"))
	assert.Equal(t, "web-1", sidekiq.HostnameOf("web-1"))
}
