package simulate

import (
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
	// NoSeries skips the per-second Depth, Pods and Latency series of each worker (they stay
	// nil, and PlotSVG refuses the result): a search that reads only the totals saves their
	// 12 bytes per worker-second. Every total (waits, seconds over goal, pod-minutes, peaks)
	// is the same.
	NoSeries bool
	// NoOracle skips the oracle, a pass over the trace per worker (about a sixth of a run):
	// WorkerResult.Oracle and Result.OraclePods stay zero, and WriteText prints the ratio to
	// the oracle as n/a.
	NoOracle bool
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
	w      *layout.Worker
	res    *WorkerResult
	fetch  fetcher
	pods   []*pod
	groups groupQueue
	// spare are pods that have exited, reused by the next scale-up so that the per-second
	// loop does not allocate.
	spare      []*pod
	seq        int32 // the next pod's seq
	podSeconds int64
	// stopping counts the pods that stop, until they exit; starting the pods not ready yet
	// and not stopping.
	stopping, starting int
	// arena holds the worker's pods, allocated once.
	arena []pod
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
	r  run
}

// pushBack returns the jobs whose pods' -t has run out by t to their queues.
func (st *workerState) pushBack(t int) {
	kept := st.requeues[:0]
	for _, r := range st.requeues {
		if r.at <= t {
			r.q.requeue(r.r)
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
	nextPoll    int // the next second KEDA polls
	cooldown    int
	lastActive  int
	failures    int32
	fallback    *layout.Fallback
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
