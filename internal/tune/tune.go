package tune

import (
	"fmt"
	"slices"
	"time"

	"github.com/mastoscale/mastoscale/internal/simulate"
	"github.com/mastoscale/mastoscale/pkg/layout"
)

// Options of a search.
type Options struct {
	// Sim is how candidates are simulated: its Seed, start-up, service times and the latency
	// goal of workers without autoscale.latencyTarget.
	Sim simulate.Options
	// Verify is a second trace (the same traffic drawn with another seed, or the recorded one
	// again) the winner is re-simulated on with seed Sim.Seed+1.
	Verify *simulate.Trace
	// VerifyLabel says what Verify is, for the report ("the viral trace drawn with seed 2").
	VerifyLabel string
	// MaxConnections and Reserved replace spec.database's when MaxConnections > 0.
	MaxConnections, Reserved int32
	// MaxConcurrency bounds the threads per process tune may pick (0: layout.MaxConcurrency);
	// a worker's own concurrency stays a candidate.
	MaxConcurrency int32
}

// WorkerOutcome is what the search found for one worker.
type WorkerOutcome struct {
	Name   string  `json:"name"`
	Tuned  bool    `json:"tuned"`
	Why    string  `json:"why,omitempty"` // why a worker was not tuned
	Goal   float64 `json:"goalSeconds"`
	Before Eval    `json:"before"`
	After  Eval    `json:"after"`
	// Front is the Pareto front of the evaluated candidates: none has both fewer pod-minutes,
	// a lower p99 and fewer connections than another; sorted by pod-minutes.
	Front  []Eval  `json:"front"`
	Oracle float64 `json:"oraclePodMinutes"`
	// Evaluated counts the candidates simulated for the worker.
	Evaluated int `json:"evaluated"`
}

// Result of a search.
type Result struct {
	Trace   string          `json:"trace"`
	Workers []WorkerOutcome `json:"workers"`
	// Before and After are whole-layout runs of the input and the winner on the trace; Verify
	// is the winner on Options.Verify.
	Before, After, Verify *simulate.Result `json:"-"`
	// Candidates counts the simulations run; Elapsed how long the search took.
	Candidates int64         `json:"candidates"`
	Elapsed    time.Duration `json:"-"`
	// Budget is the connections the tuned workers may hold at max replicas together.
	Budget      int64 `json:"budgetConnections"`
	knobs       map[int]Knobs
	spaces      map[int]Space
	verifyLabel string
}

// Search finds, for each autoscaled worker of l (undefaulted, valid), the knobs with the fewest
// pod-minutes whose p99 wait on trace stays within the worker's goal, and among the winners
// the combination that fits the Postgres budget at max replicas.
func Search(l *layout.SidekiqLayout, trace *simulate.Trace, opts Options) (*Result, error) {
	start := time.Now()
	if opts.MaxConnections > 0 {
		l = layout.Clone(l)
		l.Spec.Database.MaxConnections, l.Spec.Database.Reserved = opts.MaxConnections, opts.Reserved
	}
	d, report := layout.Prepare(l)
	if err := inputErrors(report); err != nil {
		return nil, err
	}
	if d.Spec.Database.MaxConnections == 0 {
		return nil, fmt.Errorf("spec.database.maxConnections: tune needs the Postgres budget to bound maxReplicas: set it (and spec.database.reserved, what web and streaming hold) in the layout, or pass --max-connections")
	}
	before, err := simulate.Run("input", d, trace, opts.Sim)
	if err != nil {
		return nil, err
	}
	res := &Result{Trace: trace.Name, Before: before, knobs: map[int]Knobs{}, spaces: map[int]Space{}}
	searches, limit := plan(d, before, trace, opts.MaxConcurrency)
	if res.Budget = limit; limit < 1 {
		return nil, fmt.Errorf("spec.database: maxConnections %d less reserved %d and the %d connections of the workers tune does not change leave %d for the autoscaled workers: raise maxConnections or lower the fixed workers' replicas or concurrency",
			d.Spec.Database.MaxConnections, d.Spec.Database.Reserved, int64(d.Spec.Database.MaxConnections-d.Spec.Database.Reserved)-limit, limit)
	}
	e := &evaluator{d: d, opts: opts.Sim}
	for _, ws := range searches {
		if err := e.search(ws); err != nil {
			return nil, err
		}
	}
	if err := res.choose(d, searches); err != nil {
		return nil, err
	}
	res.Candidates = e.runs.Load()
	res.Elapsed = time.Since(start)
	return res, res.finish(d, trace, opts, searches)
}

