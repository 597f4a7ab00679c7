package simulate

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteText writes the per-worker table of each result and, for two or more, a side-by-side
// summary of the totals.
func WriteText(w io.Writer, results ...*Result) error {
	if len(results) == 0 {
		return fmt.Errorf("no results")
	}
	r0 := results[0]
	fmt.Fprintf(w, "trace %s: %s at 1 s steps\n", r0.Trace, time.Duration(r0.Seconds)*time.Second)
	for _, r := range results {
		fmt.Fprintf(w, "\n%s\n", r.Layout)
		width := len("WORKER")
		for i := range r.Workers {
			width = max(width, len(r.Workers[i].Name))
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "%-*s\tGOAL\tJOBS\tP50 s\tP95 s\tP99 s\tMAX s\tS OVER GOAL\tPOD-MIN\tORACLE\tPEAK PODS\tPEAK CONN\t\n", width, "WORKER")
		for i := range r.Workers {
			x := &r.Workers[i]
			fmt.Fprintf(tw, "%-*s\t%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t%.0f\t%.0f\t%d\t%d\t\n",
				width, x.Name, time.Duration(x.Goal*float64(time.Second)), x.Jobs, x.P50, x.P95, x.P99, x.Max,
				x.SecondsOverGoal, x.PodMinutes, x.Oracle.PodMinutes, x.PeakReplicas, x.PeakConnections)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, q := range r.Unconsumed {
			fmt.Fprintf(w, "  queue %s: %d jobs enqueued and consumed by no worker\n", q.Queue, q.Jobs)
		}
		for i := range r.Workers {
			if x := &r.Workers[i]; x.Requeued > 0 {
				fmt.Fprintf(w, "  %s: %d jobs were still running when a stopping pod's -t ran out, and ran again: raise timeout and terminationGracePeriodSeconds, or slow scale-down\n", x.Name, x.Requeued)
			}
		}
		for i := range r.Workers {
			if x := &r.Workers[i]; x.Left > 0 {
				fmt.Fprintf(w, "  %s: %d jobs still queued at the end (counted with their wait so far)\n", x.Name, x.Left)
			}
		}
		fmt.Fprintf(w, "  all jobs: p99 wait %.1f s, max %.1f s; %.0f pod-minutes, %s the oracle's %.0f; peak Postgres connections %d%s\n",
			r.P99, r.Max, r.PodMinutes, ratio(r.PodMinutes, r.OraclePods), r.OraclePods, r.PeakConnections, budget(r))
	}
	if len(results) < 2 {
		return nil
	}
	return writeSummary(w, results)
}

// writeSummary writes the totals of two or more results side by side.
func writeSummary(w io.Writer, results []*Result) error {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(label string, cell func(*Result) string) {
		cells := []string{label}
		for _, r := range results {
			cells = append(cells, cell(r))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	row("", func(r *Result) string { return r.Layout })
	row("p50 wait", func(r *Result) string { return fmt.Sprintf("%.1f s", r.P50) })
	row("p99 wait", func(r *Result) string { return fmt.Sprintf("%.1f s", r.P99) })
	row("max wait", func(r *Result) string { return fmt.Sprintf("%.1f s", r.Max) })
	row("seconds over goal (sum)", func(r *Result) string {
		n := 0
		for _, x := range r.Workers {
			n += x.SecondsOverGoal
		}
		return fmt.Sprint(n)
	})
	row("pod-minutes", func(r *Result) string { return fmt.Sprintf("%.0f", r.PodMinutes) })
	row("oracle pod-minutes", func(r *Result) string { return fmt.Sprintf("%.0f", r.OraclePods) })
	row("pod-minutes / oracle", func(r *Result) string { return ratio(r.PodMinutes, r.OraclePods) })
	row("peak Postgres connections", func(r *Result) string { return fmt.Sprint(r.PeakConnections) })
	return tw.Flush()
}

func ratio(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

func budget(r *Result) string {
	if r.MaxConnections == 0 {
		return ""
	}
	verdict := "within"
	if r.PeakConnections > int64(r.MaxConnections) {
		verdict = "OVER"
	}
	return fmt.Sprintf(" (%s max_connections %d)", verdict, r.MaxConnections)
}
