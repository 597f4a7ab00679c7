package loop

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/mastoscale/mastoscale/internal/simulate"
	"github.com/mastoscale/mastoscale/pkg/layout"
)

// The agreement the simulator owes a recorded run (issue 18): the same peak, each scale step
// within one HPA sync plus one KEDA polling interval, drain time and pod-seconds within 15%.
const (
	DrainTolerance      = 0.15
	PodSecondsTolerance = 0.15
)

// Agreement is a recorded run next to its replay through the simulator.
type Agreement struct {
	Scenario                  string
	Peak, SimPeak             int32
	DrainS, SimDrainS         int // seconds from the start until the queues are empty after the last arrival; -1: never
	PodSeconds, SimPodSeconds float64
	Steps                     []Step
	StepBound                 int // seconds: one HPA sync + one polling interval
	// DrainSlack is seconds a drain time may be off beyond DrainTolerance: one polling interval
	// for a worker that sleeps at zero (see Compare), else 0.
	DrainSlack             int
	Jobs, Lost, Duplicates int
	Requeued               int
	SimRequeued            int64
	// Lead is how many idle seconds the replay ran before the trace, so that its HPA syncs
	// (at multiples of simulate.HPASyncPeriod) fall where the run's did; see Replay.
	Lead int
	// Problems lists every bound the replay misses, with the figures.
	Problems []string
}

// Step is the first second the pod count reached Level on the way up (Up) or came down to it
// after the peak, in the run (At) and in the replay (SimAt); -1 when it did not happen.
type Step struct {
	Level     int32
	Up        bool
	At, SimAt int
}

// OK reports whether the replay meets every bound.
func (a *Agreement) OK() bool { return len(a.Problems) == 0 }

// Line is the scenario's summary line, as make e2e-loop prints it.
func (a *Agreement) Line() string {
	ok := 0
	for _, s := range a.Steps {
		if s.At >= 0 && s.SimAt >= 0 && abs(s.At-s.SimAt) <= a.StepBound {
			ok++
		}
	}
	verdict := "yes"
	if !a.OK() {
		verdict = "no"
	}
	return fmt.Sprintf("LOOP name=%s peak=%d sim_peak=%d drain_s=%d sim_drain_s=%d jobs=%d lost=%d duplicates=%d requeued=%d sim_requeued=%d pod_s=%.0f sim_pod_s=%.0f steps_within_%ds=%d/%d agree=%s",
		a.Scenario, a.Peak, a.SimPeak, a.DrainS, a.SimDrainS, a.Jobs, a.Lost, a.Duplicates, a.Requeued, a.SimRequeued,
		a.PodSeconds, a.SimPodSeconds, a.StepBound, ok, len(a.Steps), verdict)
}

// Replay runs the fixture's layout and trace through simulate.Run with the rig's measured pod
// start delay, and returns the scenario worker's result (its series cut to the run's window)
// and the defaulted worker.
//
// The simulator syncs the HPA at every multiple of simulate.HPASyncPeriod from the start of the
// trace, and polls for KEDA at every multiple of pollingInterval; the real controller syncs each
// HPA at a phase of its own (from when the HPA was created), and KEDA polls each ScaledObject at
// another. For a trace of minutes a phase alone moves a drain time by up to a whole period, so
// the replay is led by Lead idle seconds that put its syncs where the run's were
// (Observed.HPASyncs) or, for a worker that sleeps at zero, whose 0 <-> 1 steps are KEDA's, its
// polls where the run's were (Observed.KEDAPolls). One lead cannot align both phases: the
// simulator has no option for either. The replay runs on for replayTail seconds after the window
// so that a step the run made near its end is found; drain and pod-seconds count the window.
func Replay(f *Fixture, dir string) (*simulate.WorkerResult, *layout.Worker, error) {
	sim, w, _, err := replay(f, dir)
	return sim, w, err
}

// replayTail is how long the replay runs on after the recorded window.
const replayTail = 300

// lead is the number of idle seconds before the trace that align the simulator's HPA syncs (or,
// for a worker with minReplicas 0, its KEDA polls) with the run's first observed one.
func (f *Fixture) lead(w *layout.Worker) int {
	period, seen := simulate.HPASyncPeriod, f.Observed.HPASyncs
	if a := w.Autoscale; a != nil && *a.MinReplicas == 0 && len(f.Observed.KEDAPolls) > 0 {
		period, seen = int(*a.PollingInterval), f.Observed.KEDAPolls
	}
	if len(seen) == 0 || period <= 0 {
		return 0
	}
	return period - int(math.Round(math.Mod(seen[0], float64(period))))
}

