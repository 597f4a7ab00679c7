package status

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mastoscale/mastoscale/pkg/layout"
)

// liveGroup is the live processes with one queue set and thread count: one workload for the
// Mastodon rules, its processes as its replicas.
type liveGroup struct {
	queues      []string
	concurrency int32
	ids         []string
	worker      int // the layout worker with this queue set, or -1
}

// ruleWarnings applies the Mastodon rules (layout.Check, the one rule set the layout's
// validation, lint and fn --verify apply too) to what the live processes run: the scheduler's
// single consumer, the queues nobody consumes, thread counts, the database pool, REDIS_NAMESPACE
// and, with a layout, the connection budget.
func ruleWarnings(snap *Snapshot, l *layout.SidekiqLayout, live []Process) []string {
	groups := liveGroups(l, live)
	in := layout.Installation{Complete: true, Where: liveLocator{groups: groups}}
	if l != nil {
		in.Database = l.Spec.Database
		if v, err := layout.ParseMastodonVersion(l.Spec.MastodonVersion); err == nil {
			in.Version, in.VersionKnown = v, true
		}
	}
	for q := range snap.Queues {
		in.Queues = append(in.Queues, q)
	}
	slices.Sort(in.Queues)
	for _, g := range groups {
		in.Workloads = append(in.Workloads, g.workload(l, snap.Namespace))
	}
	var out []string
	for _, f := range layout.Check(in) {
		out = append(out, f.String())
	}
	return out
}

// liveGroups groups the live processes by queue set and thread count, in identity order.
func liveGroups(l *layout.SidekiqLayout, live []Process) []*liveGroup {
	var groups []*liveGroup
	for _, p := range live {
		i := slices.IndexFunc(groups, func(g *liveGroup) bool {
			return g.concurrency == p.Concurrency && slices.Equal(g.queues, p.Queues)
		})
		if i >= 0 {
			groups[i].ids = append(groups[i].ids, p.Identity)
			continue
		}
		g := &liveGroup{queues: p.Queues, concurrency: p.Concurrency, ids: []string{p.Identity}, worker: -1}
		if l != nil {
			g.worker = slices.IndexFunc(l.Spec.Workers, func(w layout.Worker) bool { return slices.Equal(workerQueues(&w), p.Queues) })
		}
		groups = append(groups, g)
	}
	return groups
}

// workload describes g for the rules. Its processes run under the namespace they were read
// in. When the layout states the worker's concurrency, the layout's pods carry DB_POOL at that
// count (the post-renderer sets it), so more threads than that starve.
func (g *liveGroup) workload(l *layout.SidekiqLayout, namespace string) layout.Workload {
	wl := layout.Workload{
		Name: processList(g.ids), Concurrency: g.concurrency, ConcurrencyFrom: "the process registry",
		Replicas: int32(len(g.ids)), RedisNamespace: namespace,
	}
	for _, q := range g.queues {
		wl.Queues = append(wl.Queues, layout.WorkloadQueue{Name: q})
	}
	if g.worker >= 0 {
		w := l.Spec.Workers[g.worker]
		wl.Name = w.Name
		if w.Concurrency != nil {
			wl.DBPool = *w.Concurrency
			wl.DBPoolFrom = fmt.Sprintf("DB_POOL of the layout's worker %q", w.Name)
		}
	}
	return wl
}

// liveLocator locates the findings of the rules at the processes they are about.
type liveLocator struct{ groups []*liveGroup }

func (lc liveLocator) Worker(w int, _ layout.Part, _ int) layout.Location {
	return layout.Location{Field: processList(lc.groups[w].ids)}
}

func (liveLocator) Workers() layout.Location {
	return layout.Location{Field: "the live processes"}
}

func (liveLocator) Budget() layout.Location {
	return layout.Location{Layout: "spec.database.maxConnections"}
}

// processList names up to three processes: "process a", "processes a, b and 3 more".
func processList(ids []string) string {
	if len(ids) == 1 {
		return "process " + ids[0]
	}
	shown := ids[:min(len(ids), 3)]
	list := strings.Join(shown, ", ")
	if more := len(ids) - len(shown); more > 0 {
		list += fmt.Sprintf(" and %d more", more)
	}
	return fmt.Sprintf("%d processes %s", len(ids), list)
}
