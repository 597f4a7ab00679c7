package status

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mastoscale/mastoscale/pkg/layout"
)

// Status is a Snapshot read against a layout: per queue what waits and who consumes it, per
// worker what KEDA and the HPA would ask for now, and the warnings that matter.
type Status struct {
	Time      time.Time      `json:"time"`
	Namespace string         `json:"namespace,omitempty"`
	Queues    []QueueStatus  `json:"queues"`
	Workers   []WorkerStatus `json:"workers,omitempty"`
	Processes []Process      `json:"processes"`
	Retry     int64          `json:"retry"`
	Scheduled int64          `json:"scheduled"`
	Dead      int64          `json:"dead"`
	// Replicas and Connections are the sums over Workers.
	Replicas    int32    `json:"replicas,omitempty"`
	Connections int64    `json:"connections,omitempty"`
	Warnings    []string `json:"warnings"`
}

// QueueStatus is one queue now.
type QueueStatus struct {
	Name string `json:"name"`
	// Backlog is LLEN queue:<name>, what KEDA's redis scaler counts.
	Backlog int64 `json:"backlog"`
	// LatencySeconds is how long the oldest job has waited; 0 for an empty queue.
	LatencySeconds float64 `json:"latencySeconds"`
	// Consumers are the live, not quiet processes that fetch from the queue; Threads the sum of
	// their concurrency; Busy the threads running a job of this queue now.
	Consumers int   `json:"consumers"`
	Threads   int64 `json:"threads"`
	Busy      int64 `json:"busy"`
	// Workers are the layout's workers that list the queue.
	Workers []string `json:"workers,omitempty"`
}

// WorkerStatus is what the HPA of one worker would ask for now.
type WorkerStatus struct {
	Name string `json:"name"`
	// Autoscaled is false for a fixed-replica worker, whose Replicas is its fixed count.
	Autoscaled  bool     `json:"autoscaled"`
	Targets     []Target `json:"targets,omitempty"`
	MinReplicas int32    `json:"minReplicas"`
	MaxReplicas int32    `json:"maxReplicas"`
	// Processes are the live processes whose queue set is exactly the worker's: its pods now.
	Processes int `json:"processes"`
	// Replicas is the replica count KEDA and the HPA would ask for with the current backlog.
	Replicas    int32 `json:"replicas"`
	Concurrency int32 `json:"concurrency"`
	// Connections is Replicas x Concurrency: each thread holds one Postgres connection.
	Connections int64 `json:"connections"`
}

// Target is one redis trigger of a worker: the metric value and the HPA's AverageValue target.
type Target struct {
	Queue      string `json:"queue"`
	Backlog    int64  `json:"backlog"`
	ListLength int64  `json:"listLength"`
}

// String prints the target like kubectl's TARGETS column: "1567/1500".
func (t Target) String() string { return fmt.Sprintf("%d/%d", t.Backlog, t.ListLength) }

// Compute reads snap against l, a defaulted layout (layout.Prepare), or nil for none. A worker
// whose Concurrency is nil is one whose layout leaves the thread count to the release (attach):
// its live processes say what it runs. The warnings of Mastodon's rules are layout.Check's over
// the live processes (see ruleWarnings); those about the layout are comparisons with them.
func Compute(snap *Snapshot, l *layout.SidekiqLayout) Status {
	st := Status{
		Time: snap.Time, Namespace: snap.Namespace,
		Queues: []QueueStatus{}, Processes: snap.Processes, Retry: snap.Retry, Scheduled: snap.Scheduled, Dead: snap.Dead,
		Warnings: []string{},
	}
	if st.Processes == nil {
		st.Processes = []Process{}
	}
	version := layout.DefaultMastodonVersion
	if l != nil {
		if v, err := layout.ParseMastodonVersion(l.Spec.MastodonVersion); err == nil {
			version = v
		}
	}
	live := slices.DeleteFunc(slices.Clone(snap.Processes), func(p Process) bool { return p.Quiet })
	for _, name := range queueOrder(snap, version) {
		s := snap.Queues[name]
		q := QueueStatus{Name: name, Backlog: s.Backlog, Busy: s.Busy}
		q.LatencySeconds = s.queue().Latency(snap.Time)
		for _, p := range live {
			if slices.Contains(p.Queues, name) {
				q.Consumers++
				q.Threads += int64(p.Concurrency)
			}
		}
		if l != nil {
			for _, w := range l.Spec.Workers {
				if slices.ContainsFunc(w.Queues, func(wq layout.Queue) bool { return wq.Name == name }) {
					q.Workers = append(q.Workers, w.Name)
				}
			}
		}
		st.Queues = append(st.Queues, q)
	}
	if len(live) == 0 {
		st.Warnings = append(st.Warnings, idleWarning(len(snap.Processes)))
	} else {
		st.Warnings = append(st.Warnings, ruleWarnings(snap, l, live)...)
	}
	if l != nil {
		backlog := func(q string) int64 { return snap.Queues[q].Backlog }
		for i := range l.Spec.Workers {
			w := runningConcurrency(&l.Spec.Workers[i], live)
			ws, demand := WorkerReplicas(w, backlog)
			ws.Processes = len(processesOf(w, snap.Processes))
			st.Workers = append(st.Workers, ws)
			st.Replicas += ws.Replicas
			st.Connections += ws.Connections
			if ws.Autoscaled && demand > ws.MaxReplicas {
				st.Warnings = append(st.Warnings, fmt.Sprintf("worker %q: its backlog asks for %d replicas but maxReplicas is %d: each pod carries more than listLength jobs until it drains", w.Name, demand, ws.MaxReplicas))
			}
		}
		st.Warnings = append(st.Warnings, processWarnings(l, snap.Processes)...)
	}
	st.Warnings = append(st.Warnings, namespaceWarnings(snap, l)...)
	return st
}

