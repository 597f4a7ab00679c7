package simulate

import (
	"fmt"
	"math/rand/v2"

	"github.com/mastoscale/mastoscale/pkg/layout"
)

// Run replays trace through the defaulted, valid layout l.
func Run(name string, l *layout.SidekiqLayout, trace *Trace, opts Options) (*Result, error) {
	if len(l.Spec.Workers) == 0 {
		return nil, fmt.Errorf("%s: the layout has no workers", name)
	}
	if err := checkBounds(name, l, trace, opts); err != nil {
		return nil, err
	}
	res := &Result{Layout: name, Trace: trace.Name, Seconds: trace.Seconds,
		Reserved: l.Spec.Database.Reserved, MaxConnections: l.Spec.Database.MaxConnections}
	res.Workers = make([]WorkerResult, len(l.Spec.Workers))
	s := &sim{opts: opts, trace: trace, startup: opts.startup(), queues: map[string]*queue{},
		rng: &draws{src: rand.NewPCG(opts.Seed, 0x7369646b)}}
	owner := map[string]int{} // the first worker that consumes a queue has it in its oracle
	for i := range l.Spec.Workers {
		st := s.newWorker(&l.Spec.Workers[i], &res.Workers[i])
		for _, q := range st.w.Queues {
			if _, taken := owner[q.Name]; !taken {
				owner[q.Name] = i
			}
		}
		s.workers = append(s.workers, st)
	}
	for i, st := range s.workers {
		if !opts.NoOracle {
			st.res.Oracle = s.oracle(st, i, owner)
		}
		if !opts.NoSeries {
			st.res.Depth = make([]float32, trace.Seconds)
			st.res.Pods = make([]float32, trace.Seconds)
			st.res.Latency = make([]float32, trace.Seconds)
		}
	}
	for _, n := range trace.QueueNames() {
		if _, consumed := owner[n]; !consumed {
			var jobs int64
			for _, e := range trace.Queues[n].Enqueued {
				jobs += e
			}
			res.Unconsumed = append(res.Unconsumed, QueueJobs{Queue: n, Jobs: jobs})
			continue
		}
		s.arrivals = append(s.arrivals, arrivals{q: s.queue(n), QueueTrace: trace.Queues[n], service: float32(opts.service(n))})
	}
	peakConn := s.loop()
	s.finish(res)
	res.PeakConnections = peakConn + int64(res.Reserved)
	return res, nil
}

// sim is one run in progress.
type sim struct {
	opts     Options
	trace    *Trace
	startup  int
	rng      *draws
	queues   map[string]*queue
	workers  []*workerState
	arrivals []arrivals
}

// arrivals is a consumed queue of the trace.
type arrivals struct {
	q *queue
	*QueueTrace
	service float32 // the default service time of its jobs
}

func (s *sim) queue(n string) *queue {
	if s.queues[n] == nil {
		s.queues[n] = &queue{name: n, runs: make([]run, 0, 64)}
	}
	return s.queues[n]
}

// loop runs the trace second by second and returns the peak connections of the workers.
func (s *sim) loop() int64 {
	var peakConn int64
	for t := 0; t < s.trace.Seconds; t++ {
		for i := range s.arrivals {
			a := &s.arrivals[i]
			n := a.Enqueued[t]
			if n == 0 {
				continue
			}
			svc := a.service
			if a.Service != nil && a.Service[t] > 0 {
				svc = a.Service[t]
			}
			a.q.push(int32(t), svc, n)
		}
		down := s.trace.down(t)
		var conn int64
		for _, st := range s.workers {
			if len(st.requeues) > 0 {
				st.pushBack(t)
			}
			st.becomeReady(t)
			if st.so != nil {
				st.autoscale(t, down, s.startup)
			}
			if !down {
				st.serve(t, s.rng)
			}
			conn += st.account(t)
		}
		peakConn = max(peakConn, conn)
	}
	return peakConn
}

// finish counts the jobs still queued at the end and sums up the workers.
func (s *sim) finish(res *Result) {
	end := int32(s.trace.Seconds)
	var all waitHist
	for _, st := range s.workers {
		for _, q := range st.fetch.queues {
			for q.len() > 0 {
				r := q.take(q.len())
				st.res.hist.addN(float64(end-r.enq), r.n)
				st.res.Left += r.n
			}
		}
		st.res.PodMinutes = float64(st.podSeconds) / 60
		st.res.finish()
		all.merge(&st.res.hist)
		res.PodMinutes += st.res.PodMinutes
		res.OraclePods += st.res.Oracle.PodMinutes
	}
	res.P50, res.P99, res.Max = all.quantile(0.50), all.quantile(0.99), all.max
}

// oracle is the oracle of worker i over the queues it owns.
func (s *sim) oracle(st *workerState, i int, owner map[string]int) OracleResult {
	var qs []string
	var svc []float64
	for _, q := range st.w.Queues {
		if owner[q.Name] == i {
			qs = append(qs, q.Name)
			svc = append(svc, s.opts.service(q.Name))
		}
	}
	return Oracle(s.trace, qs, svc, st.conc, st.res.Goal)
}
