package simulate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/mastoscale/mastoscale/pkg/layout"
)

// Bounds of a trace, checked before anything is allocated for it (ParseCSV, Run).
const (
	// MaxTraceSeconds bounds a trace's length (31 days): the simulation keeps per-second series.
	MaxTraceSeconds = 31 * 86400
	// MaxTraceCells bounds seconds x queues (31 days of Mastodon's seven queues): each cell is
	// 12 bytes of counts and service times, so a trace holds at most 240 MB.
	MaxTraceCells = 7 * MaxTraceSeconds
	// MaxServiceSeconds bounds a job's mean service time (a day); the oracle keeps one slot per
	// second of the longest job.
	MaxServiceSeconds = 86400
	// MinServiceSeconds is the shortest mean service time (1 ms): a thread serves at most a
	// thousand jobs a second.
	MinServiceSeconds = 0.001
	// MaxTraceJobs bounds the jobs a trace enqueues (a thousand million).
	MaxTraceJobs = 1_000_000_000
)

// OutageQueue is the pseudo-queue a CSV trace uses to mark seconds in which Redis cannot be
// reached: a row `time,@redis-down,1`.
const OutageQueue = "@redis-down"

// Trace is what arrives at each queue, second by second.
type Trace struct {
	Name    string
	Seconds int
	// Queues maps a queue name to its arrivals.
	Queues map[string]*QueueTrace
	// Outage marks the seconds in which Redis is unreachable: KEDA's reads fail and Sidekiq
	// cannot fetch. Nil means no outage.
	Outage []bool
}

// QueueTrace is one queue's arrivals.
type QueueTrace struct {
	// Enqueued is the number of jobs pushed in each second.
	Enqueued []int64
	// Service is the mean service time in seconds of the jobs pushed in each second; nil or 0
	// means the queue's default.
	Service []float32
}

