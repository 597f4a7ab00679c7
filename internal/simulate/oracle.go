package simulate

import "math"

// OracleResult is the least a scaler that knew the future could have spent on a worker.
type OracleResult struct {
	PodMinutes float64
	PeakPods   int32
	// Pods is the oracle's pod count per second.
	Pods []int32
}

// Oracle is a lower bound on the pod-minutes that keep every job of queues (served by pods of
// concurrency threads) under goal seconds of waiting, whatever the scaler.
//
// It relaxes the real problem in the scaler's favour: pods start instantly, work is a fluid
// that any free thread can take a slice of, and a job only has to be *finished* by its
// arrival + goal + its own service time (in the real system it must *start* by arrival + goal).
// Any real schedule that meets the goal is therefore a schedule of this relaxed problem, so its
// pod-seconds cannot be fewer. The relaxed problem is solved one second at a time, earliest
// deadline first and as late as possible: run the fewest whole pods that the work due by the
// end of the second needs, and spend their spare thread-seconds on the work due next that has
// already arrived. It pays for a pod-second only when work would otherwise miss its deadline
// and leaves no paid thread-second idle while arrived work waits, which is what makes it the
// least any schedule of the relaxation spends. Work due after the trace ends is not charged.
func Oracle(t *Trace, queues []string, service []float64, concurrency int32, goal float64) OracleResult {
	res := OracleResult{Pods: make([]int32, t.Seconds)}
	if len(queues) == 0 || concurrency < 1 {
		return res
	}
	qts := make([]*QueueTrace, len(queues)) // resolved once: a map lookup per second is half the cost
	offset := make([]int, len(queues))      // seconds from arrival to deadline at the queue's default service
	maxSvc := 0.0
	for i, q := range queues {
		qts[i] = t.Queues[q]
		offset[i] = max(int(math.Ceil(goal+service[i]))-1, 0)
		maxSvc = max(maxSvc, service[i], qts[i].maxService())
	}
	reach := int(math.Ceil(goal+maxSvc)) + 1 // no work is due further ahead than this
	// due[d & mask] is the thread-seconds of work that must be done by the end of second d,
	// for d from x to x+reach-1: a ring, so that a month-long trace needs no month of buckets.
	due := make([]float64, ringSize(reach+1))
	mask := len(due) - 1
	c := float64(concurrency)
	var podSeconds int64
	lo, hi := 0, -1 // the deadlines outside lo..hi have no work: the spare time skips them
	for x := 0; x < t.Seconds; x++ {
		for i, qt := range qts {
			if qt == nil || qt.Enqueued[x] == 0 {
				continue
			}
			svc, d := service[i], x+offset[i]
			if qt.Service != nil && qt.Service[x] > 0 {
				svc = float64(qt.Service[x])
				d = x + max(int(math.Ceil(goal+svc))-1, 0)
			}
			due[d&mask] += float64(qt.Enqueued[x]) * svc
			lo, hi = min(lo, d), max(hi, d)
		}
		now := due[x&mask] // earlier buckets are always empty: they were due before
		if now == 0 {
			continue // nothing due: no pod, and no spare time for what waits
		}
		due[x&mask] = 0
		pods := int32(math.Ceil(now/c - 1e-9))
		spare := float64(pods)*c - now
		d := max(lo, x+1)
		for last := min(hi, x+reach-1); spare > 0 && d <= last; d++ {
			take := due[d&mask] // plain comparisons: the min builtin's NaN and -0 cases are slow
			if spare < take {
				take = spare
			}
			due[d&mask] -= take
			spare -= take
		}
		lo = d
		if spare == 0 && d > x+1 {
			lo = d - 1 // the bucket that took the last of the spare time may hold more
		}
		res.Pods[x] = pods
		podSeconds += int64(pods)
		res.PeakPods = max(res.PeakPods, pods)
	}
	res.PodMinutes = float64(podSeconds) / 60
	return res
}

// ringSize is the least power of two from n.
func ringSize(n int) int {
	s := 1
	for s < n {
		s *= 2
	}
	return s
}

// maxService is the longest service time the queue's trace gives, 0 for none.
func (qt *QueueTrace) maxService() float64 {
	var m float32
	if qt != nil {
		for _, s := range qt.Service {
			m = max(m, s)
		}
	}
	return float64(m)
}
