package simulate

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// csvRow is one parsed row of a CSV trace.
type csvRow struct {
	t       int
	queue   string
	n       int64
	service float64
}

// ParseCSV reads a trace in the format `mastoscale status --record` writes:
// `time,queue,enqueued[,service_seconds]`, time in whole seconds since the start. A header line
// is optional; rows for the same second and queue add up (their service times are averaged,
// weighted by jobs). Rows of queue OutageQueue mark Redis outages. A trace beyond the bounds
// (MaxTraceSeconds, MaxTraceCells, MaxTraceJobs, MinServiceSeconds..MaxServiceSeconds) is
// refused, naming the row and field, before its per-second series are allocated.
func ParseCSV(name string, r io.Reader) (*Trace, error) {
	var rows []csvRow
	maxT := -1
	queues := map[string]bool{}
	var jobs int64
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") || (line == 1 && strings.HasPrefix(text, "time,")) {
			continue
		}
		rw, err := parseCSVRow(text)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if rw.queue != OutageQueue {
			queues[rw.queue] = true
			if jobs += rw.n; jobs > MaxTraceJobs {
				return nil, fmt.Errorf("%s:%d: enqueued: the trace holds more than %d jobs (MaxTraceJobs); split it", name, line, MaxTraceJobs)
			}
		}
		maxT = max(maxT, rw.t)
		if cells := int64(maxT+1) * int64(max(len(queues), 1)); cells > MaxTraceCells {
			return nil, fmt.Errorf("%s:%d: time, queue: %d seconds x %d queues is more than %d cells (MaxTraceCells); shorten the trace or drop queues",
				name, line, maxT+1, len(queues), MaxTraceCells)
		}
		rows = append(rows, rw)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if maxT < 0 {
		return nil, fmt.Errorf("%s: the trace has no rows", name)
	}
	return buildTrace(name, maxT+1, rows), nil
}

// parseCSVRow reads one row; its error names the field.
func parseCSVRow(text string) (csvRow, error) {
	f := strings.Split(text, ",")
	if len(f) != 3 && len(f) != 4 {
		return csvRow{}, fmt.Errorf("want time,queue,enqueued[,service_seconds], got %d fields", len(f))
	}
	t, err := strconv.Atoi(strings.TrimSpace(f[0]))
	if err != nil || t < 0 || t >= MaxTraceSeconds {
		return csvRow{}, fmt.Errorf("time %q must be whole seconds since the start, 0 to %d (MaxTraceSeconds)", f[0], MaxTraceSeconds-1)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(f[2]), 10, 64)
	if err != nil || n < 0 || n > MaxTraceJobs {
		return csvRow{}, fmt.Errorf("enqueued %q must be a count of jobs, 0 to %d (MaxTraceJobs)", f[2], MaxTraceJobs)
	}
	rw := csvRow{t: t, queue: strings.TrimSpace(f[1]), n: n}
	if rw.queue == "" {
		return csvRow{}, fmt.Errorf("the queue name is empty")
	}
	if len(f) == 4 && strings.TrimSpace(f[3]) != "" {
		rw.service, err = strconv.ParseFloat(strings.TrimSpace(f[3]), 64)
		if err != nil || !validService(rw.service) {
			return csvRow{}, fmt.Errorf("service_seconds %q must be a number of seconds from %g to %d (MaxServiceSeconds)", f[3], MinServiceSeconds, MaxServiceSeconds)
		}
	}
	return rw, nil
}

// validService reports whether s is a finite service time within the bounds.
func validService(s float64) bool {
	return !math.IsNaN(s) && s >= MinServiceSeconds && s <= MaxServiceSeconds
}

// buildTrace adds up rows already checked against the bounds.
func buildTrace(name string, seconds int, rows []csvRow) *Trace {
	tr := &Trace{Name: name, Seconds: seconds, Queues: map[string]*QueueTrace{}}
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
	return tr
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
