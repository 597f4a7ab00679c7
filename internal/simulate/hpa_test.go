package simulate_test

import (
	"testing"

	"github.com/mastoscale/mastoscale/internal/simulate"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/stretchr/testify/assert"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/utils/ptr"
)

var _ = testutil.Update

func metric(value, target float64) []simulate.Metric {
	return []simulate.Metric{{Value: value, Target: target}}
}

// The examples of the Kubernetes HPA documentation ("Algorithm details", "Scaling policies",
// "Stabilization window", "Default Behavior"), on AverageValue metrics as KEDA serves them.
func TestHPAProposal(t *testing.T) {
	h := simulate.NewHPA(1, 100, nil)
	cases := []struct {
		name           string
		current        int32
		value, target  float64
		want           int32
		ratioExplained string
	}{
		{"double: 200 per pod against 100", 2, 400, 100, 4, "ratio 2.0"},
		{"halve: 50 per pod against 100", 4, 200, 100, 2, "ratio 0.5"},
		{"within the 10% tolerance up", 10, 1050, 100, 10, "ratio 1.05"},
		{"within the 10% tolerance down", 10, 950, 100, 10, "ratio 0.95"},
		{"just past the tolerance", 10, 1150, 100, 12, "ratio 1.15: ceil(11.5)"},
		{"the seed: 4000 jobs, listLength 1500", 1, 4000, 1500, 3, "ceil(2.67)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, h.Proposal(c.current, simulate.Metric{Value: c.value, Target: c.target}), c.ratioExplained)
		})
	}
}

func TestHPAMultipleMetricsTakeTheMaximum(t *testing.T) {
	h := simulate.NewHPA(1, 10, nil)
	got := h.Reconcile(0, 2, []simulate.Metric{{Value: 300, Target: 100}, {Value: 700, Target: 100}, {Value: 0, Target: 100}}, true)
	assert.Equal(t, int32(6), got, "max(3, 7, 0) = 7, then the default scale-up limit max(2x2, 2+4) = 6")
}

func TestHPAClampsAndFailures(t *testing.T) {
	h := simulate.NewHPA(2, 5, nil)
	assert.Equal(t, int32(5), h.Reconcile(0, 8, metric(0, 100), true), "above max: back to max")
	h = simulate.NewHPA(2, 5, nil)
	assert.Equal(t, int32(2), h.Reconcile(0, 1, metric(0, 100), true), "below min: up to min")
	assert.Equal(t, int32(3), h.Reconcile(15, 3, metric(1e6, 100), false), "metrics unavailable: keep the count")
	assert.Equal(t, int32(0), h.Reconcile(30, 0, metric(1e6, 100), true), "at zero replicas the HPA is disabled (KEDA activates)")
	assert.Equal(t, int32(5), simulate.NewHPA(1, 5, nil).Reconcile(0, 4, metric(1e6, 100), true), "never above max")
}

func TestHPADefaultScaleUp(t *testing.T) {
	// Default: max(100%, 4 pods) per 15 s.
	h := simulate.NewHPA(1, 100, nil)
	assert.Equal(t, int32(6), h.Reconcile(0, 2, metric(5000, 100), true), "2 -> max(4, 6)")
	assert.Equal(t, int32(12), h.Reconcile(15, 6, metric(5000, 100), true), "the t=0 event is a period old: 6 -> max(12, 10)")
	assert.Equal(t, int32(24), h.Reconcile(30, 12, metric(5000, 100), true))
	assert.Equal(t, int32(48), h.Reconcile(45, 24, metric(5000, 100), true))
}

func TestHPADefaultScaleDownStabilization(t *testing.T) {
	// Default: the highest recommendation of the last 300 s, then 100% per 15 s.
	h := simulate.NewHPA(1, 100, nil)
	assert.Equal(t, int32(10), h.Reconcile(0, 10, metric(1000, 100), true))
	for now := 15; now < 300; now += 15 {
		assert.Equal(t, int32(10), h.Reconcile(now, 10, metric(100, 100), true), "t=%d: the t=0 recommendation of 10 holds", now)
	}
	assert.Equal(t, int32(1), h.Reconcile(300, 10, metric(100, 100), true), "at 300 s the t=0 recommendation leaves the window (strictly newer than the cutoff): all the way down at once")
}

