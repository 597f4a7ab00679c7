package cli

import (
	"strings"
	"time"

	"github.com/mastoscale/mastoscale/internal/simulate"
	"github.com/spf13/cobra"
)

// simFlags are the flags simulate and tune share: the trace and how Sidekiq runs it.
type simFlags struct {
	trace    string
	seed     uint64
	duration time.Duration
	startup  int
	goal     time.Duration
	service  string
}

func (f *simFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.trace, "trace", "diurnal", "built-in trace ("+strings.Join(simulate.Generators, ", ")+") or a CSV file")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of the built-in traces' arrivals and of Sidekiq's weighted queue order")
	fl.DurationVar(&f.duration, "duration", 0, "length of a built-in trace (default: the trace's own, e.g. 24h for diurnal)")
	fl.IntVar(&f.startup, "startup", simulate.DefaultStartup, "seconds from scale-up to a pod fetching jobs")
	fl.DurationVar(&f.goal, "goal", simulate.DefaultLatencyGoal, "latency goal of workers without autoscale.latencyTarget")
	fl.StringVar(&f.service, "service", "", "service seconds per job by queue, e.g. push=0.8,ingress=0.3 (default table: default/push/ingress/fasp 0.5, mailers/pull 1, scheduler 2)")
}

// builtin reports whether the trace is a generator's rather than a file.
func (f *simFlags) builtin() bool { return !isTraceFile(f.trace) }

// load returns the trace drawn with seed (a file ignores it) and the simulation options.
func (f *simFlags) load(seed uint64) (*simulate.Trace, simulate.Options, error) {
	svc, err := parseService(f.service)
	if err != nil {
		return nil, simulate.Options{}, err
	}
	trace, err := loadTrace(f.trace, int(f.duration/time.Second), seed)
	if err != nil {
		return nil, simulate.Options{}, err
	}
	opts := simulate.Options{Seed: seed, StartupSeconds: f.startup, Service: svc, LatencyGoal: f.goal}
	if f.startup == 0 {
		opts.StartupSeconds = -1 // --startup 0: pods are ready at once
	}
	return trace, opts, nil
}
