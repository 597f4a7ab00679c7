package simulate_test

import (
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/simulate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLongestIdleThreadFetchesFirst: an idle thread fetches in the order it became free, as
// Redis hands a job to the client blocked longest in BRPOP, not by pod age. Which pod holds a
// job decides what a scale-in (which stops the newest pod) requeues and how long the
// stopping pod lives.
func TestLongestIdleThreadFetchesFirst(t *testing.T) {
	doc := `apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
spec:
  workers:
  - name: default
    queues: [{name: default}, {name: mailers}]
    autoscale:
      minReplicas: 1
      maxReplicas: 2
      listLength: 10
      behavior:
        scaleDown: {stabilizationWindowSeconds: 0}
  - name: rest
    queues: [{name: push}, {name: pull}, {name: fasp}, {name: ingress}, {name: scheduler}]
`
	d := prepared(t, doc)
	// At 0 the HPA sees 50 jobs and adds a pod, ready at 1. The first pod takes the 25
	// default jobs of 8 s at 0 (strict order), the new one the 25 mailers jobs of 2 s at 1:
	// the new pod's threads are idle from 3, the first pod's from 8. The job of 100 s at 10
	// goes to a thread idle since 3, on the new pod. At 15 the HPA scales in and stops the
	// new pod; its job is still running at 15 + 25 (-t): Sidekiq pushes it back at 40 and the
	// first pod runs it again.
	csv := "0,default,25,8\n0,mailers,25,2\n10,default,1,100\n199,default,0\n"
	tr, err := simulate.ParseCSV("idle.csv", strings.NewReader(csv))
	require.NoError(t, err)
	r, err := simulate.Run("idle", d, tr, simulate.Options{StartupSeconds: -1})
	require.NoError(t, err)
	w := r.Workers[0]
	require.Equal(t, []string{"default", "mailers"}, w.Queues)
	assert.Equal(t, int64(1), w.Requeued, "the long job ran on the newest pod, idle longest")
	assert.Equal(t, []float32{2, 2, 2}, w.Pods[14:17], "the stopped pod runs the long job")
	assert.Equal(t, []float32{2, 1}, w.Pods[39:41], "the stopping pod lives until its -t ends")
	assert.Equal(t, []int64{27, 25}, w.Started, "the long job starts twice")
	assert.Zero(t, w.Left)
	// 200 s of the first pod, 0..39 of the second (created at 0, ready at 1).
	assert.InDelta(t, float64(200+40)/60, w.PodMinutes, 1e-9)
	assert.InDelta(t, 30.0, w.Max, 0.5, "the long job's wait counts from its last start, at 40")
}
