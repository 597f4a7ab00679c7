package layout

import (
	"math"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Upper bounds of the numeric fields that feed arithmetic (Little's law sizing, the HPA's
// targets, the connection budget, the simulator). A value beyond them is a typo or an attack,
// never a setting: Validate refuses it with its field path instead of letting a product
// overflow into a small, plausible number.
const (
	// MaxListLength is the largest backlog per replica a trigger may carry.
	MaxListLength = 1_000_000_000
	// MaxThroughputPerThread is the most jobs per second one Sidekiq thread is said to complete.
	MaxThroughputPerThread = 100_000
	// MaxLatencyTarget is the longest latency goal (Sidekiq's retention is days; a goal of a day
	// already sizes nothing useful).
	MaxLatencyTarget = 24 * time.Hour
	// MaxReplicasBound is the most replicas a worker may have or scale to.
	MaxReplicasBound = 10_000
	// MaxSeconds bounds the durations given in seconds (pollingInterval, cooldownPeriod,
	// timeout, stabilization windows): one week.
	MaxSeconds = 7 * 24 * 3600
	// MaxWeight bounds a queue's Sidekiq weight.
	MaxWeight = 1_000
)

// validateBounds checks the worker's numbers against the bounds above.
func validateBounds(r *problems, w *Worker, wp *field.Path) {
	if w.Replicas != nil && *w.Replicas > MaxReplicasBound {
		r.errorf(wp.Child("replicas"), *w.Replicas, "must be at most %d", MaxReplicasBound)
	}
	if w.Timeout != nil && int64(*w.Timeout) > MaxSeconds {
		r.errorf(wp.Child("timeout"), *w.Timeout, "must be at most %d seconds (a week)", MaxSeconds)
	}
	for i, q := range w.Queues {
		qp := wp.Child("queues").Index(i)
		if q.Weight != nil && *q.Weight > MaxWeight {
			r.errorf(qp.Child("weight"), *q.Weight, "must be at most %d", MaxWeight)
		}
		if q.ListLength != nil && *q.ListLength > MaxListLength {
			r.errorf(qp.Child("listLength"), *q.ListLength, "must be at most %d", MaxListLength)
		}
	}
	if w.Autoscale != nil {
		validateAutoscaleBounds(r, w.Autoscale, wp.Child("autoscale"))
	}
}

func validateAutoscaleBounds(r *problems, a *Autoscale, ap *field.Path) {
	if a.MaxReplicas != nil && *a.MaxReplicas > MaxReplicasBound {
		r.errorf(ap.Child("maxReplicas"), *a.MaxReplicas, "must be at most %d", MaxReplicasBound)
	}
	if a.MinReplicas != nil && *a.MinReplicas > MaxReplicasBound {
		r.errorf(ap.Child("minReplicas"), *a.MinReplicas, "must be at most %d", MaxReplicasBound)
	}
	if a.ThroughputPerThread != nil && *a.ThroughputPerThread > MaxThroughputPerThread {
		r.errorf(ap.Child("throughputPerThread"), float64(*a.ThroughputPerThread), "must be at most %d jobs per second per thread", MaxThroughputPerThread)
	}
	if a.LatencyTarget != nil && a.LatencyTarget.Duration > MaxLatencyTarget {
		r.errorf(ap.Child("latencyTarget"), a.LatencyTarget.Duration.String(), "must be at most %s", MaxLatencyTarget)
	}
	if a.ListLength != nil && *a.ListLength > MaxListLength {
		msg := "must be at most %d"
		if a.LatencyTarget != nil && a.ThroughputPerThread != nil {
			msg += " (here derived by Little's law from latencyTarget x concurrency x throughputPerThread: lower them, or set listLength)"
		}
		r.errorf(ap.Child("listLength"), *a.ListLength, msg, MaxListLength)
	}
	if a.ActivationListLength != nil && *a.ActivationListLength > MaxListLength {
		r.errorf(ap.Child("activationListLength"), *a.ActivationListLength, "must be at most %d", MaxListLength)
	}
	if a.PollingInterval != nil && int64(*a.PollingInterval) > MaxSeconds {
		r.errorf(ap.Child("pollingInterval"), *a.PollingInterval, "must be at most %d seconds (a week)", MaxSeconds)
	}
	if a.CooldownPeriod != nil && int64(*a.CooldownPeriod) > MaxSeconds {
		r.errorf(ap.Child("cooldownPeriod"), *a.CooldownPeriod, "must be at most %d seconds (a week)", MaxSeconds)
	}
	if f := a.Fallback; f != nil && f.Replicas != nil && *f.Replicas > MaxReplicasBound {
		r.errorf(ap.Child("fallback", "replicas"), *f.Replicas, "must be at most %d", MaxReplicasBound)
	}
}

// saturatingInt64 converts f to an int64, clamped to the int64 range (NaN gives 0): sizing
// never wraps around into a small number.
func saturatingInt64(f float64) int64 {
	switch {
	case math.IsNaN(f):
		return 0
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return int64(f)
}
