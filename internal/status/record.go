package status

import (
	"encoding/csv"
	"fmt"
	"github.com/mastoscale/mastoscale/internal/simulate"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Arrivals estimates, per queue, how many jobs were pushed onto the queue between two snapshots
// of the same Redis (cur read with prev as ReadOptions.Previous). Sidekiq stores no per-queue
// enqueue counter, so the estimate combines what it does store:
//
//  1. Exact when the list still holds prev's newest job (its head). Sidekiq pushes at the head
//     and fetches from the tail, so the jobs in front of the old head are exactly the jobs
//     pushed since: arrivals = LPOS(old head). New jobs, retries and scheduled jobs coming due
//     all count, as they are all pushed.
//  2. Otherwise the queue drained past its old head (or was empty): at least the current
//     backlog arrived, plus jobs that arrived and were fetched within the interval. Those are
//     estimated from Sidekiq's global `stat:processed` counter: its increase, minus the
//     fetches the exact queues account for (arrivals - backlog increase) and minus the old
//     backlogs of the drained queues, is split among the drained queues by their busy threads
//     in both snapshots, or by the threads that can fetch them when none was busy.
//
// Case 1 is exact. Case 2 counts started jobs as processed ones and relies on a counter Sidekiq
// flushes every heartbeat (10 s), so with short intervals it lags and lumps; use an interval of
// 10 s or more where queues keep up, or read the totals over many intervals.
func Arrivals(prev, cur *Snapshot) map[string]int64 {
	out := map[string]int64{}
	var explained int64
	var drained []string
	for q, c := range cur.Queues {
		p := prev.Queues[q]
		if c.MarkerIndex >= 0 {
			out[q] = c.MarkerIndex
			explained += c.MarkerIndex - (c.Backlog - p.Backlog)
			continue
		}
		out[q] = c.Backlog
		explained += p.Backlog
		drained = append(drained, q)
	}
	slices.Sort(drained)
	rest := cur.Processed - prev.Processed - explained
	if rest <= 0 || len(drained) == 0 {
		return out
	}
	weights := make([]float64, len(drained))
	var total float64
	for i, q := range drained {
		weights[i] = float64(prev.Queues[q].Busy + cur.Queues[q].Busy)
		total += weights[i]
	}
	if total == 0 {
		for i, q := range drained {
			weights[i] = float64(fetchThreads(cur, q))
			total += weights[i]
		}
	}
	if total == 0 {
		return out // nothing can fetch these queues: the processed jobs came from elsewhere
	}
	for q, n := range apportion(rest, weights, total) {
		out[drained[q]] += n
	}
	return out
}

// fetchThreads is the concurrency of the live processes consuming queue q.
func fetchThreads(s *Snapshot, q string) int64 {
	var n int64
	for _, p := range s.Processes {
		if !p.Quiet && slices.Contains(p.Queues, q) {
			n += int64(p.Concurrency)
		}
	}
	return n
}

// apportion splits n into integers proportional to weights (largest remainder), summing to n.
func apportion(n int64, weights []float64, total float64) []int64 {
	out := make([]int64, len(weights))
	rem := make([]float64, len(weights))
	var given int64
	for i, w := range weights {
		exact := float64(n) * w / total
		out[i] = int64(math.Floor(exact))
		rem[i] = exact - float64(out[i])
		given += out[i]
	}
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case rem[a] > rem[b]:
			return -1
		case rem[a] < rem[b]:
			return 1
		}
		return 0
	})
	for i := 0; given < n; i = (i + 1) % len(order) {
		out[order[i]]++
		given++
	}
	return out
}

// TraceHeader is the header of the trace CSV the simulator reads.
var TraceHeader = []string{"time", "queue", "enqueued"}

// TraceWriter appends arrival samples to a trace CSV: `time,queue,enqueued`, one row per second
// and queue, zeros included, where time is whole seconds since the recording started and enqueued
// the jobs pushed onto the queue in that second. An interval's arrivals (see Arrivals) are spread
// evenly over its seconds: the readings cannot tell when within an interval a job came.
type TraceWriter struct {
	w      *csv.Writer
	start  time.Time
	offset int64
}

// NewTraceWriter starts a trace at start. When appending to an existing trace, give its end (see
// TraceEnd) as offset and header false: times continue from there, so the file stays one trace.
func NewTraceWriter(w io.Writer, start time.Time, offset int64, header bool) (*TraceWriter, error) {
	tw := &TraceWriter{w: csv.NewWriter(w), start: start, offset: offset}
	if header {
		if err := tw.w.Write(TraceHeader); err != nil {
			return nil, err
		}
		tw.w.Flush()
	}
	return tw, tw.w.Error()
}

// second is t in whole seconds of the trace.
func (tw *TraceWriter) second(t time.Time) int64 {
	return tw.offset + int64(t.Sub(tw.start).Round(time.Second)/time.Second)
}

// Write appends the arrivals between prev and cur, spread over the seconds between them.
func (tw *TraceWriter) Write(prev, cur *Snapshot) error {
	arrivals := Arrivals(prev, cur)
	queues := make([]string, 0, len(arrivals))
	for q := range arrivals {
		queues = append(queues, q)
	}
	slices.Sort(queues)
	from, to := tw.second(prev.Time), tw.second(cur.Time)
	n := max(to-from, 1)
	for i := range n {
		at := strconv.FormatInt(from+i, 10)
		for _, q := range queues {
			// The i-th second gets the jobs the even spread puts up to its end, minus those before.
			jobs := arrivals[q]*(i+1)/n - arrivals[q]*i/n
			if err := tw.w.Write([]string{at, q, strconv.FormatInt(jobs, 10)}); err != nil {
				return fmt.Errorf("writing the trace: %w", err)
			}
		}
	}
	tw.w.Flush()
	return tw.w.Error()
}

// Outage marks the seconds from from to to (excluded) as Redis being unreadable.
func (tw *TraceWriter) Outage(from, to time.Time) error {
	for t := tw.second(from); t < max(tw.second(to), tw.second(from)+1); t++ {
		if err := tw.w.Write([]string{strconv.FormatInt(t, 10), simulate.OutageQueue, "1"}); err != nil {
			return fmt.Errorf("writing the trace: %w", err)
		}
	}
	tw.w.Flush()
	return tw.w.Error()
}

// TraceEnd reads an existing trace and returns the second after its last row, where an appended
// recording continues; 0 for an empty trace.
func TraceEnd(r io.Reader) (int64, error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return 0, fmt.Errorf("reading the trace: %w", err)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	if !slices.Equal(rows[0][:min(len(rows[0]), 3)], TraceHeader) {
		return 0, fmt.Errorf("not a trace: the header is %q, not %q", strings.Join(rows[0], ","), strings.Join(TraceHeader, ","))
	}
	end := int64(0)
	for i, row := range rows[1:] {
		t, err := strconv.ParseInt(row[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("reading the trace: line %d: time %q is not whole seconds", i+2, row[0])
		}
		end = max(end, t+1)
	}
	return end, nil
}