// WorkerReplicas computes what KEDA and the HPA would ask for worker w (defaulted) given the
// backlog of each queue: for each trigger ceil(backlog / listLength), the maximum over the
// triggers, clamped to [max(minReplicas, 1), maxReplicas]; with minReplicas 0 and every backlog
// at or under activationListLength KEDA deactivates the worker: 0. It also returns the
// unclamped demand. The HPA's 10% tolerance needs the current replica count and is left out.
// A fixed-replica worker asks for its fixed count.
func WorkerReplicas(w *layout.Worker, backlog func(queue string) int64) (WorkerStatus, int32) {
	ws := WorkerStatus{Name: w.Name, Concurrency: deref(w.Concurrency)}
	if w.Autoscale == nil {
		ws.Replicas = deref(w.Replicas)
		if w.Replicas == nil {
			ws.Replicas = 1
		}
		ws.MinReplicas, ws.MaxReplicas = ws.Replicas, ws.Replicas
		ws.Connections = int64(ws.Replicas) * int64(ws.Concurrency)
		return ws, ws.Replicas
	}
	a := w.Autoscale
	ws.Autoscaled = true
	ws.MinReplicas, ws.MaxReplicas = deref(a.MinReplicas), deref(a.MaxReplicas)
	activation := int64(0)
	if a.ActivationListLength != nil {
		activation = *a.ActivationListLength
	}
	var demand int64
	active := false
	for _, q := range w.Queues {
		t := Target{Queue: q.Name, Backlog: backlog(q.Name), ListLength: w.ListLengthFor(q)}
		ws.Targets = append(ws.Targets, t)
		if t.ListLength > 0 {
			demand = max(demand, (t.Backlog+t.ListLength-1)/t.ListLength)
		}
		if t.Backlog > activation {
			active = true
		}
	}
	floor := max(int64(ws.MinReplicas), 1)
	replicas := min(max(demand, floor), int64(ws.MaxReplicas))
	if ws.MinReplicas == 0 && !active {
		replicas = 0
	}
	ws.Replicas = int32(replicas)
	ws.Connections = replicas * int64(ws.Concurrency)
	return ws, int32(min(demand, int64(^uint32(0)>>1)))
}

