package simulate

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/mastoscale/mastoscale/pkg/layout"
)

// Defaults of Options.
const (
	DefaultStartup     = 45 // seconds from a scale-up to a pod fetching jobs: schedule, pull, boot Rails
	DefaultLatencyGoal = 30 * time.Second
)

// Options tune a run. The zero value uses the defaults.
type Options struct {
	// Seed makes the weighted queue choices reproducible.
	Seed uint64
	// StartupSeconds is how long a new pod takes to become ready. 0 means DefaultStartup; use
	// a negative value for pods that are ready at once.
	StartupSeconds int
	// Service overrides DefaultService per queue (seconds per job) where the trace has none.
	Service map[string]float64
	// LatencyGoal applies to workers without autoscale.latencyTarget. 0 means DefaultLatencyGoal.
	LatencyGoal time.Duration
}

func (o Options) startup() int {
	switch {
	case o.StartupSeconds < 0:
		return 0
	case o.StartupSeconds == 0:
		return DefaultStartup
	}
	return o.StartupSeconds
}

func (o Options) service(q string) float64 {
	if s, ok := o.Service[q]; ok && s > 0 {
		return s
	}
	if s, ok := DefaultService[q]; ok {
		return s
	}
	return 1
}

// WorkerResult is what one worker went through.
type WorkerResult struct {
	Name        string
	Queues      []string
	Concurrency int32
	Autoscaled  bool
	// Goal is the worker's latency goal in seconds.
	Goal float64
	// Jobs counts the jobs started, plus those still queued at the end (Left).
	Jobs, Left int64
	// Started counts the jobs started per queue, in the order of Queues (a requeued job
	// counts at each start).
	Started []int64
	// Requeued counts jobs that were still running when a stopping pod's -t ran out: Sidekiq
	// pushes them back and they run again (their wait counts once, from the last start).
	Requeued int64
	// Wait percentiles and maximum in seconds (0.1 s resolution); jobs still queued at the end
	// count with the wait they had so far.
	P50, P95, P99, Max float64
	// OverGoal counts jobs that waited longer than Goal.
	OverGoal int64
	// SecondsOverGoal counts the seconds in which the oldest queued job was older than Goal
	// (Sidekiq's queue latency above the goal).
	SecondsOverGoal int
	PodMinutes      float64
	PeakReplicas    int32
	// PeakConnections is the most Postgres connections the worker's pods held at once
	// (pods x concurrency: DB_POOL = -c).
	PeakConnections int64
	// Oracle is the lower bound of the pod-minutes any scaler needs to keep every job of
	// this worker under Goal; see Oracle.
	Oracle OracleResult
	// Series, one value per second: jobs queued, pods (starting, ready and stopping) and the
	// age of the oldest queued job.
	Depth, Pods, Latency []float32

	hist waitHist
}

// Result is one run of a layout over a trace.
type Result struct {
	Layout  string
	Trace   string
	Seconds int
	Workers []WorkerResult
	// P99 and Max over all jobs of all workers.
	P50, P99, Max float64
	PodMinutes    float64
	OraclePods    float64
	// PeakConnections is the most Postgres connections Sidekiq held at one time, plus Reserved.
	PeakConnections int64
	Reserved        int32
	MaxConnections  int32
	// Unconsumed lists the trace's queues that no worker consumes, with their jobs.
	Unconsumed []QueueJobs
}

// QueueJobs is a count of jobs on a queue.
type QueueJobs struct {
	Queue string
	Jobs  int64
}

// workerState is a worker during the run.
type workerState struct {
	w       *layout.Worker
	res     *WorkerResult
	fetch   fetcher
	pods    []*pod
	threads threadHeap
	// spare are pods that have exited, reused (with their threads) by the next scale-up so
	// that the per-second loop does not allocate.
	spare []*pod
	// metrics is the HPA's metric buffer, reused at every sync.
	metrics []Metric
	so      *scaledObject
	conc    int32
	timeout int32
	// requeues are jobs a stopping pod pushes back when its -t runs out.
	requeues []requeue
}

type requeue struct {
	at int
	q  *queue
	j  job
}

