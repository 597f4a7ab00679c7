package layout_test

import (
	"testing"

	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

var _ = testutil.Update

const sleepingMailers = `apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
spec:
  workers:
  - name: mailers
    queues: [{name: mailers}]
    autoscale: {minReplicas: 0, behaviorPreset: aggressive, behavior: {scaleUp: {policies: [{type: Pods, value: 9, periodSeconds: 10}]}}}
  - name: rest
    queues: [{name: default}, {name: push}, {name: ingress}, {name: pull}, {name: fasp}, {name: scheduler}]
`

// TestScaleToZeroWarns: a sleeping worker is valid, with the dashboard caveat as its warning.
func TestScaleToZeroWarns(t *testing.T) {
	l, err := layout.Parse([]byte(sleepingMailers))
	require.NoError(t, err)
	_, report := layout.Prepare(l)
	assert.Empty(t, report.Errors())
	require.Len(t, report.Warnings(), 1)
	assert.Equal(t, `spec.workers[0].autoscale.minReplicas: worker "mailers" sleeps while its queues are empty; Mastodon's admin dashboard then reports "mailers" as having no process, which is expected`, report.Warnings()[0].String())
}

// TestBehaviorPresetExplicitWins: a direction written in behavior beats the preset's; the
// other direction comes from the preset.
func TestBehaviorPresetExplicitWins(t *testing.T) {
	l, err := layout.Parse([]byte(sleepingMailers))
	require.NoError(t, err)
	d, _ := layout.Prepare(l)
	b := d.Spec.Workers[0].Autoscale.Behavior
	assert.Equal(t, []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 9, PeriodSeconds: 10}}, b.ScaleUp.Policies)
	assert.Nil(t, b.ScaleUp.StabilizationWindowSeconds, "nothing of the preset's scaleUp leaks into an explicit one")
	assert.Equal(t, layout.BehaviorPresets[layout.BehaviorAggressive].ScaleDown, b.ScaleDown)
}

// TestBehaviorPresetsAreValid: every preset passes the behavior rules, and they order from
// slow to fast in their downscale delay.
func TestBehaviorPresetsAreValid(t *testing.T) {
	var last int32 = 1 << 30
	for _, name := range layout.BehaviorPresetNames {
		l, err := layout.Parse([]byte(sleepingMailers))
		require.NoError(t, err)
		l.Spec.Workers[0].Autoscale.Behavior = nil
		l.Spec.Workers[0].Autoscale.BehaviorPreset = name
		d, report := layout.Prepare(l)
		assert.Empty(t, report.Errors(), name)
		down := *d.Spec.Workers[0].Autoscale.Behavior.ScaleDown.StabilizationWindowSeconds
		assert.Less(t, down, last, name)
		last = down
	}
	// Without a preset, scale-down stays the HPA's default and scale-up the conservative one.
	l, err := layout.Parse([]byte(sleepingMailers))
	require.NoError(t, err)
	l.Spec.Workers[0].Autoscale.Behavior, l.Spec.Workers[0].Autoscale.BehaviorPreset = nil, ""
	d, _ := layout.Prepare(l)
	assert.Nil(t, d.Spec.Workers[0].Autoscale.Behavior.ScaleDown)
	assert.Equal(t, layout.BehaviorPresets[layout.BehaviorConservative].ScaleUp, d.Spec.Workers[0].Autoscale.Behavior.ScaleUp)
}
