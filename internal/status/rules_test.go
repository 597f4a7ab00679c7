package status

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/utils/ptr"

	"github.com/mastoscale/mastoscale/pkg/layout"
)

// TestRuleWarnings: status's warnings about what the processes run are layout.Check's rules
// over the live processes, located at them.
func TestRuleWarnings(t *testing.T) {
	procs := []Process{
		{Identity: "a", Concurrency: 10, Queues: []string{"default", "scheduler"}},
		{Identity: "b", Concurrency: 40, Queues: []string{"push", "scheduler"}},
	}
	snap := &Snapshot{Namespace: "masto", Queues: map[string]QueueSample{"custom": {Backlog: 3}, "default": {}}, Processes: procs}
	assert.Equal(t, []string{
		`process b: "scheduler" is already consumed by process a, and must run in exactly one process (` + layout.SchedulerDuplicates + `): keep it in exactly one worker`,
		`the live processes: queue "custom" is consumed by no worker, so its jobs would wait forever: add it to a worker's queues`,
		`process b: 40 threads: Sidekiq gains little beyond 30 threads per process: lower concurrency and raise replicas`,
	}, ruleWarnings(snap, nil, procs), "without a layout the version, and so REDIS_NAMESPACE, is unknown")

	l := &layout.SidekiqLayout{Spec: layout.Spec{MastodonVersion: "4.5", Database: layout.Database{MaxConnections: 40},
		Workers: []layout.Worker{{Name: "default", Concurrency: ptr.To[int32](10), Queues: []layout.Queue{{Name: "default"}, {Name: "scheduler"}}}}}}
	got := ruleWarnings(snap, l, procs)
	assert.Contains(t, got, `process a: REDIS_NAMESPACE is "masto", and Mastodon 4.5 refuses to boot with it (removed in 4.4): migrate the keys and remove it, or set the Mastodon version to the release you really run`)
	assert.Contains(t, got, `spec.database.maxConnections: at max replicas Sidekiq uses 50 connections (default 1x10 + process b 1x40) + 0 reserved = 50, 10 over max_connections 40: lower maxReplicas or concurrency, raise max_connections, or put PgBouncer in front`)
}
