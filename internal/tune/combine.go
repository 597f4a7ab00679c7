package tune

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/mastoscale/mastoscale/internal/simulate"
	"github.com/mastoscale/mastoscale/pkg/layout"
)

// front returns the evaluations no other beats on pod-minutes, p99 and connections at once,
// sorted by pod-minutes.
func front(evals map[Knobs]Eval) []Eval {
	all := sortedEvals(evals)
	var out []Eval
	for i, a := range all {
		dominated := false
		for j, b := range all {
			if i != j && dominates(b, a) {
				dominated = true
				break
			}
		}
		if !dominated {
			out = append(out, a)
		}
	}
	return out
}

func dominates(b, a Eval) bool {
	le := b.PodMinutes <= a.PodMinutes && b.P99 <= a.P99 && b.Connections <= a.Connections
	lt := b.PodMinutes < a.PodMinutes || b.P99 < a.P99 || b.Connections < a.Connections
	return le && (lt || compareEval(b, a) < 0)
}

// compareEval is a total order: pod-minutes, p99, connections, then the knobs.
func compareEval(a, b Eval) int {
	return cmp.Or(cmp.Compare(a.PodMinutes, b.PodMinutes), cmp.Compare(a.P99, b.P99),
		cmp.Compare(a.Connections, b.Connections), strings.Compare(a.Knobs.String(), b.Knobs.String()))
}

// option is one way to fill the budget: a choice per worker so far, its pod-minutes and
// connections.
type option struct {
	picks       []Eval
	podMinutes  float64
	connections int64
	changes     int // knobs changed from the inputs
}

