package simulate_test

import (
	"testing"

	"github.com/mastoscale/mastoscale/internal/simulate"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/utils/ptr"
)

// zeroWeighted is a valid layout whose first worker (one pod of 25 threads) consumes push and
// pull with the weights given: a weight of 0 is set after Prepare, as a chart's `-q push,0`
// reaches the model (a layout rejects it).
func zeroWeighted(t *testing.T, push, pull int32) *layout.SidekiqLayout {
	t.Helper()
	l, err := layout.Parse([]byte(`apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
spec:
  workers:
  - {name: main, concurrency: 25, replicas: 1, queues: [{name: push, weight: 1}, {name: pull, weight: 1}]}
  - {name: rest, queues: [{name: mailers}, {name: fasp}, {name: ingress}, {name: default}]}
  - {name: scheduler, queues: [{name: scheduler}]}
`))
	require.NoError(t, err)
	d, report := layout.Prepare(l)
	require.NoError(t, report.Err())
	d.Spec.Workers[0].Queues[0].Weight = ptr.To(push)
	d.Spec.Workers[0].Queues[1].Weight = ptr.To(pull)
	return d
}

// backlogged is a trace of 100 jobs a second on push and on pull, more than one pod serves.
func backlogged(seconds int) *simulate.Trace {
	tr := &simulate.Trace{Name: "backlogged", Seconds: seconds, Queues: map[string]*simulate.QueueTrace{}}
	for _, q := range []string{"push", "pull"} {
		e := make([]int64, seconds)
		for i := range e {
			e[i] = 100
		}
		tr.Queues[q] = &simulate.QueueTrace{Enqueued: e}
	}
	return tr
}

// TestZeroWeightsFetchStrictly: Sidekiq's CLI (6.x parse_queue, 7.x Capsule#queues=) keeps
// strict order unless a weight is above 0, so `-q push,0 -q pull,0` is `-q push -q pull`:
// pull is never served while push has a backlog.
func TestZeroWeightsFetchStrictly(t *testing.T) {
	r, err := simulate.Run("zero", zeroWeighted(t, 0, 0), backlogged(300), simulate.Options{Seed: 3, Service: map[string]float64{"pull": 0.5}})
	require.NoError(t, err)
	s := r.Workers[0].Started
	assert.Positive(t, s[0])
	assert.Equal(t, int64(0), s[1], "all weights 0: strict order, push first")
}

// TestZeroWeightBesideAWeightCountsOnce: with another weight above 0 the fetch is weighted, and
// a queue of weight 0 is listed once ([weight.to_i, 1].max), as weight 1 would be.
func TestZeroWeightBesideAWeightCountsOnce(t *testing.T) {
	r, err := simulate.Run("mixed", zeroWeighted(t, 0, 3), backlogged(400), simulate.Options{Seed: 3, Service: map[string]float64{"pull": 0.5}})
	require.NoError(t, err)
	s := r.Workers[0].Started
	require.Positive(t, s[0]+s[1])
	assert.InDelta(t, 0.25, float64(s[0])/float64(s[0]+s[1]), 0.02, "push,0 beside pull,3: one copy of four")
}
