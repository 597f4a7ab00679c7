package plan

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/mastoscale/mastoscale/pkg/layout"
)

// Defaults where neither the layout nor the options say.
const (
	DefaultLatency   = 30 * time.Second
	DefaultPerThread = layout.Rate(2) // the seed's assumption: a Mastodon job takes ~0.5 s
)

// Options give what the layout does not: a latency goal and throughput for workers without
// autoscale.latencyTarget / throughputPerThread, and peak arrival rates.
type Options struct {
	Latency   time.Duration
	PerThread layout.Rate
	// PerPod is the measured jobs/s of one pod; when set it replaces PerThread x concurrency.
	PerPod float64
	// Peak maps a worker name to its peak arrival rate in jobs/s; key "" applies to all.
	Peak map[string]float64
	// Workers limits the plan to these workers; empty means every autoscaled worker.
	Workers []string
}

// Binding names the constraint that limits a worker's scale.
type Binding string

const (
	BindsNothing     Binding = "none"         // enough replicas allowed for the peak
	BindsMaxReplicas Binding = "maxReplicas"  // the layout's maxReplicas is below the peak's need
	BindsBudget      Binding = "postgres"     // the connection budget allows fewer replicas than the peak needs
	BindsUnknownPeak Binding = "unknown peak" // no peak rate given
)

// Sizing is the plan of one worker.
type Sizing struct {
	Worker      string
	Concurrency int32
	Latency     time.Duration
	// LatencyFrom and ThroughputFrom say where the numbers came from: "layout" or "assumed".
	LatencyFrom, ThroughputFrom string
	PerThread                   float64 // jobs/s per thread (PerReplica / Concurrency when PerPod was given)
	PerReplica                  float64 // jobs/s per replica
	// ListLength is Little's law: PerReplica x Latency, the backlog per replica that a new job
	// waits through in at most Latency.
	ListLength int64
	// Configured is the layout's listLength, and WaitAtConfigured the wait of a job enqueued
	// behind a backlog of Configured per replica: Configured / PerReplica.
	Configured       int64
	WaitAtConfigured time.Duration
	Peak             float64 // jobs/s; 0 when unknown
	ReplicasForPeak  int32   // ceil(Peak / PerReplica)
	MaxReplicas      int32
	// BudgetReplicas is the most replicas the Postgres budget leaves for this worker with
	// every other worker at its maximum; -1 when no budget is set.
	BudgetReplicas int32
	Binds          Binding
}

// Plan is the sizing of a layout's autoscaled workers and its connection budget.
type Plan struct {
	Workers []Sizing
	Budget  layout.Budget
}

// Make plans the resolved layout l.
func Make(l *layout.Layout, o Options) (Plan, error) {
	p := Plan{Budget: layout.ConnectionBudget(l.Workers, l.Database)}
	for _, w := range l.Workers {
		if !w.Autoscaled || (len(o.Workers) > 0 && !slices.Contains(o.Workers, w.Name)) {
			continue
		}
		p.Workers = append(p.Workers, size(w, p.Budget, o))
	}
	for _, name := range o.Workers {
		if !containsFunc(p.Workers, name) {
			return p, fmt.Errorf("worker %q is not an autoscaled worker of the layout", name)
		}
	}
	return p, nil
}

func size(w layout.Workload, b layout.Budget, o Options) Sizing {
	a := w.Scaling
	z := Sizing{Worker: w.Name, Concurrency: w.Concurrency, MaxReplicas: a.MaxReplicas, Configured: a.ListLength}
	z.Latency, z.LatencyFrom = o.Latency, "assumed"
	if a.LatencyTarget > 0 {
		z.Latency, z.LatencyFrom = a.LatencyTarget, "layout"
	} else if z.Latency <= 0 {
		z.Latency = DefaultLatency
	}
	perThread, from := o.PerThread, "assumed"
	if a.ThroughputPerThread > 0 {
		perThread, from = layout.Rate(a.ThroughputPerThread), "layout"
	} else if perThread <= 0 {
		perThread = DefaultPerThread
	}
	z.ThroughputFrom = from
	z.PerThread = float64(perThread)
	z.PerReplica = float64(perThread) * float64(z.Concurrency)
	z.ListLength = layout.ListLengthForLatency(z.Concurrency, perThread, z.Latency)
	if o.PerPod > 0 && a.ThroughputPerThread <= 0 {
		z.PerReplica = o.PerPod
		z.PerThread = o.PerPod / float64(z.Concurrency)
		z.ThroughputFrom = "assumed per pod"
		z.ListLength = max(int64(math.Floor(o.PerPod*z.Latency.Seconds()+1e-9)), 1)
	}
	z.WaitAtConfigured = time.Duration(float64(z.Configured) / z.PerReplica * float64(time.Second)).Round(100 * time.Millisecond)
	z.Peak = o.Peak[w.Name]
	if z.Peak == 0 {
		z.Peak = o.Peak[""]
	}
	z.BudgetReplicas = -1
	if b.Max > 0 {
		others := b.Sidekiq
		for _, r := range b.Rows {
			if r.Worker == w.Name {
				others -= r.Connections
			}
		}
		free := int64(b.Max) - int64(b.Reserved) - others
		z.BudgetReplicas = int32(max(free, 0) / int64(z.Concurrency))
	}
	switch {
	case z.Peak <= 0:
		z.Binds = BindsUnknownPeak
	default:
		z.ReplicasForPeak = int32(math.Ceil(z.Peak/z.PerReplica - 1e-9))
		switch {
		case z.BudgetReplicas >= 0 && z.ReplicasForPeak > z.BudgetReplicas && z.BudgetReplicas <= z.MaxReplicas:
			z.Binds = BindsBudget
		case z.ReplicasForPeak > z.MaxReplicas:
			z.Binds = BindsMaxReplicas
		default:
			z.Binds = BindsNothing
		}
	}
	return z
}

