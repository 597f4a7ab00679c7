package render_test

import (
	"testing"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/render"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPollingAndCooldownOnlyWhenTheyMatter: KEDA polls and cools down only between 0 and 1
// replicas and warns twice per ScaledObject when the fields are set with minReplicas >= 1, so
// they are rendered for a worker that sleeps at zero, or when the layout states them.
func TestPollingAndCooldownOnlyWhenTheyMatter(t *testing.T) {
	l, err := layout.Parse([]byte(`apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
metadata: {name: m, namespace: m}
spec:
  mastodonVersion: "4.6"
  redis: {host: redis, auth: {disabled: true}}
  workers:
    - {name: awake, queues: [{name: default}], autoscale: {}}
    - {name: sleeps, queues: [{name: push}, {name: pull}, {name: fasp}], autoscale: {minReplicas: 0}}
    - {name: stated, queues: [{name: ingress}], autoscale: {pollingInterval: 10}}
    - {name: stated-cool, queues: [{name: mailers}], autoscale: {cooldownPeriod: 60}}
    - {name: scheduler, queues: [{name: scheduler}]}
`))
	require.NoError(t, err)
	resolved, _, err := layout.Resolve(l)
	require.NoError(t, err)
	got := map[string][2]*int32{}
	for _, w := range resolved.Workers {
		if !w.Autoscaled {
			continue
		}
		so, err := render.ScaledObjectFor(resolved, w, w.Name)
		require.NoError(t, err)
		got[w.Name] = [2]*int32{so.Spec.PollingInterval, so.Spec.CooldownPeriod}
	}
	p := func(n int32) *int32 { return &n }
	assert.Equal(t, map[string][2]*int32{
		"awake":       {nil, nil},
		"sleeps":      {p(30), p(300)},
		"stated":      {p(10), nil},
		"stated-cool": {nil, p(60)},
	}, got)
}
