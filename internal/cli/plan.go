package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mastoscale/mastoscale/internal/plan"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/spf13/cobra"
)

func newPlanCommand(s Streams) *cobra.Command {
	var (
		lf        layoutFlags
		latency   time.Duration
		perThread float64
		perPod    float64
		peak      string
		workers   []string
	)
	cmd := &cobra.Command{
		Use:   "plan [-f layout.yaml | --preset NAME] [--latency 30s] [--throughput-per-thread 2 | --throughput-per-pod 50] [--peak [WORKER=]JOBS_PER_S,...]",
		Short: "Size listLength and maxReplicas from a latency goal, and check the Postgres budget",
		Long: `plan explains, for each autoscaled worker, the listLength that keeps jobs under a latency
goal (Little's law: backlog per replica = throughput per replica x goal), whether the
layout's listLength meets it, the replicas a peak arrival rate needs, and whether
maxReplicas or the Postgres connection budget binds first. A worker's
autoscale.latencyTarget and throughputPerThread win over the flags.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			peaks, err := parsePeaks(peak)
			if err != nil {
				return err
			}
			if perThread < 0 || perPod < 0 || latency < 0 {
				return fmt.Errorf("--latency, --throughput-per-thread and --throughput-per-pod must be positive")
			}
			l, name, err := lf.load()
			if err != nil {
				return err
			}
			d, report, err := layout.Resolve(l)
			if err != nil {
				writeReport(s.ErrOut, name, report)
				return &ExitError{Code: 1}
			}
			p, err := plan.Make(d, plan.Options{Latency: latency, PerThread: layout.Rate(perThread), PerPod: perPod, Peak: peaks, Workers: workers})
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			fmt.Fprintf(s.Out, "plan for %s\n\n", name)
			return p.Write(s.Out)
		},
	}
	lf.register(cmd)
	f := cmd.Flags()
	f.DurationVar(&latency, "latency", plan.DefaultLatency, "how long a job may wait, for workers without autoscale.latencyTarget")
	f.Float64Var(&perThread, "throughput-per-thread", float64(plan.DefaultPerThread), "measured jobs/s of one Sidekiq thread, for workers without autoscale.throughputPerThread")
	f.Float64Var(&perPod, "throughput-per-pod", 0, "measured jobs/s of one pod; replaces --throughput-per-thread x concurrency")
	f.StringVar(&peak, "peak", "", "peak arrival rate in jobs/s: a number for every worker, or worker=rate,...")
	f.StringSliceVar(&workers, "worker", nil, "plan only these workers")
	return cmd
}

func parsePeaks(s string) (map[string]float64, error) {
	out := map[string]float64{}
	if s == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			k, v = "", kv
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f <= 0 {
			return nil, fmt.Errorf("--peak: %q must be a positive jobs/s, or worker=jobs/s", kv)
		}
		out[strings.TrimSpace(k)] = f
	}
	return out, nil
}