// Write explains the plan in prose a person can check by hand.
func (p Plan) Write(w io.Writer) error {
	var b strings.Builder
	for i, z := range p.Workers {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "worker %s\n", z.Worker)
		fmt.Fprintf(&b, "  latency goal %s (%s); throughput %s jobs/s per thread (%s) x %d threads = %s jobs/s per replica\n",
			z.Latency, z.LatencyFrom, num(z.PerThread), z.ThroughputFrom, z.Concurrency, num(z.PerReplica))
		fmt.Fprintf(&b, "  Little's law: a replica works off %s jobs/s x %s = %d jobs within the goal, so listLength %d\n",
			num(z.PerReplica), z.Latency, z.ListLength, z.ListLength)
		switch {
		case z.Configured == z.ListLength:
			fmt.Fprintf(&b, "  listLength %d is right: a job enqueued behind %d jobs per replica starts after %s, the goal\n",
				z.Configured, z.Configured, z.WaitAtConfigured)
		case z.Configured > z.ListLength:
			fmt.Fprintf(&b, "  listLength %d is too long: a job enqueued behind %d jobs per replica waits %s, over the %s goal; set listLength %d\n",
				z.Configured, z.Configured, z.WaitAtConfigured, z.Latency, z.ListLength)
		default:
			fmt.Fprintf(&b, "  listLength %d is shorter than needed: jobs at that backlog wait only %s of the %s goal, so the worker scales out earlier than the goal asks (more pods); %d is enough\n",
				z.Configured, z.WaitAtConfigured, z.Latency, z.ListLength)
		}
		switch z.Binds {
		case BindsUnknownPeak:
			fmt.Fprintf(&b, "  peak: not given (--peak); maxReplicas %d serves up to %s jobs/s\n", z.MaxReplicas, num(float64(z.MaxReplicas)*z.PerReplica))
		default:
			fmt.Fprintf(&b, "  peak %s jobs/s needs ceil(%s / %s) = %d replicas; maxReplicas is %d\n",
				num(z.Peak), num(z.Peak), num(z.PerReplica), z.ReplicasForPeak, z.MaxReplicas)
		}
		if z.BudgetReplicas >= 0 {
			fmt.Fprintf(&b, "  Postgres: with the other workers at their maximum, the budget leaves room for %d replicas of %d connections\n",
				z.BudgetReplicas, z.Concurrency)
		} else {
			fmt.Fprintf(&b, "  Postgres: no budget set (spec.database.maxConnections); each replica holds %d connections\n", z.Concurrency)
		}
		switch z.Binds {
		case BindsNothing:
			fmt.Fprintf(&b, "  binds: nothing; %d replicas carry the peak within maxReplicas%s\n", z.ReplicasForPeak, budgetNote(z))
		case BindsMaxReplicas:
			fmt.Fprintf(&b, "  binds: maxReplicas; at the peak the backlog grows by %s jobs/s: raise maxReplicas to %d%s\n",
				num(z.Peak-float64(z.MaxReplicas)*z.PerReplica), z.ReplicasForPeak, budgetNote(z))
		case BindsBudget:
			fmt.Fprintf(&b, "  binds: the Postgres budget; it allows %d replicas, the peak needs %d: raise max_connections, put PgBouncer in front, or lower other workers' maxReplicas\n",
				z.BudgetReplicas, z.ReplicasForPeak)
		case BindsUnknownPeak:
			fmt.Fprintf(&b, "  binds: unknown without a peak rate\n")
		}
	}
	b.WriteString("\nNote: Little's law holds once the replicas are running. The HPA adds them only when the\n" +
		"backlog per replica stays 10% over listLength for a sync (15 s) and its scale-up stabilization\n" +
		"window; with the seed's 300 s window and one pod a minute a burst waits longer than the\n" +
		"goal first. `mastoscale simulate` replays a trace through exactly that.\n")
	fmt.Fprintf(&b, "\nPostgres connections at max replicas:\n%s", p.Budget)
	_, err := io.WriteString(w, b.String())
	return err
}

func budgetNote(z Sizing) string {
	if z.BudgetReplicas < 0 {
		return ""
	}
	if z.ReplicasForPeak <= z.BudgetReplicas {
		return fmt.Sprintf(", and the Postgres budget allows %d", z.BudgetReplicas)
	}
	return fmt.Sprintf(", but the Postgres budget allows only %d", z.BudgetReplicas)
}

func num(f float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", f), "0"), ".")
}

func containsFunc(zs []Sizing, n string) bool {
	for _, z := range zs {
		if z.Worker == n {
			return true
		}
	}
	return false
}