// choose picks per worker one candidate that meets its goal: each search's own winner when
// together they fit the budget, else the combination with the fewest pod-minutes whose
// connections fit (a multiple-choice knapsack, solved over the Pareto options of connections
// against pod-minutes). A worker that meets its goal nowhere, or a budget no combination fits,
// is an error naming the constraint that binds.
func (r *Result) choose(d *layout.SidekiqLayout, searches []*workerSearch) error {
	if r.winnersFit(searches) {
		for _, ws := range searches {
			r.knobs[ws.index], r.spaces[ws.index] = ws.best, ws.space
		}
		return nil
	}
	var problems []string
	opts := []option{{}}
	for _, ws := range searches {
		var meets []Eval
		for _, e := range sortedEvals(ws.evals) {
			if e.Meets {
				meets = append(meets, e)
			}
		}
		if len(meets) == 0 {
			problems = append(problems, r.binding(d, ws))
			continue
		}
		var next []option
		for _, o := range opts {
			for _, e := range meets {
				c := o.connections + e.Connections
				if c > r.Budget {
					continue
				}
				next = append(next, option{append(slices.Clone(o.picks), e), o.podMinutes + e.PodMinutes, c,
					o.changes + changed(e.Knobs, ws.space.In)})
			}
		}
		opts = pareto(next)
		if len(opts) == 0 {
			problems = append(problems, fmt.Sprintf("spec.database.maxConnections: %d connections (maxConnections %d - reserved %d - workers not tuned) cannot hold every tuned worker at the replicas its goal needs, up to %s: raise maxConnections (PgBouncer) or relax a goal",
				r.Budget, d.Spec.Database.MaxConnections, d.Spec.Database.Reserved, ws.w.Name))
			break
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("no layout meets the goal on trace %s:\n  %s", r.Trace, strings.Join(problems, "\n  "))
	}
	best := opts[0]
	for _, o := range opts {
		if o.podMinutes < best.podMinutes || (o.podMinutes == best.podMinutes && o.changes < best.changes) {
			best = o
		}
	}
	for i, ws := range searches {
		r.knobs[ws.index] = best.picks[i].Knobs
		r.spaces[ws.index] = ws.space
	}
	return nil
}

// winnersFit reports whether every search's winner meets its goal and together they fit the
// budget.
func (r *Result) winnersFit(searches []*workerSearch) bool {
	var connections int64
	for _, ws := range searches {
		e, ok := ws.evals[ws.best]
		if !ok || !e.Meets {
			return false
		}
		connections += e.Connections
	}
	return connections <= r.Budget
}

// pareto keeps the options no other beats on connections, pod-minutes and changes at once.
func pareto(in []option) []option {
	slices.SortFunc(in, func(a, b option) int {
		return cmp.Or(cmp.Compare(a.connections, b.connections), cmp.Compare(a.podMinutes, b.podMinutes), cmp.Compare(a.changes, b.changes))
	})
	var out []option
	for _, o := range in {
		dominated := false
		for _, k := range out { // every kept option holds no more connections than o
			if k.podMinutes <= o.podMinutes && k.changes <= o.changes {
				dominated = true
				break
			}
		}
		if !dominated {
			out = append(out, o)
		}
	}
	return out
}

// sortedEvals lists evals in compareEval's order.
func sortedEvals(evals map[Knobs]Eval) []Eval {
	all := make([]Eval, 0, len(evals))
	for _, e := range evals {
		all = append(all, e)
	}
	slices.SortFunc(all, compareEval)
	return all
}

// binding explains why no candidate of ws met its goal: the Postgres budget, the trace's
// arrival rate over what the budget can run, or the replica range and start-up.
func (r *Result) binding(d *layout.SidekiqLayout, ws *workerSearch) string {
	x := &r.Before.Workers[ws.index]
	need := int64(x.Oracle.PeakPods) * int64(*ws.w.Concurrency)
	var closest Eval
	found := false
	for _, e := range front(ws.evals) {
		if ws.space.valid(e.Knobs, ws.limit) && (!found || e.P99 < closest.P99) {
			closest, found = e, true
		}
	}
	path := fmt.Sprintf("spec.workers[%d] (%s)", ws.index, ws.w.Name)
	switch mean := meanThreads(x, r.Before.Seconds); {
	case mean > float64(ws.limit):
		return fmt.Sprintf("%s: the trace's arrival rate needs %.0f threads on average, over the %d connections the Postgres budget leaves it (spec.database.maxConnections %d): the backlog grows without end; raise maxConnections or move queues to other workers",
			path, mean, ws.limit, d.Spec.Database.MaxConnections)
	case need > ws.limit:
		return fmt.Sprintf("%s: keeping waits under %s needs %d threads at the trace's peak even with instant start-up, over the %d connections the Postgres budget leaves it (spec.database.maxConnections %d): raise maxConnections (PgBouncer) or relax autoscale.latencyTarget; the closest, %s, reaches p99 %.1f s",
			path, goalString(ws.goal), need, ws.limit, d.Spec.Database.MaxConnections, describe(ws.space, closest.Knobs), closest.P99)
	}
	return fmt.Sprintf("%s: no replica range up to maxReplicas %d meets %s with pods that take the start-up time to boot: the closest, %s, reaches p99 %.1f s; relax autoscale.latencyTarget or shorten start-up",
		path, slices.Max(ws.space.MaxReplicas), goalString(ws.goal), describe(ws.space, closest.Knobs), closest.P99)
}

// meanThreads is the worker's busy threads on average over the run: its jobs' service over
// the seconds, as the oracle's pod-minutes bound it.
func meanThreads(x *simulate.WorkerResult, seconds int) float64 {
	if seconds == 0 {
		return 0
	}
	return x.Oracle.PodMinutes * 60 / float64(seconds) * float64(x.Concurrency)
}

func describe(s Space, k Knobs) string {
	return fmt.Sprintf("concurrency %d, replicas %d..%d, listLength %d, pace %s",
		k.Concurrency, k.MinReplicas, k.MaxReplicas, k.ListLength, s.Paces[k.Pace].Name)
}

func goalString(seconds float64) string { return fmt.Sprintf("p99 %gs", seconds) }
