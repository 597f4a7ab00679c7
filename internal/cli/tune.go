package cli

import (
	"fmt"
	"os"

	"github.com/mastoscale/mastoscale/internal/tune"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/spf13/cobra"
)

func newTuneCommand(s Streams) *cobra.Command {
	var (
		lf layoutFlags
		sf simFlags
		tf tuneFlags
	)
	cmd := &cobra.Command{
		Use:   "tune [-f layout.yaml | --preset NAME] --trace NAME|FILE.csv [--goal 30s] [--out tuned.yaml] [--plot front.svg]",
		Short: "Find the cheapest layout whose p99 waits meet a goal on a trace, within the Postgres budget",
		Long: `tune searches, for each autoscaled worker (the scheduler stays a single process), the
concurrency, minReplicas, maxReplicas, listLength and scale-up/scale-down pace with the fewest
pod-minutes whose p99 wait on the trace stays within the worker's goal (autoscale.latencyTarget,
else --goal), and picks the combination that fits spec.database.maxConnections at max
replicas. Each candidate is a simulate run; the search is coordinate descent from the input's
settings and from a fast start, deterministic for a seed, on all cores. The winner is run
again on another draw of the trace (a built-in trace with the next seed; a recorded one with
the next Sidekiq seed) and the report says if it misses the goal there.

It prints the outcome per worker, each worker's Pareto front (pod-minutes, p99, connections)
and writes the tuned layout, the input with only the tuned fields changed and commented, to
--out (or prints it alone with -o yaml). A goal that no layout within the budget meets is an
error naming the constraint that binds.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return runTune(s, &lf, &sf, tf)
		},
	}
	lf.register(cmd)
	sf.register(cmd)
	f := cmd.Flags()
	f.StringVarP(&tf.out, "out", "w", "", "write the tuned layout to this file")
	f.StringVarP(&tf.output, "output", "o", "text", "text (the report), json (report and layout) or yaml (the tuned layout only)")
	f.StringVar(&tf.plot, "plot", "", "write an SVG of each worker's Pareto front and of the tuned layout's run against the input's")
	f.Int32Var(&tf.maxConn, "max-connections", 0, "Postgres max_connections, replacing spec.database.maxConnections")
	f.Int32Var(&tf.reserved, "reserved", 0, "connections web and streaming hold, replacing spec.database.reserved (with --max-connections)")
	f.Int32Var(&tf.maxC, "max-concurrency", layout.MaxConcurrency, "most threads per process tune may pick (a worker's own concurrency stays a choice): keep it where throughputPerThread was measured")
	return cmd
}

// tuneFlags are tune's own flags.
type tuneFlags struct {
	out, output, plot       string
	maxConn, reserved, maxC int32
}

func runTune(s Streams, lf *layoutFlags, sf *simFlags, tf tuneFlags) error {
	switch tf.output {
	case "text", "json", "yaml":
	default:
		return fmt.Errorf("--output %q: use text, json or yaml", tf.output)
	}
	l, name, err := lf.load()
	if err != nil {
		return err
	}
	input, err := lf.document(l)
	if err != nil {
		return err
	}
	trace, simOpts, err := sf.load(sf.seed)
	if err != nil {
		return err
	}
	opts := tune.Options{Sim: simOpts, MaxConnections: tf.maxConn, Reserved: tf.reserved, MaxConcurrency: tf.maxC}
	if sf.builtin() {
		if opts.Verify, _, err = sf.load(sf.seed + 1); err != nil {
			return err
		}
		opts.VerifyLabel = fmt.Sprintf("the %s trace drawn with seed %d", trace.Name, sf.seed+1)
	}
	r, err := tune.Search(l, trace, opts)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	tuned, err := r.Edit(input)
	if err != nil {
		return err
	}
	return writeTune(s, r, tuned, tf.output, tf.out, tf.plot)
}

func writeTune(s Streams, r *tune.Result, tuned []byte, output, out, plotPath string) error {
	if out != "" {
		if err := os.WriteFile(out, tuned, 0o644); err != nil {
			return err
		}
	}
	if plotPath != "" {
		if err := writeFileWith(plotPath, r.PlotSVG); err != nil {
			return fmt.Errorf("plotting: %w", err)
		}
	}
	switch output {
	case "json":
		return r.WriteJSON(s.Out, tuned)
	case "yaml":
		_, err := s.Out.Write(tuned)
		return err
	}
	if err := r.WriteText(s.Out); err != nil {
		return err
	}
	switch {
	case out != "":
		fmt.Fprintf(s.Out, "\ntuned layout written to %s\n", out)
	default:
		fmt.Fprintln(s.Out, "\n(the tuned layout: --out FILE, or -o yaml)")
	}
	if plotPath != "" {
		fmt.Fprintf(s.Out, "plot written to %s\n", plotPath)
	}
	return nil
}