// pushBack returns the jobs whose pods' -t has run out by t to their queues.
func (st *workerState) pushBack(t int) {
	kept := st.requeues[:0]
	for _, r := range st.requeues {
		if r.at <= t {
			r.q.requeue(r.j)
			continue
		}
		kept = append(kept, r)
	}
	st.requeues = kept
}

// scaledObject is KEDA's view of an autoscaled worker.
type scaledObject struct {
	hpa        *HPA
	min        int32
	listLength []float64 // per fetcher queue
	// latencyGoal is the target in seconds of the worker's latency trigger; 0 without one. It
	// never activates a sleeping worker (render gives it a year's activation threshold).
	latencyGoal float64
	activation  int64
	polling     int
	cooldown    int
	lastActive  int
	failures    int32
	fallback    *layout.Fallback
}

// Run replays trace through the defaulted, valid layout l.
func Run(name string, l *layout.SidekiqLayout, trace *Trace, opts Options) (*Result, error) {
	if len(l.Spec.Workers) == 0 {
		return nil, fmt.Errorf("%s: the layout has no workers", name)
	}
	if err := checkBounds(name, l, trace, opts); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0x7369646b))
	startup := opts.startup()
	queues := map[string]*queue{}
	getQueue := func(n string) *queue {
		if queues[n] == nil {
			queues[n] = &queue{name: n}
		}
		return queues[n]
	}
	res := &Result{Layout: name, Trace: trace.Name, Seconds: trace.Seconds,
		Reserved: l.Spec.Database.Reserved, MaxConnections: l.Spec.Database.MaxConnections}
	res.Workers = make([]WorkerResult, len(l.Spec.Workers))
	states := make([]*workerState, len(l.Spec.Workers))
	oracleOwner := map[string]int{}
	for i := range l.Spec.Workers {
		w := &l.Spec.Workers[i]
		st := &workerState{w: w, res: &res.Workers[i], conc: *w.Concurrency, timeout: *w.Timeout}
		r := st.res
		r.Name, r.Concurrency, r.Autoscaled = w.Name, *w.Concurrency, w.Autoscale != nil
		r.Goal = opts.goal(w).Seconds()
		st.fetch.strict = true
		r.Started = make([]int64, len(w.Queues))
		for _, q := range w.Queues {
			r.Queues = append(r.Queues, q.Name)
			st.fetch.queues = append(st.fetch.queues, getQueue(q.Name))
			wt := int32(1)
			if q.Weight != nil {
				wt = max(*q.Weight, 1)
				st.fetch.strict = st.fetch.strict && *q.Weight <= 0 // Sidekiq: strict unless a weight > 0
			}
			st.fetch.weights = append(st.fetch.weights, wt)
			if _, taken := oracleOwner[q.Name]; !taken {
				oracleOwner[q.Name] = i
			}
		}
		initial := int32(1)
		if w.Replicas != nil {
			initial = *w.Replicas
		}
		if a := w.Autoscale; a != nil {
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
			st.so = so
			initial = *a.MinReplicas
		}
		for range initial {
			st.pods = append(st.pods, st.newPod(0, 0))
		}
		states[i] = st
	}
	for i, st := range states {
		var qs []string
		var svc []float64
		for _, q := range st.w.Queues {
			if oracleOwner[q.Name] == i {
				qs = append(qs, q.Name)
				svc = append(svc, opts.service(q.Name))
			}
		}
		st.res.Oracle = Oracle(trace, qs, svc, st.conc, st.res.Goal)
	}
	for _, n := range trace.QueueNames() {
		if _, consumed := oracleOwner[n]; !consumed {
			var jobs int64
			for _, e := range trace.Queues[n].Enqueued {
				jobs += e
			}
			res.Unconsumed = append(res.Unconsumed, QueueJobs{Queue: n, Jobs: jobs})
		}
	}
	traceQueues := make([]*queue, 0, len(trace.Queues))
	traceData := make([]*QueueTrace, 0, len(trace.Queues))
	traceSvc := make([]float32, 0, len(trace.Queues))
	for _, n := range trace.QueueNames() {
		traceQueues = append(traceQueues, getQueue(n))
		traceData = append(traceData, trace.Queues[n])
		traceSvc = append(traceSvc, float32(opts.service(n)))
	}
	for _, st := range states {
		st.res.Depth = make([]float32, trace.Seconds)
		st.res.Pods = make([]float32, trace.Seconds)
		st.res.Latency = make([]float32, trace.Seconds)
	}

	var peakConn int64
	for t := 0; t < trace.Seconds; t++ {
		for i, q := range traceQueues {
			n := traceData[i].Enqueued[t]
			if n == 0 {
				continue
			}
			svc := traceSvc[i]
			if s := traceData[i].Service; s != nil && s[t] > 0 {
				svc = s[t]
			}
			for range n {
				q.push(job{enq: int32(t), service: svc})
			}
		}
		down := trace.down(t)
		var conn int64
		for _, st := range states {
			if len(st.requeues) > 0 {
				st.pushBack(t)
			}
			st.becomeReady(t)
			if st.so != nil {
				st.autoscale(t, down, startup)
			}
			if !down {
				st.serve(t, rng)
			}
			conn += st.account(t)
		}
		peakConn = max(peakConn, conn)
	}
	end := int32(trace.Seconds)
	var all waitHist
	for _, st := range states {
		for _, q := range st.fetch.queues {
			for q.len() > 0 {
				st.res.hist.add(float64(end - q.pop().enq))
				st.res.Left++
			}
		}
		st.res.finish()
		all.merge(&st.res.hist)
		res.PodMinutes += st.res.PodMinutes
		res.OraclePods += st.res.Oracle.PodMinutes
	}
	res.P50, res.P99, res.Max = all.quantile(0.50), all.quantile(0.99), all.max
	res.PeakConnections = peakConn + int64(res.Reserved)
	return res, nil
}

