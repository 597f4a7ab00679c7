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
)

// fleet is a snapshot of a large server: 7 queues and 100 processes.
func fleet() *status.Snapshot {
	snap := &status.Snapshot{Time: now, Queues: map[string]status.QueueSample{}}
	for _, q := range []string{"default", "push", "ingress", "mailers", "pull", "scheduler", "fasp"} {
		snap.Queues[q] = status.QueueSample{Backlog: 1567, OldestEnqueuedAt: now.Add(-time.Minute), Busy: 3, MarkerIndex: -1}
	}
	for i := range 100 {
		snap.Processes = append(snap.Processes, status.Process{Identity: fmt.Sprintf("p%d", i), Concurrency: 25, Queues: []string{"default"}})
	}
	return snap
}

func BenchmarkCompute(b *testing.B) {
	l := prepared(&testing.T{}, splitLayout)
	snap := fleet()
	b.ReportAllocs()
	for b.Loop() {
		_ = status.Compute(snap, l)
	}
}

func BenchmarkArrivals(b *testing.B) {
	prev, cur := fleet(), fleet()
	cur.Processed = 5000
	b.ReportAllocs()
	for b.Loop() {
		_ = status.Arrivals(prev, cur)
	}
}

// BenchmarkRead is one reading of a real redis-server on loopback holding seed's data
// (1567 ingress jobs, 6 processes), namespace scan included.
func BenchmarkRead(b *testing.B) {
	addr := testutil.RedisServer(b)
	seed(sidekiqtest.New(b, addr))
	opts, err := sidekiq.Connection{URL: "redis://" + addr}.Options()
	if err != nil {
		b.Fatal(err)
	}
	client := newClient(opts)
	defer client.Close()
	prev, err := status.Read(context.Background(), client, status.ReadOptions{}, now)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := status.Read(context.Background(), client, status.ReadOptions{Previous: prev}, now); err != nil {
			b.Fatal(err)
		}
	}
}