// plan makes the search of every autoscaled worker that is not the scheduler, grouped into
// components by shared queues, and returns them with the connections the budget leaves them
// (max_connections less reserved and the other workers' at their maximum).
func plan(d *layout.SidekiqLayout, before *simulate.Result, trace *simulate.Trace, maxConcurrency int32) ([]*workerSearch, int64) {
	resolved, _, _ := layout.Resolve(d) // d is valid but for the budget, which tune fixes
	budget := layout.ConnectionBudget(resolved.Workers, resolved.Database)
	limit := int64(budget.Max) - int64(budget.Reserved)
	for i, row := range budget.Rows {
		if !tunable(&d.Spec.Workers[i]) {
			limit -= row.Connections
		}
	}
	var out []*workerSearch
	for _, c := range components(d, trace) {
		for _, i := range c.workers {
			w := &d.Spec.Workers[i]
			if !tunable(w) {
				continue
			}
			x := &before.Workers[i]
			space, in := newSpace(w, limit, x.Oracle.PeakPods**w.Concurrency, maxConcurrency)
			ws := &workerSearch{index: i, w: w, space: space, goal: x.Goal, limit: limit, comp: c,
				evals: map[Knobs]Eval{}, best: in}
			c.tuned[i] = ws
			out = append(out, ws)
		}
	}
	return out, limit
}

// inputErrors is the report's errors but the connection budget's: a layout over its budget
// is what tune is for.
func inputErrors(report layout.Report) error {
	var kept layout.Report
	for _, f := range report.Findings {
		if f.Rule != layout.RuleConnectionBudget {
			kept.Findings = append(kept.Findings, f)
		}
	}
	return kept.Err()
}

// tunable: an autoscaled worker that does not run the scheduler (which stays one process).
func tunable(w *layout.Worker) bool { return w.Autoscale != nil && !w.ConsumesScheduler() }

// components groups the workers by the queues they share, each with the part of trace its
// workers consume.
func components(d *layout.SidekiqLayout, trace *simulate.Trace) []*component {
	n := len(d.Spec.Workers)
	group := make([]int, n)
	for i := range group {
		group[i] = i
	}
	owner := map[string]int{}
	for i, w := range d.Spec.Workers {
		for _, q := range w.Queues {
			if j, ok := owner[q.Name]; ok {
				old := group[i]
				for k := range group {
					if group[k] == old {
						group[k] = group[j]
					}
				}
				continue
			}
			owner[q.Name] = i
		}
	}
	var out []*component
	byGroup := map[int]*component{}
	for i := range n {
		c := byGroup[group[i]]
		if c == nil {
			c = &component{tuned: map[int]*workerSearch{},
				trace: &simulate.Trace{Name: trace.Name, Seconds: trace.Seconds, Outage: trace.Outage, Queues: map[string]*simulate.QueueTrace{}}}
			byGroup[group[i]] = c
			out = append(out, c)
		}
		c.workers = append(c.workers, i)
		for _, q := range d.Spec.Workers[i].Queues {
			if qt, ok := trace.Queues[q.Name]; ok {
				c.trace.Queues[q.Name] = qt
			}
		}
	}
	return out
}