// startup is the measured start delay of the scenario's own pods, or of the run's.
func (f *Fixture) startup() int {
	d := f.Rig.StartupSeconds
	if n := len(f.Observed.StartDelays); n > 0 {
		var sum float64
		for _, x := range f.Observed.StartDelays {
			sum += x
		}
		d = sum / float64(n)
	}
	if s := int(math.Round(d)); s > 0 {
		return s
	}
	return -1 // ready at once
}

func replay(f *Fixture, dir string) (*simulate.WorkerResult, *layout.Worker, int, error) {
	if f.Rig.HPASyncSeconds != simulate.HPASyncPeriod {
		return nil, nil, 0, fmt.Errorf("%s: recorded with an HPA sync period of %d s, but the simulator's is fixed at %d s (simulate.HPASyncPeriod): record with RIG_HPA_SYNC_PERIOD=%ds",
			f.Scenario, f.Rig.HPASyncSeconds, simulate.HPASyncPeriod, simulate.HPASyncPeriod)
	}
	l, err := layout.Load(filepath.Join(dir, f.Layout))
	if err != nil {
		return nil, nil, 0, err
	}
	d, report := layout.Prepare(l)
	if err := report.Err(); err != nil {
		return nil, nil, 0, err
	}
	var w *layout.Worker
	for i := range d.Spec.Workers {
		if d.Spec.Workers[i].Name == f.Worker {
			w = &d.Spec.Workers[i]
		}
	}
	if w == nil {
		return nil, nil, 0, fmt.Errorf("%s: layout %s has no worker %q", f.Scenario, f.Layout, f.Worker)
	}
	lead := f.lead(w)
	res, err := simulate.Run(f.Scenario, d, f.trace(lead), simulate.Options{Seed: 1, StartupSeconds: f.startup()})
	if err != nil {
		return nil, nil, 0, err
	}
	for i := range res.Workers {
		if r := &res.Workers[i]; r.Name == f.Worker {
			r.Depth, r.Pods, r.Latency = r.Depth[lead:], r.Pods[lead:], r.Latency[lead:]
			return r, w, lead, nil
		}
	}
	return nil, nil, 0, fmt.Errorf("%s: the simulation has no worker %q", f.Scenario, f.Worker)
}

// trace is the fixture's arrivals as a simulate.Trace, after lead idle seconds and followed by
// replayTail quiet ones; jobs pushed in the same second to the same queue run for their mean
// service time.
func (f *Fixture) trace(lead int) *simulate.Trace {
	n := lead + f.Seconds + replayTail
	tr := &simulate.Trace{Name: f.Scenario, Seconds: n, Queues: map[string]*simulate.QueueTrace{}}
	for _, a := range f.Trace {
		q := tr.Queues[a.Queue]
		if q == nil {
			q = &simulate.QueueTrace{Enqueued: make([]int32, n), Service: make([]float32, n)}
			tr.Queues[a.Queue] = q
		}
		t := lead + a.T
		old := float64(q.Service[t]) * float64(q.Enqueued[t])
		q.Enqueued[t] += a.Jobs
		if q.Enqueued[t] > 0 {
			q.Service[t] = float32((old + a.Service*float64(a.Jobs)) / float64(q.Enqueued[t]))
		}
	}
	return tr
}

// Compare replays the fixture and measures the agreement.
func Compare(f *Fixture, dir string) (*Agreement, error) {
	sim, w, lead, err := replay(f, dir)
	if err != nil {
		return nil, err
	}
	o := &f.Observed
	a := &Agreement{Scenario: f.Scenario, Lead: lead, Jobs: o.Jobs, Lost: o.Lost, Duplicates: o.Duplicates, Requeued: o.Requeued,
		SimRequeued: sim.Requeued, StepBound: f.Rig.HPASyncSeconds}
	if w.Autoscale != nil {
		a.StepBound += int(*w.Autoscale.PollingInterval)
		// A sleeping worker's drain is its activation: the first KEDA poll after the job is
		// pushed. The replay places polls and arrivals on whole seconds, so a poll in the same
		// second as the push (or a push the loaded rig made late) falls on either side of it, and
		// the drain moves by one whole polling interval; for a drain of seconds no ratio covers it.
		if *w.Autoscale.MinReplicas == 0 {
			a.DrainSlack = int(*w.Autoscale.PollingInterval)
		}
	}
	simPods := make([]int32, len(sim.Pods))
	for i, p := range sim.Pods {
		simPods[i] = int32(p)
		if i < f.Seconds {
			a.SimPodSeconds += float64(p)
		}
	}
	simDepth := make([]int64, f.Seconds)
	for i := range simDepth {
		simDepth[i] = int64(sim.Depth[i])
	}
	for _, p := range o.Pods {
		a.PodSeconds += float64(p)
	}
	a.Peak, a.SimPeak = maxOf(o.Pods), maxOf(simPods[:f.Seconds])
	last := f.lastArrival()
	a.DrainS, a.SimDrainS = drained(o.Depth, last), drained(simDepth, last)
	a.Steps = steps(o.Pods, simPods)
	a.judge(o)
	return a, nil
}

