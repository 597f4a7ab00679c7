package tune

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// frontRows is how many rows of a worker's Pareto front the text report shows (-o json has
// all).
const frontRows = 12

// WriteText writes the outcome per worker, the totals before and after, the re-simulation's
// verdict and each tuned worker's Pareto front.
func (r *Result) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "trace %s: %s at 1 s steps; %d candidates simulated in %.1f s; Sidekiq's Postgres budget at max replicas %d connections\n\n",
		r.Trace, time.Duration(r.Before.Seconds)*time.Second, r.Candidates, r.Elapsed.Seconds(), r.Budget)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKER\tGOAL\tP99 S\tPOD-MIN\tORACLE\tCONN AT MAX\tCHANGED")
	for _, o := range r.Workers {
		changed := o.Why
		if o.Tuned {
			changed = r.changes(o)
		}
		fmt.Fprintf(tw, "%s\t%gs\t%s\t%s\t%.0f\t%s\t%s\n", o.Name, o.Goal,
			arrow("%.1f", o.Before.P99, o.After.P99), arrow("%.0f", o.Before.PodMinutes, o.After.PodMinutes),
			o.Oracle, arrowInt(o.Before.Connections, o.After.Connections, o.Tuned), changed)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nall workers: %.0f -> %.0f pod-minutes (the oracle's lower bound %.0f); p99 wait of all jobs %.1f -> %.1f s; peak Postgres connections %d -> %d\n",
		r.Before.PodMinutes, r.After.PodMinutes, r.Before.OraclePods, r.Before.P99, r.After.P99,
		r.Before.PeakConnections, r.After.PeakConnections)
	var held int64
	for _, o := range r.Workers {
		held += o.Before.Connections
	}
	if held > r.Budget {
		fmt.Fprintf(w, "the input's tuned workers hold %d connections at max replicas, over the budget's %d: the tuned layout fits it\n", held, r.Budget)
	}
	if misses := r.VerifyMisses(); len(misses) > 0 {
		fmt.Fprintf(w, "re-simulated on %s: the winner MISSES the goal there:\n  %s\n", r.verifyLabel, strings.Join(misses, "\n  "))
	} else {
		fmt.Fprintf(w, "re-simulated on %s: %.0f pod-minutes, every worker within its goal (p99 of all jobs %.1f s)\n",
			r.verifyLabel, r.Verify.PodMinutes, r.Verify.P99)
	}
	for _, o := range r.Workers {
		if o.Tuned {
			if err := writeFront(w, o); err != nil {
				return err
			}
		}
	}
	return nil
}

// changes lists the knobs of o that the winner changes, "nothing" when none.
func (r *Result) changes(o WorkerOutcome) string {
	b, a := o.Before.Knobs, o.After.Knobs
	var out []string
	add := func(name string, x, y int64) {
		if x != y {
			out = append(out, fmt.Sprintf("%s %d->%d", name, x, y))
		}
	}
	add("concurrency", int64(b.Concurrency), int64(a.Concurrency))
	add("minReplicas", int64(b.MinReplicas), int64(a.MinReplicas))
	add("maxReplicas", int64(b.MaxReplicas), int64(a.MaxReplicas))
	add("listLength", b.ListLength, a.ListLength)
	if o.Before.Pace != o.After.Pace {
		out = append(out, "pace "+o.After.Pace)
	}
	if len(out) == 0 {
		return "nothing: the input is the cheapest found"
	}
	return strings.Join(out, ", ")
}

func writeFront(w io.Writer, o WorkerOutcome) error {
	fmt.Fprintf(w, "\n%s: Pareto front of %d candidates (pod-minutes, p99, connections at max replicas; * the winner, oracle %.0f pod-minutes)\n",
		o.Name, o.Evaluated, o.Oracle)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tPOD-MIN\tP99 S\tCONN\tGOAL\tCONCURRENCY\tREPLICAS\tLISTLENGTH\tPACE\t")
	rows := frontNear(o)
	for _, e := range rows {
		mark := ""
		if e.Knobs == o.After.Knobs {
			mark = "*"
		}
		verdict := "meets"
		if !e.Meets {
			verdict = "misses"
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.1f\t%d\t%s\t%d\t%d..%d\t%d\t%s\t\n", mark, e.PodMinutes, e.P99, e.Connections,
			verdict, e.Knobs.Concurrency, e.Knobs.MinReplicas, e.Knobs.MaxReplicas, e.Knobs.ListLength, e.Pace)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if n := len(o.Front) - len(rows); n > 0 {
		fmt.Fprintf(w, "  (%d more on the front, far from the goal or the winner: -o json lists them all)\n", n)
	}
	return nil
}

func arrow(f string, a, b float64) string {
	x, y := fmt.Sprintf(f, a), fmt.Sprintf(f, b)
	if x == y {
		return x
	}
	return x + " -> " + y
}

func arrowInt(a, b int64, tuned bool) string {
	if !tuned {
		return "-"
	}
	return arrow("%.0f", float64(a), float64(b))
}

// WriteJSON writes the result and the tuned layout document.
func (r *Result) WriteJSON(w io.Writer, tunedLayout []byte) error {
	out := struct {
		*Result
		BeforePodMinutes float64  `json:"beforePodMinutes"`
		AfterPodMinutes  float64  `json:"afterPodMinutes"`
		AfterP99         float64  `json:"afterP99Seconds"`
		VerifyPodMinutes float64  `json:"verifyPodMinutes"`
		VerifyP99        float64  `json:"verifyP99Seconds"`
		VerifyMisses     []string `json:"verifyMisses"`
		Layout           string   `json:"layout"`
	}{r, r.Before.PodMinutes, r.After.PodMinutes, r.After.P99, r.Verify.PodMinutes, r.Verify.P99,
		r.VerifyMisses(), string(tunedLayout)}
	if out.VerifyMisses == nil {
		out.VerifyMisses = []string{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// frontNear is the part of o's front the text shows: p99 within 4x the goal, at most frontRows
// rows around the winner.
func frontNear(o WorkerOutcome) []Eval {
	var rows []Eval
	win := 0
	for _, e := range o.Front {
		if e.P99 <= 4*o.Goal || e.Knobs == o.After.Knobs {
			if e.Knobs == o.After.Knobs {
				win = len(rows)
			}
			rows = append(rows, e)
		}
	}
	if len(rows) <= frontRows {
		return rows
	}
	from := min(max(0, win-frontRows/2), len(rows)-frontRows)
	return rows[from : from+frontRows]
}
