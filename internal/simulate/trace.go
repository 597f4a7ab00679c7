package simulate

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/mastoscale/mastoscale/pkg/layout"
)

// MaxTraceSeconds bounds a CSV trace (31 days): the simulation keeps per-second series.
const MaxTraceSeconds = 31 * 86400

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
	Enqueued []int32
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
			n += int64(e)
		}
	}
	return n
}

func (t *Trace) down(s int) bool { return t.Outage != nil && s < len(t.Outage) && t.Outage[s] }

func (t *Trace) queue(name string) *QueueTrace {
	q := t.Queues[name]
	if q == nil {
		q = &QueueTrace{Enqueued: make([]int32, t.Seconds)}
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
func poisson(rng *rand.Rand, mean float64) int32 {
	switch {
	case mean <= 0:
		return 0
	case mean > 30:
		return int32(max(0, math.Round(mean+math.Sqrt(mean)*rng.NormFloat64())))
	}
	l, k, p := math.Exp(-mean), int32(0), 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// ParseCSV reads a trace in the format `mastoscale status --record` writes:
// `time,queue,enqueued[,service_seconds]`, time in whole seconds since the start. A header line
// is optional; rows for the same second and queue add up (their service times are averaged,
// weighted by jobs). Rows of queue OutageQueue mark Redis outages.
func ParseCSV(name string, r io.Reader) (*Trace, error) {
	type row struct {
		t       int
		queue   string
		n       int32
		service float64
	}
	var rows []row
	maxT := -1
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") || (line == 1 && strings.HasPrefix(text, "time,")) {
			continue
		}
		f := strings.Split(text, ",")
		if len(f) != 3 && len(f) != 4 {
			return nil, fmt.Errorf("%s:%d: want time,queue,enqueued[,service_seconds], got %d fields", name, line, len(f))
		}
		t, err := strconv.Atoi(strings.TrimSpace(f[0]))
		if err != nil || t < 0 || t >= MaxTraceSeconds {
			return nil, fmt.Errorf("%s:%d: time %q must be whole seconds since the start, 0 to %d", name, line, f[0], MaxTraceSeconds-1)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(f[2]), 10, 32)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%s:%d: enqueued %q must be a count of jobs (0 or more)", name, line, f[2])
		}
		rw := row{t: t, queue: strings.TrimSpace(f[1]), n: int32(n)}
		if rw.queue == "" {
			return nil, fmt.Errorf("%s:%d: the queue name is empty", name, line)
		}
		if len(f) == 4 && strings.TrimSpace(f[3]) != "" {
			rw.service, err = strconv.ParseFloat(strings.TrimSpace(f[3]), 64)
			if err != nil || rw.service <= 0 || math.IsInf(rw.service, 0) {
				return nil, fmt.Errorf("%s:%d: service_seconds %q must be a positive number", name, line, f[3])
			}
		}
		rows = append(rows, rw)
		maxT = max(maxT, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if maxT < 0 {
		return nil, fmt.Errorf("%s: the trace has no rows", name)
	}
	tr := &Trace{Name: name, Seconds: maxT + 1, Queues: map[string]*QueueTrace{}}
	for _, rw := range rows {
		if rw.queue == OutageQueue {
			if tr.Outage == nil {
				tr.Outage = make([]bool, tr.Seconds)
			}
			tr.Outage[rw.t] = rw.n > 0
			continue
		}
		q := tr.queue(rw.queue)
		if rw.service > 0 {
			if q.Service == nil {
				q.Service = make([]float32, tr.Seconds)
			}
			old := float64(q.Service[rw.t]) * float64(q.Enqueued[rw.t])
			if total := q.Enqueued[rw.t] + rw.n; total > 0 {
				q.Service[rw.t] = float32((old + rw.service*float64(rw.n)) / float64(total))
			}
		}
		q.Enqueued[rw.t] += rw.n
	}
	return tr, nil
}

// WriteCSV writes t in the format ParseCSV reads, skipping empty seconds but for a last row
// that keeps the length.
func WriteCSV(w io.Writer, t *Trace) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "time,queue,enqueued,service_seconds")
	names := t.QueueNames()
	for s := range t.Seconds {
		if t.down(s) {
			fmt.Fprintf(bw, "%d,%s,1,\n", s, OutageQueue)
		}
		for _, n := range names {
			q := t.Queues[n]
			if q.Enqueued[s] == 0 {
				continue
			}
			svc := ""
			if q.Service != nil && q.Service[s] > 0 {
				svc = strconv.FormatFloat(float64(q.Service[s]), 'g', -1, 32)
			}
			fmt.Fprintf(bw, "%d,%s,%d,%s\n", s, n, q.Enqueued[s], svc)
		}
	}
	if len(names) > 0 && t.Seconds > 0 {
		// An empty row keeps the trace's length when its last seconds are quiet.
		fmt.Fprintf(bw, "%d,%s,0,\n", t.Seconds-1, names[0])
	}
	return bw.Flush()
}
