package status

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable prints st as the tables `mastoscale status` shows: queues, then workers (with a
// layout), then warnings.
func WriteTable(w io.Writer, st Status) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "QUEUE\tBACKLOG\tLATENCY\tCONSUMERS\tTHREADS\tBUSY")
	for _, q := range st.Queues {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%d\n", q.Name, q.Backlog, latency(q), q.Consumers, q.Threads, q.Busy)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "retry %d, scheduled %d, dead %d; %d processes\n", st.Retry, st.Scheduled, st.Dead, len(st.Processes))
	if len(st.Workers) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "WORKER\tTARGETS\tMIN\tMAX\tPODS\tREPLICAS\tCONNECTIONS")
		for _, ws := range st.Workers {
			targets, lo, hi := "fixed", fmt.Sprint(ws.MinReplicas), fmt.Sprint(ws.MaxReplicas)
			if ws.Autoscaled {
				parts := make([]string, len(ws.Targets))
				for i, t := range ws.Targets {
					parts[i] = t.String()
				}
				targets = strings.Join(parts, ",")
			} else {
				lo, hi = "-", "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\n", ws.Name, targets, lo, hi, ws.Processes, ws.Replicas, ws.Connections)
		}
		fmt.Fprintf(tw, "total\t\t\t\t\t%d\t%d\n", st.Replicas, st.Connections)
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(st.Warnings) > 0 {
		fmt.Fprintln(w)
		for _, warn := range st.Warnings {
			fmt.Fprintf(w, "warning: %s\n", warn)
		}
	}
	return nil
}

// latency prints a queue's latency rounded to what a person reads: "-" for an empty queue.
func latency(q QueueStatus) string {
	if q.Backlog == 0 {
		return "-"
	}
	d := time.Duration(q.LatencySeconds * float64(time.Second))
	if d < time.Minute {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// WriteJSON prints st as one indented JSON document.
func WriteJSON(w io.Writer, st Status) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(st)
}

// WriteJSONLine prints st as one line of JSON, for a stream of readings.
func WriteJSONLine(w io.Writer, st Status) error { return json.NewEncoder(w).Encode(st) }
