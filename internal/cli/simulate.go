package cli

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/mastoscale/mastoscale/internal/simulate"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/spf13/cobra"
)

func newSimulateCommand(s Streams) *cobra.Command {
	var (
		lf       layoutFlags
		sf       simFlags
		compare  string
		plotPath string
		saveCSV  string
	)
	cmd := &cobra.Command{
		Use:   "simulate [-f layout.yaml | --preset NAME] --trace NAME|FILE.csv [--compare other.yaml] [--plot out.svg]",
		Short: "Replay a day of Sidekiq traffic through a layout: waits, pods, connections",
		Long: `simulate replays job arrivals per queue, one second at a time, through Sidekiq pods
(threads, weighted queue order, start-up delay, graceful scale-in), KEDA (polling,
activation, fallback during Redis outages) and the HPA (15 s sync, tolerance,
stabilization windows, scaling policies). It prints per worker the wait percentiles, the
seconds the oldest job was older than the latency goal, pod-minutes, peak pods and Postgres
connections, and an oracle: the fewest pod-minutes any scaler could have kept every job
under the goal with.

Traces: built-in ` + strings.Join(simulate.Generators, ", ") + `, or a CSV file
"time,queue,enqueued[,service_seconds]" (time in whole seconds from the start; rows of queue
` + simulate.OutageQueue + ` mark Redis outages), as "mastoscale status --record" writes.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return runSimulate(s, &lf, &sf, compare, plotPath, saveCSV)
		},
	}
	lf.register(cmd)
	sf.register(cmd)
	f := cmd.Flags()
	f.StringVar(&compare, "compare", "", "a second layout file to run over the same trace, shown side by side")
	f.StringVar(&plotPath, "plot", "", "write an SVG of queue depth, pods and wait over time to this file")
	f.StringVar(&saveCSV, "save-trace", "", "also write the trace as CSV to this file")
	return cmd
}

func runSimulate(s Streams, lf *layoutFlags, sf *simFlags, compare, plotPath, saveCSV string) error {
	trace, opts, err := sf.load(sf.seed)
	if err != nil {
		return err
	}
	if saveCSV != "" {
		if err := writeFileWith(saveCSV, func(w io.Writer) error { return simulate.WriteCSV(w, trace) }); err != nil {
			return err
		}
	}
	l, name, err := lf.load()
	if err != nil {
		return err
	}
	r, err := simulateLayout(name, l, trace, opts)
	if err != nil {
		return err
	}
	results := []*simulate.Result{r}
	if compare != "" {
		other, err := layout.Load(compare)
		if err != nil {
			return err
		}
		r, err := simulateLayout(compare, other, trace, opts)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	if err := simulate.WriteText(s.Out, results...); err != nil {
		return err
	}
	if plotPath != "" {
		if err := writeFileWith(plotPath, func(w io.Writer) error { return simulate.PlotSVG(w, results...) }); err != nil {
			return fmt.Errorf("plotting: %w", err)
		}
		fmt.Fprintf(s.Out, "\nplot written to %s\n", plotPath)
	}
	return nil
}

// writeFileWith creates path and writes it with write, closing it in every case.
func writeFileWith(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func simulateLayout(name string, l *layout.SidekiqLayout, trace *simulate.Trace, opts simulate.Options) (*simulate.Result, error) {
	d, report := layout.Prepare(l)
	if report.HasErrors() {
		return nil, fmt.Errorf("%s: %w", name, report.Err())
	}
	return simulate.Run(name, d, trace, opts)
}

// isTraceFile tells a CSV file from a built-in trace's name.
func isTraceFile(arg string) bool {
	return strings.HasSuffix(arg, ".csv") || strings.ContainsRune(arg, os.PathSeparator)
}

func loadTrace(arg string, seconds int, seed uint64) (*simulate.Trace, error) {
	if isTraceFile(arg) {
		f, err := os.Open(arg)
		if err != nil {
			return nil, fmt.Errorf("reading trace: %w", err)
		}
		defer f.Close()
		return simulate.ParseCSV(arg, f)
	}
	return simulate.Generate(arg, seconds, seed)
}

func parseService(s string) (map[string]float64, error) {
	out := map[string]float64{}
	if s == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		f, err := strconv.ParseFloat(v, 64)
		if !ok || k == "" || err != nil || f <= 0 {
			return nil, fmt.Errorf("--service: %q must be queue=seconds with positive seconds, e.g. push=0.8", kv)
		}
		out[k] = f
	}
	return out, nil
}