func (o Options) goal(w *layout.Worker) time.Duration {
	if w.Autoscale != nil && w.Autoscale.LatencyTarget != nil && w.Autoscale.LatencyTarget.Duration > 0 {
		return w.Autoscale.LatencyTarget.Duration
	}
	if o.LatencyGoal > 0 {
		return o.LatencyGoal
	}
	return DefaultLatencyGoal
}

// serve lets the ready threads fetch jobs during [t, t+1): the earliest free thread takes
// the next job from the queue the fetch order picks.
func (st *workerState) serve(t int, rng *rand.Rand) {
	if len(st.threads) == 0 {
		return
	}
	now, end := float64(t), float64(t+1)
	h := st.threads
	for {
		f := max(h[0].free, now)
		if f >= end {
			return
		}
		qi := st.fetch.pick(rng)
		if qi < 0 {
			return
		}
		q := st.fetch.queues[qi]
		j := q.pop()
		st.res.Started[qi]++
		th := h[0].th
		th.cur, th.curQ, th.start = j, q, f
		wait := f - float64(j.enq)
		st.res.hist.add(wait)
		if wait > st.res.Goal {
			st.res.OverGoal++
		}
		h[0].free = f + float64(j.service)
		h.down(0)
	}
}

// account records second t's series and returns the connections the worker's pods hold.
func (st *workerState) account(t int) int64 {
	st.dropStopped(float64(t)) // a pod that ends during [t, t+1) still counts for this second
	r := st.res
	depth := 0
	oldest := int32(-1)
	for _, q := range st.fetch.queues {
		if q.len() > 0 {
			depth += q.len()
			if o := q.oldest(); oldest < 0 || o < oldest {
				oldest = o
			}
		}
	}
	pods := int32(len(st.pods))
	r.Depth[t] = float32(depth)
	r.Pods[t] = float32(pods)
	if oldest >= 0 {
		r.Latency[t] = float32(t + 1 - int(oldest))
		if float64(t+1-int(oldest)) > r.Goal {
			r.SecondsOverGoal++
		}
	}
	r.PodMinutes += float64(pods) / 60
	r.PeakReplicas = max(r.PeakReplicas, pods)
	conn := int64(pods) * int64(st.conc)
	r.PeakConnections = max(r.PeakConnections, conn)
	return conn
}