// QueueNames returns the trace's queues, sorted.
func (t *Trace) QueueNames() []string {
	names := make([]string, 0, len(t.Queues))
	for n := range t.Queues {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Jobs is the number of jobs the trace enqueues.
func (t *Trace) Jobs() int64 {
	var n int64
	for _, q := range t.Queues {
		for _, e := range q.Enqueued {
			n += e
		}
	}
	return n
}

func (t *Trace) down(s int) bool { return t.Outage != nil && s < len(t.Outage) && t.Outage[s] }

func (t *Trace) queue(name string) *QueueTrace {
	q := t.Queues[name]
	if q == nil {
		q = &QueueTrace{Enqueued: make([]int64, t.Seconds)}
		t.Queues[name] = q
	}
	return q
}

// DefaultService is the mean service time (seconds) of a job of each Mastodon queue when the
// trace does not say: 0.5 s is the seed's 2 jobs/s per thread.
var DefaultService = map[string]float64{
	layout.QueueDefault:   0.5,
	layout.QueuePush:      0.5,
	layout.QueueIngress:   0.5,
	layout.QueueMailers:   1,
	layout.QueuePull:      1,
	layout.QueueScheduler: 2,
	layout.QueueFASP:      0.5,
}

// BaseRate is the mean arrival rate (jobs/s) of each queue at an ordinary hour of a mid-sized
// server: what the generators scale.
var BaseRate = map[string]float64{
	layout.QueueDefault:   12,
	layout.QueuePush:      15,
	layout.QueueIngress:   8,
	layout.QueueMailers:   0.1,
	layout.QueuePull:      3,
	layout.QueueScheduler: 0.05,
	layout.QueueFASP:      0.1,
}

// Generators are the built-in traces.
var Generators = []string{"steady", "diurnal", "viral", "flood"}

// Generate builds the named trace with Poisson arrivals around BaseRate. seconds <= 0 picks
// the generator's own length: steady 2 h, diurnal 24 h, viral 3 h, flood 3 h.
//   - steady: BaseRate all the time.
//   - diurnal: a day, from 0.3x at 04:00 to 1.7x at 16:00.
//   - viral: a post goes viral at 1 h: default, push and ingress get 20x for 30 minutes.
//   - flood: Redis is down from 1 h for 30 minutes; nothing is enqueued, then remote servers
//     redeliver what they held: the held ingress and pull jobs arrive over the next 5 minutes.
func Generate(name string, seconds int, seed uint64) (*Trace, error) {
	lengths := map[string]int{"steady": 7200, "diurnal": 86400, "viral": 10800, "flood": 10800}
	def, ok := lengths[name]
	if !ok {
		return nil, fmt.Errorf("unknown trace %q: use one of %v or a CSV file", name, Generators)
	}
	if seconds <= 0 {
		seconds = def
	}
	rng := rand.New(rand.NewPCG(seed, 0x6d6173746f))
	t := &Trace{Name: name, Seconds: seconds, Queues: map[string]*QueueTrace{}}
	rate := func(q string, s int) float64 { return BaseRate[q] }
	switch name {
	case "diurnal":
		rate = func(q string, s int) float64 {
			phase := 2 * math.Pi * float64(s-4*3600) / 86400
			return BaseRate[q] * (0.3 + 1.4*(1-math.Cos(phase))/2)
		}
	case "viral":
		rate = func(q string, s int) float64 {
			if s >= 3600 && s < 3600+1800 && (q == layout.QueueDefault || q == layout.QueuePush || q == layout.QueueIngress) {
				return 20 * BaseRate[q]
			}
			return BaseRate[q]
		}
	case "flood":
		const start, outage, redeliver = 3600, 1800, 300
		t.Outage = make([]bool, seconds)
		for s := start; s < min(start+outage, seconds); s++ {
			t.Outage[s] = true
		}
		rate = func(q string, s int) float64 {
			switch {
			case s >= start && s < start+outage:
				return 0
			case s >= start+outage && s < start+outage+redeliver && (q == layout.QueueIngress || q == layout.QueuePull):
				return BaseRate[q] * (1 + float64(outage)/redeliver)
			}
			return BaseRate[q]
		}
	}
	names := make([]string, 0, len(BaseRate))
	for q := range BaseRate {
		names = append(names, q)
	}
	slices.Sort(names) // a fixed order keeps the RNG stream, and so the trace, reproducible
	for _, q := range names {
		qt := t.queue(q)
		for s := range seconds {
			qt.Enqueued[s] = poisson(rng, rate(q, s))
		}
	}
	return t, nil
}

// poisson draws a Poisson variate: Knuth's method for small means, a normal approximation
// beyond.
func poisson(rng *rand.Rand, mean float64) int64 {
	switch {
	case mean <= 0:
		return 0
	case mean > 30:
		return int64(max(0, math.Round(mean+math.Sqrt(mean)*rng.NormFloat64())))
	}
	l, k, p := math.Exp(-mean), int64(0), 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// checkBounds refuses, before a run allocates, a trace or options beyond the documented
// bounds (a trace built in code rather than by ParseCSV, a --service table, a huge goal).
func checkBounds(name string, l *layout.SidekiqLayout, t *Trace, opts Options) error {
	if t.Seconds < 0 || t.Seconds > MaxTraceSeconds {
		return fmt.Errorf("%s: trace %s: %d seconds is beyond 0 to %d (MaxTraceSeconds)", name, t.Name, t.Seconds, MaxTraceSeconds)
	}
	if cells := int64(t.Seconds) * int64(len(t.Queues)); cells > MaxTraceCells {
		return fmt.Errorf("%s: trace %s: %d seconds x %d queues is more than %d cells (MaxTraceCells)", name, t.Name, t.Seconds, len(t.Queues), MaxTraceCells)
	}
	var jobs int64
	for _, q := range t.QueueNames() {
		qt := t.Queues[q]
		if len(qt.Enqueued) != t.Seconds || (qt.Service != nil && len(qt.Service) != t.Seconds) {
			return fmt.Errorf("%s: trace %s: queue %s does not have one value per second", name, t.Name, q)
		}
		for s, n := range qt.Enqueued {
			if jobs += n; n < 0 || jobs > MaxTraceJobs {
				return fmt.Errorf("%s: trace %s: queue %s second %d: the count %d is negative or takes the trace past %d jobs (MaxTraceJobs)", name, t.Name, q, s, n, MaxTraceJobs)
			}
			if qt.Service != nil && qt.Service[s] != 0 && !validService(float64(qt.Service[s])) {
				return fmt.Errorf("%s: trace %s: queue %s second %d: service time %g s is beyond %g to %d (MaxServiceSeconds)", name, t.Name, q, s, qt.Service[s], MinServiceSeconds, MaxServiceSeconds)
			}
		}
	}
	for q, s := range opts.Service {
		if !validService(s) {
			return fmt.Errorf("%s: service time of queue %s: %g s is beyond %g to %d (MaxServiceSeconds)", name, q, s, MinServiceSeconds, MaxServiceSeconds)
		}
	}
	for i := range l.Spec.Workers {
		if g := opts.goal(&l.Spec.Workers[i]).Seconds(); g > MaxTraceSeconds {
			return fmt.Errorf("%s: spec.workers[%d].autoscale.latencyTarget: a goal of %g s is beyond the %d s a trace may last (MaxTraceSeconds)", name, i, g, MaxTraceSeconds)
		}
	}
	return nil
}