func (a *Agreement) judge(o *Observed) {
	if a.Peak != a.SimPeak {
		a.Problems = append(a.Problems, fmt.Sprintf("peak replicas: run %d, simulation %d", a.Peak, a.SimPeak))
	}
	for _, s := range a.Steps {
		dir := "down to"
		if s.Up {
			dir = "up to"
		}
		switch {
		case s.At < 0 || s.SimAt < 0:
			a.Problems = append(a.Problems, fmt.Sprintf("step %s %d pods: run at %ds, simulation at %ds (-1: never)", dir, s.Level, s.At, s.SimAt))
		case abs(s.At-s.SimAt) > a.StepBound:
			a.Problems = append(a.Problems, fmt.Sprintf("step %s %d pods: run at %ds, simulation at %ds, more than %ds apart", dir, s.Level, s.At, s.SimAt, a.StepBound))
		}
	}
	if a.DrainS < 0 || a.SimDrainS < 0 ||
		!within(float64(a.SimDrainS), float64(a.DrainS), DrainTolerance) && abs(a.SimDrainS-a.DrainS) > a.DrainSlack {
		a.Problems = append(a.Problems, fmt.Sprintf("drain time: run %ds, simulation %ds (bound %.0f%% or %ds)", a.DrainS, a.SimDrainS, 100*DrainTolerance, a.DrainSlack))
	}
	if !within(a.SimPodSeconds, a.PodSeconds, PodSecondsTolerance) {
		a.Problems = append(a.Problems, fmt.Sprintf("pod-seconds: run %.0f, simulation %.0f (bound %.0f%%)", a.PodSeconds, a.SimPodSeconds, 100*PodSecondsTolerance))
	}
	if o.Lost != 0 || o.Duplicates != 0 {
		a.Problems = append(a.Problems, fmt.Sprintf("jobs: %d lost, %d performed more than once", o.Lost, o.Duplicates))
	}
}

// Problem is the agreement's problems as one message.
func (a *Agreement) Problem() string { return strings.Join(a.Problems, "; ") }

func (f *Fixture) lastArrival() int {
	last := 0
	for _, a := range f.Trace {
		if a.Jobs > 0 {
			last = max(last, a.T)
		}
	}
	return last
}

// drained is the end of the first second at or after the last arrival with no job queued.
func drained(depth []int64, last int) int {
	for s := last; s < len(depth); s++ {
		if depth[s] == 0 {
			return s + 1
		}
	}
	return -1
}

// steps lists, for every level between the start and the peak, when the run and the replay
// first reached it, and for every level between the peak and the end, when they came down to it.
func steps(run, sim []int32) []Step {
	up := func(s []int32, level int32) int {
		for i, p := range s {
			if p >= level {
				return i
			}
		}
		return -1
	}
	down := func(s []int32, level int32) int {
		peakAt := 0
		for i, p := range s {
			if p > s[peakAt] {
				peakAt = i
			}
		}
		for i := peakAt; i < len(s); i++ {
			if s[i] <= level {
				return i
			}
		}
		return -1
	}
	if len(run) == 0 || len(sim) == 0 {
		return nil
	}
	start, peak, end := min(run[0], sim[0]), max(maxOf(run), maxOf(sim)), min(run[len(run)-1], sim[len(sim)-1])
	var out []Step
	for l := start + 1; l <= peak; l++ {
		out = append(out, Step{Level: l, Up: true, At: up(run, l), SimAt: up(sim, l)})
	}
	for l := peak - 1; l >= end; l-- {
		out = append(out, Step{Level: l, At: down(run, l), SimAt: down(sim, l)})
	}
	return out
}

func maxOf(s []int32) int32 {
	var m int32
	for _, v := range s {
		m = max(m, v)
	}
	return m
}

// within reports whether got is within tol (relative) of want; two zeros agree.
func within(got, want, tol float64) bool {
	if want == 0 {
		return got == 0
	}
	return math.Abs(got-want)/want <= tol
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
