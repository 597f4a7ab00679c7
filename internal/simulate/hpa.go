package simulate

import (
	"math"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// HPA defaults of kube-controller-manager and the autoscaling/v2 API.
const (
	HPASyncPeriod = 15 // --horizontal-pod-autoscaler-sync-period
	// HPATolerance is --horizontal-pod-autoscaler-tolerance: ratios within 10% of 1 do not scale.
	HPATolerance = 0.1
	// HPADownscaleStabilization is --horizontal-pod-autoscaler-downscale-stabilization.
	HPADownscaleStabilization = 300
)

// HPA is the replica decision of kube-controller-manager's horizontal pod autoscaler for one
// scale target, as in pkg/controller/podautoscaler: per-metric proposals, the tolerance, the
// maximum over metrics, stabilization windows, and scaling policies over past scale events.
// Times are seconds since the start of the simulation.
type HPA struct {
	Min, Max  int32
	ScaleUp   autoscalingv2.HPAScalingRules // defaulted: window, select policy and policies set
	ScaleDown autoscalingv2.HPAScalingRules
	upTol     float64
	downTol   float64

	recs       []timed // recommendations in the stabilization windows
	upEvents   []timed // replicas added, per event
	downEvents []timed // replicas removed, per event
}

type timed struct {
	at int
	n  int32
}

// NewHPA returns the HPA for min..max replicas and behavior b (nil is the API default), with
// the defaults the API server and kube-controller-manager fill in.
func NewHPA(minReplicas, maxReplicas int32, b *autoscalingv2.HorizontalPodAutoscalerBehavior) *HPA {
	h := &HPA{Min: minReplicas, Max: maxReplicas, upTol: HPATolerance, downTol: HPATolerance}
	var up, down *autoscalingv2.HPAScalingRules
	if b != nil {
		up, down = b.ScaleUp, b.ScaleDown
	}
	h.ScaleUp = defaultRules(up, 0, []autoscalingv2.HPAScalingPolicy{
		{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
		{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15},
	})
	h.ScaleDown = defaultRules(down, HPADownscaleStabilization, []autoscalingv2.HPAScalingPolicy{
		{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
	})
	// Recommendations are kept for the longer window, events for the longest policy period,
	// one per sync at most: sized once, they never grow during a run.
	window := max(*h.ScaleUp.StabilizationWindowSeconds, *h.ScaleDown.StabilizationWindowSeconds)
	h.recs = make([]timed, 0, int(window)/HPASyncPeriod+2)
	h.upEvents = make([]timed, 0, int(longestPeriod(h.ScaleUp))/HPASyncPeriod+2)
	h.downEvents = make([]timed, 0, int(longestPeriod(h.ScaleDown))/HPASyncPeriod+2)
	if t := h.ScaleUp.Tolerance; t != nil {
		h.upTol = t.AsApproximateFloat64()
	}
	if t := h.ScaleDown.Tolerance; t != nil {
		h.downTol = t.AsApproximateFloat64()
	}
	return h
}

func defaultRules(r *autoscalingv2.HPAScalingRules, window int32, policies []autoscalingv2.HPAScalingPolicy) autoscalingv2.HPAScalingRules {
	var out autoscalingv2.HPAScalingRules
	if r != nil {
		out = *r.DeepCopy()
	}
	if out.StabilizationWindowSeconds == nil {
		out.StabilizationWindowSeconds = &window
	}
	if out.SelectPolicy == nil {
		p := autoscalingv2.MaxChangePolicySelect
		out.SelectPolicy = &p
	}
	if len(out.Policies) == 0 {
		out.Policies = policies
	}
	return out
}

// Metric is one external metric as KEDA serves it. A redis trigger is an AverageValue metric:
// Value is the list length, Target the listLength. A latency trigger (prometheus) is a Value
// metric: Value is the age of the oldest waiting job, Target the latency goal, in seconds.
type Metric struct {
	Value  float64
	Target float64
	// Absolute marks a Value (not AverageValue) target: the value is not divided among pods.
	Absolute bool
}

// Proposal is the replica count one metric asks for at current replicas. For an AverageValue
// target (GetExternalPerPodMetricReplicas) the usage ratio is value / (target x current) and
// the proposal ceil(value / target); for a Value target (GetExternalMetricReplicas) the ratio
// is value / target and the proposal ceil(ratio x current). Within the tolerance the count stays.
func (h *HPA) Proposal(current int32, m Metric) int32 {
	if m.Absolute {
		ratio := m.Value / m.Target
		if ratio > 1+h.upTol || ratio < 1-h.downTol {
			return int32(math.Ceil(ratio * float64(current)))
		}
		return current
	}
	ratio := m.Value / (m.Target * float64(current))
	if ratio > 1+h.upTol || ratio < 1-h.downTol {
		return int32(math.Ceil(m.Value / m.Target))
	}
	return current
}

// Reconcile is one sync of the HPA at time now with the target at current replicas. ok false
// means the metrics could not be read: the HPA keeps the count and records nothing. It returns
// the replica count the target should have.
func (h *HPA) Reconcile(now int, current int32, metrics []Metric, ok bool) int32 {
	switch {
	case current == 0:
		return 0 // scaling is disabled at zero replicas: KEDA owns 0 <-> 1
	case current > h.Max:
		return h.scaled(now, current, h.Max)
	case current < h.Min:
		return h.scaled(now, current, h.Min)
	case !ok || len(metrics) == 0:
		return current
	}
	var desired int32
	for _, m := range metrics {
		desired = max(desired, h.Proposal(current, m))
	}
	stabilized := h.stabilize(now, current, desired)
	return h.scaled(now, current, h.limit(now, current, stabilized))
}

// scaled records a scale event when the count changes.
func (h *HPA) scaled(now int, current, desired int32) int32 {
	switch {
	case desired > current:
		h.upEvents = storeEvent(h.upEvents, now, desired-current, longestPeriod(h.ScaleUp))
	case desired < current:
		h.downEvents = storeEvent(h.downEvents, now, current-desired, longestPeriod(h.ScaleDown))
	}
	return desired
}

// stabilize bounds desired by the lowest recommendation in the scale-up window and the
// highest in the scale-down window (stabilizeRecommendationWithBehaviors), then records it.
func (h *HPA) stabilize(now int, current, desired int32) int32 {
	upCut := now - int(*h.ScaleUp.StabilizationWindowSeconds)
	downCut := now - int(*h.ScaleDown.StabilizationWindowSeconds)
	up, down := desired, desired
	old := -1
	for i, r := range h.recs {
		if r.at > upCut {
			up = min(up, r.n)
		}
		if r.at > downCut {
			down = max(down, r.n)
		}
		if r.at < upCut && r.at < downCut {
			old = i
		}
	}
	rec := current
	rec = max(rec, up)
	rec = min(rec, down)
	if old >= 0 {
		h.recs[old] = timed{now, desired}
	} else {
		h.recs = append(h.recs, timed{now, desired})
	}
	return rec
}

// limit applies min/max and the scaling policies (convertDesiredReplicasWithBehaviorRate).
func (h *HPA) limit(now int, current, desired int32) int32 {
	switch {
	case desired > current:
		limit := max(h.upLimit(now, current), current)
		return min(desired, h.Max, limit)
	case desired < current:
		limit := min(h.downLimit(now, current), current)
		return max(desired, h.Min, limit)
	}
	return desired
}

func (h *HPA) upLimit(now int, current int32) int32 {
	sel := *h.ScaleUp.SelectPolicy
	if sel == autoscalingv2.DisabledPolicySelect {
		return current
	}
	result := int32(math.MinInt32)
	if sel == autoscalingv2.MinChangePolicySelect {
		result = math.MaxInt32
	}
	for _, p := range h.ScaleUp.Policies {
		start := current - changeIn(h.upEvents, now, p.PeriodSeconds) + changeIn(h.downEvents, now, p.PeriodSeconds)
		var proposed int32
		if p.Type == autoscalingv2.PodsScalingPolicy {
			proposed = start + p.Value
		} else {
			proposed = int32(math.Ceil(float64(start) * (1 + float64(p.Value)/100)))
		}
		if sel == autoscalingv2.MinChangePolicySelect {
			result = min(result, proposed)
		} else {
			result = max(result, proposed)
		}
	}
	return result
}

func (h *HPA) downLimit(now int, current int32) int32 {
	sel := *h.ScaleDown.SelectPolicy
	if sel == autoscalingv2.DisabledPolicySelect {
		return current
	}
	result := int32(math.MaxInt32)
	if sel == autoscalingv2.MinChangePolicySelect {
		result = math.MinInt32
	}
	for _, p := range h.ScaleDown.Policies {
		start := current - changeIn(h.upEvents, now, p.PeriodSeconds) + changeIn(h.downEvents, now, p.PeriodSeconds)
		var proposed int32
		if p.Type == autoscalingv2.PodsScalingPolicy {
			proposed = start - p.Value
		} else {
			proposed = int32(float64(start) * (1 - float64(p.Value)/100))
		}
		if sel == autoscalingv2.MinChangePolicySelect {
			result = max(result, proposed)
		} else {
			result = min(result, proposed)
		}
	}
	return result
}

// changeIn sums the replica changes of events within the last period seconds.
func changeIn(events []timed, now int, period int32) int32 {
	var n int32
	for _, e := range events {
		if e.at > now-int(period) {
			n += e.n
		}
	}
	return n
}

// storeEvent adds an event, reusing the slot of one older than the longest policy period.
func storeEvent(events []timed, now int, n int32, longest int32) []timed {
	e := timed{now, n}
	for i := range events {
		if events[i].at < now-int(longest) {
			events[i] = e
			return events
		}
	}
	return append(events, e)
}

func longestPeriod(r autoscalingv2.HPAScalingRules) int32 {
	var p int32
	for _, pol := range r.Policies {
		p = max(p, pol.PeriodSeconds)
	}
	return p
}
