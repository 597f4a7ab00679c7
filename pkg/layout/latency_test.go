package layout_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/render"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var _ = testutil.Update

func TestListLengthForLatency(t *testing.T) {
	cases := []struct {
		name        string
		concurrency int32
		perThread   layout.Rate
		latency     time.Duration
		want        int64
	}{
		{"the seed's 1500: 25 threads x 2 jobs/s x 30 s", 25, 2, 30 * time.Second, 1500},
		{"fractional throughput rounds down", 10, 0.35, 10 * time.Second, 35},
		{"never below one job", 1, 0.01, time.Second, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, layout.ListLengthForLatency(c.concurrency, c.perThread, c.latency))
		})
	}
}

const latencyLayout = `apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
spec:
  workers:
  - name: ingress
    concurrency: 10
    queues: [{name: ingress}]
    autoscale: {latencyTarget: 20s, throughputPerThread: "1.5"}
  - name: fixed
    queues: [{name: default}, {name: push}, {name: mailers}, {name: pull}, {name: fasp}]
    autoscale: {latencyTarget: 20s, throughputPerThread: 1.5, listLength: 700}
  - name: plain
    queues: [{name: scheduler}]
`

func TestDefaultDerivesListLengthFromLatencyGoal(t *testing.T) {
	l, err := layout.Parse([]byte(latencyLayout))
	require.NoError(t, err)
	d, report := layout.Prepare(l)
	require.False(t, report.HasErrors(), "%v", report.Err())
	assert.Equal(t, int64(300), *d.Spec.Workers[0].Autoscale.ListLength, "10 threads x 1.5 jobs/s x 20 s")
	assert.Equal(t, int64(700), *d.Spec.Workers[1].Autoscale.ListLength, "an explicit listLength wins")

	out, err := layout.Marshal(d)
	require.NoError(t, err)
	assert.Contains(t, string(out), "throughputPerThread: 1.5")
	assert.Contains(t, string(out), "latencyTarget: 20s")
	again, err := layout.Parse(out)
	require.NoError(t, err)
	assert.Equal(t, layout.Rate(1.5), *again.Spec.Workers[0].Autoscale.ThroughputPerThread)

	// render takes the derived listLength into the ScaledObject's trigger.
	set, err := render.FromLayout(l)
	require.NoError(t, err)
	objs, err := render.YAML(set.Objects())
	require.NoError(t, err)
	assert.Contains(t, string(objs), `listLength: "300"`)
}

func TestValidateLatencyGoal(t *testing.T) {
	bad := strings.NewReplacer(
		`{latencyTarget: 20s, throughputPerThread: "1.5"}`, `{latencyTarget: -5s, throughputPerThread: 0}`,
		`{latencyTarget: 20s, throughputPerThread: 1.5, listLength: 700}`, `{latencyTarget: 20s}`,
	).Replace(latencyLayout)
	l, err := layout.Parse([]byte(bad))
	require.NoError(t, err)
	_, report := layout.Prepare(l)
	var errs, warns []string
	for _, e := range report.Errors() {
		errs = append(errs, e.String())
	}
	for _, e := range report.Warnings() {
		warns = append(warns, e.String())
	}
	assert.Equal(t, []string{
		`spec.workers[0].autoscale.latencyTarget: Invalid value: "-5s": must be a positive duration, e.g. "30s"`,
		`spec.workers[0].autoscale.throughputPerThread: Invalid value: 0: must be a positive number of jobs per second per thread, e.g. 2`,
	}, errs)
	assert.Equal(t, []string{
		`spec.workers[1].autoscale.throughputPerThread: Required value: set latencyTarget and throughputPerThread together: one alone cannot size listLength`,
	}, warns)

	_, err = layout.Parse([]byte(strings.Replace(latencyLayout, `"1.5"`, `"fast"`, 1)))
	assert.ErrorContains(t, err, "not a number of jobs per second")
}