func deref(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

// queueOrder lists the snapshot's queues in catalogue order, then the others by name.
func queueOrder(snap *Snapshot, v layout.MastodonVersion) []string {
	var out []string
	for _, q := range layout.QueueNames(v) {
		if _, ok := snap.Queues[q]; ok {
			out = append(out, q)
		}
	}
	var rest []string
	for q := range snap.Queues {
		if !slices.Contains(out, q) {
			rest = append(rest, q)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

// processesOf returns the processes whose queue set is exactly w's.
func processesOf(w *layout.Worker, procs []Process) []Process {
	want := workerQueues(w)
	var out []Process
	for _, p := range procs {
		if slices.Equal(p.Queues, want) {
			out = append(out, p)
		}
	}
	return out
}

// workerQueues is w's queue set, sorted, as Process.Queues is.
func workerQueues(w *layout.Worker) []string {
	var names []string
	for _, q := range w.Queues {
		names = append(names, q.Name)
	}
	return uniqueSorted(names)
}

// idleWarning says that no live process consumes anything, of procs registered processes.
func idleWarning(procs int) string {
	what := "no live Sidekiq process is registered"
	if procs > 0 {
		what = fmt.Sprintf("all %d Sidekiq processes are quiet (stopping)", procs)
	}
	return what + ": nothing consumes any queue (is Sidekiq running, on this Redis, database and namespace?)"
}

// runningConcurrency is w with the thread count its live processes run when the layout leaves
// it to the release (Concurrency nil, see Compute): what Sidekiq registers is what Mastodon
// runs (-c, else SIDEKIQ_CONCURRENCY, else 5). Without live processes it is the layout's
// default, what a new worker runs.
func runningConcurrency(w *layout.Worker, live []Process) *layout.Worker {
	if w.Concurrency != nil {
		return w
	}
	c := *w
	n := int32(layout.DefaultConcurrency)
	if procs := processesOf(w, live); len(procs) > 0 {
		n = 0
		for _, p := range procs {
			n = max(n, p.Concurrency)
		}
	}
	c.Concurrency = &n
	return &c
}

// processWarnings compares the live processes with the layout's workers, one warning per
// worker and thread count, or per queue set no worker has.
func processWarnings(l *layout.SidekiqLayout, procs []Process) []string {
	type group struct {
		key string
		ids []string
	}
	var groups []*group
	add := func(key, id string) {
		for _, g := range groups {
			if g.key == key {
				g.ids = append(g.ids, id)
				return
			}
		}
		groups = append(groups, &group{key: key, ids: []string{id}})
	}
	sets := make([][]string, len(l.Spec.Workers))
	for i := range l.Spec.Workers {
		sets[i] = workerQueues(&l.Spec.Workers[i])
	}
	for _, p := range procs {
		i := slices.IndexFunc(sets, func(set []string) bool { return slices.Equal(set, p.Queues) })
		if i < 0 {
			add(fmt.Sprintf("{consume} [%s], the queue set of no worker of the layout", strings.Join(p.Queues, " ")), p.Identity)
			continue
		}
		w := &l.Spec.Workers[i]
		if w.Concurrency != nil && p.Concurrency != *w.Concurrency {
			add(fmt.Sprintf("(worker %q) {run} %d threads but the layout says %d", w.Name, p.Concurrency, *w.Concurrency), p.Identity)
		}
	}
	out := make([]string, len(groups))
	for i, g := range groups {
		verbs := strings.NewReplacer("{consume}", "consume", "{run}", "run")
		if len(g.ids) == 1 {
			verbs = strings.NewReplacer("{consume}", "consumes", "{run}", "runs")
		}
		out[i] = fmt.Sprintf("%s %s", processList(g.ids), verbs.Replace(g.key))
	}
	return out
}

func version(l *layout.SidekiqLayout) string {
	if l == nil {
		return ""
	}
	return l.Spec.MastodonVersion
}

func namespaceWarnings(snap *Snapshot, l *layout.SidekiqLayout) []string {
	var out []string
	source := "--namespace"
	if l != nil && l.Spec.Redis.Namespace == snap.Namespace {
		source = "spec.redis.namespace"
	}
	for _, p := range snap.OtherPrefixes {
		if p == "" {
			out = append(out, fmt.Sprintf("Redis also holds un-namespaced Sidekiq keys (queues) while namespace %q was read (%s): processes without REDIS_NAMESPACE (every Mastodon 4.4+) use those", snap.Namespace, source))
			continue
		}
		read := fmt.Sprintf("namespace %q", snap.Namespace)
		if snap.Namespace == "" {
			read = "no namespace"
		}
		if v, err := layout.ParseMastodonVersion(version(l)); l != nil && err == nil && !v.AllowsRedisNamespace() {
			out = append(out, fmt.Sprintf("Redis holds Sidekiq keys under namespace %q (%s:queues), but Mastodon %s ignores REDIS_NAMESPACE: they are leftovers of an older release; migrate the jobs or delete the keys", p, p, v))
			continue
		}
		out = append(out, fmt.Sprintf("Redis holds Sidekiq keys under namespace %q (%s:queues) while %s was read (%s): set spec.redis.namespace or --namespace %s if Sidekiq uses REDIS_NAMESPACE=%s", p, p, read, source, p, p))
	}
	return out
}
