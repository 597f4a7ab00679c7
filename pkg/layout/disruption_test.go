package layout_test

import (
	"testing"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDisruption: every worker gets a budget of one pod by default, the scheduler's single pod
// included; a worker sets its own count or none; a count that lets a drain stop every pod warns.
func TestDisruption(t *testing.T) {
	l, err := layout.Parse([]byte(`apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
spec:
  workers:
    - name: default
      queues: [{name: default}, {name: ingress}, {name: push}, {name: pull}, {name: fasp}]
      autoscale: {maxReplicas: 6}
      disruption: {maxUnavailable: 2}
    - name: mailers
      queues: [{name: mailers}]
      autoscale: {maxReplicas: 2}
      disruption: {maxUnavailable: 2}
    - name: other
      queues: [{name: mailers}]
      disruption: {disabled: true}
    - name: scheduler
      queues: [{name: scheduler}]
`))
	require.NoError(t, err)
	r, report, err := layout.Resolve(l)
	require.NoError(t, err)
	var got []int32
	for _, w := range r.Workers {
		got = append(got, w.MaxUnavailable)
	}
	assert.Equal(t, []int32{2, 2, 0, 1}, got)
	var warnings []string
	for _, w := range report.Warnings() {
		if w.Location.Layout == "spec.workers[1].disruption.maxUnavailable" {
			warnings = append(warnings, w.Message)
		}
	}
	assert.Equal(t, []string{"Invalid value: 2: is at least the worker's 2 replicas: a node drain may stop all of them at once; lower it"}, warnings)
	d := layout.Default(layout.Clone(l))
	assert.Equal(t, &layout.Disruption{Disabled: true}, d.Spec.Workers[2].Disruption, "disabled gets no count")
	assert.EqualValues(t, 1, *d.Spec.Workers[3].Disruption.MaxUnavailable)
}
