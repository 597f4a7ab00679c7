package simulate

import "github.com/mastoscale/mastoscale/pkg/layout"

// newWorker sets up worker w, reporting into r.
func (s *sim) newWorker(w *layout.Worker, r *WorkerResult) *workerState {
	st := &workerState{w: w, res: r, conc: *w.Concurrency, timeout: *w.Timeout}
	r.Name, r.Concurrency, r.Autoscaled = w.Name, *w.Concurrency, w.Autoscale != nil
	r.Goal = s.opts.goal(w).Seconds()
	r.Started = make([]int64, len(w.Queues))
	f := &st.fetch
	f.strict = true
	for _, q := range w.Queues {
		r.Queues = append(r.Queues, q.Name)
		f.queues = append(f.queues, s.queue(q.Name))
		wt := int32(1) // an unset weight or a weight of 0 is one copy in the fetch list
		if q.Weight != nil && *q.Weight > 0 {
			wt = *q.Weight
			f.strict = false
		}
		f.weights = append(f.weights, wt)
	}
	f.picked, f.left = make([]int64, len(f.queues)), make([]int64, len(f.queues))
	initial := int32(1)
	if w.Replicas != nil {
		initial = *w.Replicas
	}
	most := initial
	if a := w.Autoscale; a != nil {
		st.so = newScaledObject(w, a)
		initial, most = *a.MinReplicas, *a.MaxReplicas
	}
	// Pods that exist (stopping ones too) and exited ones kept for reuse: sized for the
	// worker's most replicas, so that scaling does not allocate.
	st.pods = make([]*pod, 0, 2*most+2)
	st.spare = make([]*pod, 0, 2*most+2)
	st.arena = make([]pod, 0, 2*most+2)
	st.metrics = make([]Metric, 0, len(w.Queues)+1)
	// Each group holds one thread at least.
	st.groups.g = make([]group, 0, min(int(most)*int(st.conc), 1024))
	for range initial {
		st.pods = append(st.pods, st.newPod(0, 0))
	}
	return st
}

func newScaledObject(w *layout.Worker, a *layout.Autoscale) *scaledObject {
	so := &scaledObject{
		min: *a.MinReplicas, polling: int(*a.PollingInterval), cooldown: int(*a.CooldownPeriod),
		hpa: NewHPA(max(*a.MinReplicas, 1), *a.MaxReplicas, a.Behavior),
	}
	if a.ActivationListLength != nil {
		so.activation = *a.ActivationListLength
	}
	if a.Fallback != nil && !a.Fallback.Disabled {
		so.fallback = a.Fallback
	}
	for _, q := range w.Queues {
		so.listLength = append(so.listLength, float64(w.ListLengthFor(q)))
	}
	if a.LatencyTrigger != nil && a.LatencyTarget != nil {
		so.latencyGoal = a.LatencyTarget.Seconds()
	}
	return so
}

// account records second t's series and returns the connections the worker's pods hold.
func (st *workerState) account(t int) int64 {
	st.dropStopped(float64(t)) // a pod that ends during [t, t+1) still counts for this second
	r := st.res
	var depth int64
	oldest := int32(-1)
	for _, q := range st.fetch.queues {
		if q.n > 0 {
			depth += q.n
			if o := q.oldest(); oldest < 0 || o < oldest {
				oldest = o
			}
		}
	}
	pods := int32(len(st.pods))
	if r.Depth != nil {
		r.Depth[t] = float32(depth)
		r.Pods[t] = float32(pods)
		if oldest >= 0 {
			r.Latency[t] = float32(t + 1 - int(oldest))
		}
	}
	if oldest >= 0 && float64(t+1-int(oldest)) > r.Goal {
		r.SecondsOverGoal++
	}
	st.podSeconds += int64(pods)
	r.PeakReplicas = max(r.PeakReplicas, pods)
	conn := int64(pods) * int64(st.conc)
	r.PeakConnections = max(r.PeakConnections, conn)
	return conn
}