func TestHPAScaleDownPolicies(t *testing.T) {
	// The documentation's example: Percent 10 and Pods 4 per 60 s; with selectPolicy Max the
	// policy allowing the bigger change wins: at 80 replicas 10% (8 pods).
	rules := &autoscalingv2.HPAScalingRules{
		StabilizationWindowSeconds: ptr.To[int32](0),
		Policies: []autoscalingv2.HPAScalingPolicy{
			{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 60},
			{Type: autoscalingv2.PercentScalingPolicy, Value: 10, PeriodSeconds: 60},
		},
	}
	h := simulate.NewHPA(1, 100, &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: rules})
	assert.Equal(t, int32(72), h.Reconcile(0, 80, metric(100, 100), true), "80 -> 72 (10%)")
	assert.Equal(t, int32(72), h.Reconcile(15, 72, metric(100, 100), true), "the period's 8 pods are spent")
	assert.Equal(t, int32(64), h.Reconcile(60, 72, metric(100, 100), true), "a new period: 72 -> int(72 x 0.9) = 64")

	minRules := rules.DeepCopy()
	minRules.SelectPolicy = ptr.To(autoscalingv2.MinChangePolicySelect)
	h = simulate.NewHPA(1, 100, &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: minRules})
	assert.Equal(t, int32(76), h.Reconcile(0, 80, metric(100, 100), true), "Min: the smaller change, 4 pods")

	disabled := rules.DeepCopy()
	disabled.SelectPolicy = ptr.To(autoscalingv2.DisabledPolicySelect)
	h = simulate.NewHPA(1, 100, &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: disabled})
	assert.Equal(t, int32(80), h.Reconcile(0, 80, metric(100, 100), true), "Disabled: no scale-down")
}

func TestHPASeedScaleUp(t *testing.T) {
	// The seed: scale up by one pod per 60 s, only when the lowest recommendation of the last
	// 300 s asks for it.
	seed := &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{
		StabilizationWindowSeconds: ptr.To[int32](300),
		Policies:                   []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: 60}},
	}}
	h := simulate.NewHPA(1, 4, seed)
	current := h.Reconcile(0, 1, metric(100, 1500), true) // a quiet queue: recommendation 1
	assert.Equal(t, int32(1), current)
	var scaled []int
	for now := 15; now <= 600; now += 15 {
		next := h.Reconcile(now, current, metric(10000, 1500), true) // a burst: 7 wanted
		if next != current {
			scaled = append(scaled, now)
		}
		current = next
	}
	assert.Equal(t, []int{300, 360, 420}, scaled, "first after the quiet t=0 recommendation leaves the window, then one pod a minute")
	assert.Equal(t, int32(4), current, "capped at maxReplicas")
}

// A latency trigger is a Value metric (GetExternalMetricReplicas): the ratio is value / target,
// not divided among the pods, and the proposal scales the current count by it.
func TestHPAValueMetric(t *testing.T) {
	h := simulate.NewHPA(1, 100, nil)
	latency := func(current int32, wait, goal float64) int32 {
		return h.Proposal(current, simulate.Metric{Value: wait, Target: goal, Absolute: true})
	}
	assert.Equal(t, int32(4), latency(2, 60, 30), "jobs wait twice the goal: twice the pods")
	assert.Equal(t, int32(4), latency(4, 29, 30), "within the 10% tolerance")
	assert.Equal(t, int32(2), latency(4, 10, 30), "a third of the goal: ceil(4/3)")
	assert.Equal(t, int32(0), latency(3, 0, 30), "nothing waits: the metric asks for none, minReplicas clamps")
}
