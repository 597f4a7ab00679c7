package tune

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/mastoscale/mastoscale/internal/simulate"
	"github.com/mastoscale/mastoscale/pkg/layout"
)

// Eval is one candidate's simulated run.
type Eval struct {
	Knobs      Knobs   `json:"knobs"`
	Pace       string  `json:"pace"`
	PodMinutes float64 `json:"podMinutes"`
	P99        float64 `json:"p99Seconds"`
	// Connections is the Postgres connections at max replicas (the budget's view); Peak is
	// the most the run held.
	Connections     int64 `json:"connections"`
	PeakConnections int64 `json:"peakConnections"`
	Meets           bool  `json:"meetsGoal"`
}

// better orders evaluations: meeting the goal first, then fewer pod-minutes, then fewer
// knobs changed from the input in (a tuned layout changes only what buys something: a
// day that never needs a second pod does not take away maxReplicas), then fewer connections
// at max replicas; among misses, the lower p99 first.
func better(a, b Eval, in Knobs) bool {
	const eps = 1e-9
	switch {
	case a.Meets != b.Meets:
		return a.Meets
	case !a.Meets && a.P99 < b.P99-eps:
		return true
	case !a.Meets && a.P99 > b.P99+eps:
		return false
	case a.PodMinutes < b.PodMinutes-eps:
		return true
	case a.PodMinutes > b.PodMinutes+eps:
		return false
	case changed(a.Knobs, in) != changed(b.Knobs, in):
		return changed(a.Knobs, in) < changed(b.Knobs, in)
	}
	return a.Connections < b.Connections
}

// changed counts the knobs of k that differ from in.
func changed(k, in Knobs) int {
	n := 0
	for _, d := range []bool{k.Concurrency != in.Concurrency, k.MinReplicas != in.MinReplicas,
		k.MaxReplicas != in.MaxReplicas, k.ListLength != in.ListLength, k.Pace != in.Pace} {
		if d {
			n++
		}
	}
	return n
}

// workerSearch is the search of one autoscaled worker.
type workerSearch struct {
	index int            // in the layout's workers
	w     *layout.Worker // defaulted
	space Space
	goal  float64 // seconds
	limit int64   // connections the budget leaves this worker, 0 without a budget
	comp  *component

	mu    sync.Mutex
	evals map[Knobs]Eval
	best  Knobs
}

// component is a set of workers that share queues, simulated together over the trace's
// queues they consume.
type component struct {
	workers []int // layout indexes, ascending
	trace   *simulate.Trace
	tuned   map[int]*workerSearch
}

// evaluator runs candidates on the defaulted layout d.
type evaluator struct {
	d    *layout.SidekiqLayout
	opts simulate.Options
	runs atomic.Int64 // simulations run, by all goroutines
}

// eval simulates ws's component with ws at k and the other tuned workers at their best.
func (e *evaluator) eval(ws *workerSearch, k Knobs) (Eval, error) {
	ws.mu.Lock()
	if ev, ok := ws.evals[k]; ok {
		ws.mu.Unlock()
		return ev, nil
	}
	ws.mu.Unlock()
	sub := *e.d
	sub.Spec.Workers = make([]layout.Worker, 0, len(ws.comp.workers))
	at := 0
	for _, i := range ws.comp.workers {
		w := e.d.Spec.Workers[i]
		switch o := ws.comp.tuned[i]; {
		case i == ws.index:
			at = len(sub.Spec.Workers)
			w = ws.space.apply(&e.d.Spec.Workers[i], k)
		case o != nil:
			w = o.space.apply(&e.d.Spec.Workers[i], o.best)
		}
		sub.Spec.Workers = append(sub.Spec.Workers, w)
	}
	opts := e.opts
	opts.NoSeries, opts.NoOracle = true, true
	r, err := simulate.Run(ws.w.Name, &sub, ws.comp.trace, opts)
	if err != nil {
		return Eval{}, err
	}
	x := &r.Workers[at]
	ev := Eval{Knobs: k, Pace: ws.space.Paces[k.Pace].Name, PodMinutes: x.PodMinutes, P99: x.P99,
		Connections: k.Connections(), PeakConnections: x.PeakConnections, Meets: x.P99 <= ws.goal}
	ws.mu.Lock()
	ws.evals[k] = ev
	ws.mu.Unlock()
	e.runs.Add(1)
	return ev, nil
}

// evalAll evaluates ks on all cores; the results are in the order of ks.
func (e *evaluator) evalAll(ws *workerSearch, ks []Knobs) ([]Eval, error) {
	out := make([]Eval, len(ks))
	errs := make([]error, len(ks))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(ks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i], errs[i] = e.eval(ws, ks[i])
			}
		}()
	}
	for i := range ks {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// maxRounds bounds the passes of coordinate descent; a pass that improves nothing ends it.
const maxRounds = 4

// descend improves start one dimension at a time: every value of a dimension with the others
// fixed, the best kept, until a whole pass improves nothing.
func (e *evaluator) descend(ws *workerSearch, start Knobs) (Eval, error) {
	cur, err := e.eval(ws, start)
	if err != nil {
		return Eval{}, err
	}
	for range maxRounds {
		improved := false
		for _, dim := range dimensions {
			evs, err := e.evalAll(ws, ws.space.along(dim, cur.Knobs, ws.limit))
			if err != nil {
				return Eval{}, err
			}
			for _, ev := range evs {
				if better(ev, cur, ws.space.In) {
					cur, improved = ev, true
				}
			}
		}
		if !improved {
			break
		}
	}
	return cur, nil
}

// The dimensions in the order descend walks them: the replica range first (what fixes most
// misses), the pace, the trigger's target, then the threads per pod.
type dimension int

const (
	dimMax dimension = iota
	dimPace
	dimListLength
	dimMin
	dimConcurrency
)

var dimensions = []dimension{dimMax, dimPace, dimListLength, dimMin, dimConcurrency}

// along lists the valid knobs that differ from k in dimension d only (concurrency keeps the
// backlog per thread).
func (s Space) along(d dimension, k Knobs, limit int64) []Knobs {
	keep := func(c Knobs) bool { return c != k && s.valid(c, limit) }
	switch d {
	case dimMax:
		return variants(k, s.MaxReplicas, keep, func(c *Knobs, m int32) { c.MaxReplicas = m })
	case dimMin:
		return variants(k, s.MinReplicas, keep, func(c *Knobs, m int32) { c.MinReplicas = m })
	case dimPace:
		paces := make([]int, len(s.Paces))
		for i := range paces {
			paces[i] = i
		}
		return variants(k, paces, keep, func(c *Knobs, p int) { c.Pace = p })
	case dimListLength:
		return variants(k, s.PerThread, keep, func(c *Knobs, p float64) { c.ListLength = listLength(p, k.Concurrency) })
	}
	per := float64(k.ListLength) / float64(k.Concurrency)
	return variants(k, s.Concurrency, keep, func(c *Knobs, n int32) { c.Concurrency, c.ListLength = n, listLength(per, n) })
}

// variants is k with each of values set, those keep accepts.
func variants[T any](k Knobs, values []T, keep func(Knobs) bool, set func(*Knobs, T)) []Knobs {
	var out []Knobs
	for _, v := range values {
		c := k
		set(&c, v)
		if keep(c) {
			out = append(out, c)
		}
	}
	return out
}