// search descends from the input's knobs and, for every pace, from a fast start: that pace
// with the replica range the budget allows up to 16; the best end wins.
func (e *evaluator) search(ws *workerSearch) error {
	in := ws.best
	starts := []Knobs{in}
	for p := range ws.space.Paces {
		fast := in
		fast.Pace = p
		for _, m := range ws.space.MaxReplicas {
			c := fast
			c.MaxReplicas = m
			if m <= 16 && ws.space.valid(c, ws.limit) {
				fast = c
			}
		}
		starts = append(starts, fast)
	}
	var best Eval
	for i, start := range starts {
		end, err := e.descend(ws, start)
		if err != nil {
			return err
		}
		if i == 0 || better(end, best, in) {
			best = end
		}
	}
	ws.best = best.Knobs
	return nil
}

// finish fills the outcomes and runs the whole tuned layout on trace and on opts.Verify.
func (r *Result) finish(d *layout.SidekiqLayout, trace *simulate.Trace, opts Options, searches []*workerSearch) error {
	tuned := r.Tuned(d)
	var err error
	if r.After, err = simulate.Run("tuned", tuned, trace, opts.Sim); err != nil {
		return err
	}
	verify := opts.Verify
	if verify == nil {
		verify = trace
	}
	vopts := opts.Sim
	vopts.Seed++
	r.verifyLabel = opts.VerifyLabel
	if r.verifyLabel == "" {
		r.verifyLabel = fmt.Sprintf("the same trace with Sidekiq's queue-order seed %d", vopts.Seed)
	}
	if r.Verify, err = simulate.Run("tuned", tuned, verify, vopts); err != nil {
		return err
	}
	bySearch := map[int]*workerSearch{}
	for _, ws := range searches {
		bySearch[ws.index] = ws
	}
	for i := range d.Spec.Workers {
		w := &d.Spec.Workers[i]
		b, a := &r.Before.Workers[i], &r.After.Workers[i]
		o := WorkerOutcome{Name: w.Name, Goal: b.Goal, Oracle: b.Oracle.PodMinutes,
			Before: outcome(b), After: outcome(a)}
		if ws := bySearch[i]; ws != nil {
			o.Tuned, o.Front, o.Evaluated = true, front(ws.evals), len(ws.evals)
			o.Before.Knobs, o.After.Knobs = ws.space.In, r.knobs[i]
			o.Before.Pace, o.After.Pace = ws.space.Paces[0].Name, ws.space.Paces[r.knobs[i].Pace].Name
			o.Before.Connections, o.After.Connections = ws.space.In.Connections(), r.knobs[i].Connections()
		} else {
			o.Why = "not autoscaled: its replicas are fixed"
			if w.ConsumesScheduler() {
				o.Why = "runs the scheduler queue, which stays a single process"
			}
		}
		r.Workers = append(r.Workers, o)
	}
	return nil
}

func outcome(x *simulate.WorkerResult) Eval {
	return Eval{PodMinutes: x.PodMinutes, P99: x.P99, PeakConnections: x.PeakConnections, Meets: x.P99 <= x.Goal}
}

// Tuned returns defaulted layout d with the winning knobs.
func (r *Result) Tuned(d *layout.SidekiqLayout) *layout.SidekiqLayout {
	t := *d
	t.Spec.Workers = slices.Clone(d.Spec.Workers)
	for i, k := range r.knobs {
		t.Spec.Workers[i] = r.spaces[i].apply(&d.Spec.Workers[i], k)
	}
	return &t
}

// VerifyMisses lists the workers the re-simulation with the other seed finds over their goal.
func (r *Result) VerifyMisses() []string {
	var out []string
	for i := range r.Verify.Workers {
		if x := &r.Verify.Workers[i]; x.P99 > x.Goal {
			out = append(out, fmt.Sprintf("%s: p99 %.1f s over its goal of %gs", x.Name, x.P99, x.Goal))
		}
	}
	return out
}
