package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mastoscale/mastoscale/internal/sidekiq/sidekiqtest"
	"github.com/mastoscale/mastoscale/internal/status"
	"github.com/mastoscale/mastoscale/internal/testutil"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConcurrencyWithoutC: a Sidekiq command without -c runs SIDEKIQ_CONCURRENCY threads, else
// Mastodon's 5, and lint, post-render, fn --verify and status all count those threads; attach
// mode leaves such a command alone.
func TestConcurrencyWithoutC(t *testing.T) {
	dir := filepath.Join("testdata", "concurrency")
	release, err := os.ReadFile(filepath.Join(dir, "release.yaml"))
	require.NoError(t, err)
	run := func(in []byte, args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := Run(args, Streams{In: bytes.NewReader(in), Out: &out, ErrOut: &errOut})
		return code, out.String(), errOut.String()
	}

	code, out, _ := run(release, "lint", "--max-connections", "25", "-")
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "mastodon-sidekiq-default 2x8 + mastodon-sidekiq-push-pull 1x5 + mastodon-sidekiq-scheduler 1x5) + 0 reserved = 26")

	code, attached, errOut := run(release, "post-render")
	require.Zero(t, code, errOut)
	assert.Contains(t, attached, `command: [bundle, exec, sidekiq, -q, "default,8", -q, "ingress,4", -q, "mailers,2"]`, "attach keeps the command")
	assert.Contains(t, attached, `command: [bundle, exec, sidekiq, -q, "push,6", -q, pull, -q, fasp]`)
	assert.NotContains(t, attached, "DB_POOL", "Mastodon 4.3+ sizes the pool to the threads")
	assert.Equal(t, 2, strings.Count(attached, "kind: ScaledObject"))

	code, out, _ = run([]byte(attached), "lint", "--max-connections", "56", "-")
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "mastodon-sidekiq-default 4x8 + mastodon-sidekiq-push-pull 4x5 + mastodon-sidekiq-scheduler 1x5) + 0 reserved = 57")
	code, out, _ = run([]byte(attached), "lint", "--max-connections", "57", "-")
	assert.Zero(t, code, out)

	layoutFile := filepath.Join(dir, "layout.yaml")
	code, split, errOut := run(release, "post-render", "-f", layoutFile)
	require.Zero(t, code, "the layout fits 57 connections at 8 and 5 threads:\n%s", errOut)
	assert.Contains(t, split, `command: [bundle, exec, sidekiq, -q, "default,8", -q, "ingress,4", -q, "mailers,2"]`, "a command that already runs the worker is kept")
	code, out, errOut = run([]byte(split), "fn", "--verify", layoutFile, "-")
	assert.Zero(t, code, out+errOut)

	tight := filepath.Join(t.TempDir(), "layout.yaml")
	data, err := os.ReadFile(layoutFile)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(tight, bytes.Replace(data, []byte("maxConnections: 57"), []byte("maxConnections: 56"), 1), 0o644))
	code, _, errOut = run(release, "post-render", "-f", tight)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "default 4x8 + push-pull 4x5 + scheduler 1x5) + 0 reserved = 57, 1 over max_connections 56")
	code, _, errOut = run([]byte(split), "fn", "--verify", tight, "-")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "default 4x8 + push-pull 4x5 + scheduler 1x5) + 0 reserved = 57, 1 over max_connections 56")

	statusCountsRunningThreads(t)
}

// concurrencyStatusLayout is testdata/concurrency/layout.yaml with the queues stated and no
// budget, as status reads no manifests to take them from (alone, the layout's validation counts
// 25 threads a worker): the concurrency is still the release's.
const concurrencyStatusLayout = `apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
metadata: {name: mastodon, namespace: mastodon}
spec:
  workers:
    - {name: default, queues: [{name: default, weight: 8}, {name: ingress, weight: 4}, {name: mailers, weight: 2}], autoscale: {}}
    - {name: push-pull, queues: [{name: push, weight: 6}, {name: pull}, {name: fasp}], autoscale: {}}
    - {name: scheduler, queues: [{name: scheduler}]}
`

// statusCountsRunningThreads: status reads no manifests; for a worker whose layout leaves the
// concurrency to the release it takes the threads the release's pods register in Redis (8 from
// SIDEKIQ_CONCURRENCY, Mastodon's 5), not the 25 a new worker would get.
func statusCountsRunningThreads(t *testing.T) {
	layoutFile := filepath.Join(t.TempDir(), "layout.yaml")
	require.NoError(t, os.WriteFile(layoutFile, []byte(concurrencyStatusLayout), 0o644))
	addr := testutil.RedisServer(t)
	sk := sidekiqtest.New(t, addr)
	now := time.Now()
	for i, p := range []sidekiqtest.Process{
		{Hostname: "mastodon-sidekiq-default-5c4b8f9d7-x2bqz", Concurrency: 8, Queues: []string{"default,8", "ingress,4", "mailers,2"}},
		{Hostname: "mastodon-sidekiq-default-5c4b8f9d7-k7wvn", Concurrency: 8, Queues: []string{"default,8", "ingress,4", "mailers,2"}},
		{Hostname: "mastodon-sidekiq-push-pull-6d9f7b5c4-q4zdm", Concurrency: 5, Queues: []string{"push,6", "pull", "fasp"}},
		{Hostname: "mastodon-sidekiq-scheduler-7b6c5d4f8-m2n8p", Concurrency: 5, Queues: []string{"scheduler"}},
	} {
		p.PID, p.Beat = i+1, now
		sk.Heartbeat(p)
	}
	var out, errOut bytes.Buffer
	code := Run([]string{"status", "--redis", "redis://" + addr, "-f", layoutFile, "-o", "json"},
		Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	require.Zero(t, code, errOut.String())
	var st status.Status
	require.NoError(t, json.Unmarshal(out.Bytes(), &st))
	threads := map[string]int32{}
	for _, w := range st.Workers {
		threads[w.Name] = w.Concurrency
	}
	assert.Equal(t, map[string]int32{"default": 8, "push-pull": 5, "scheduler": 5}, threads)
	assert.Equal(t, []string{}, st.Warnings, "the processes run what the layout's workers run")
}
