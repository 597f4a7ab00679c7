package layout

import (
	"fmt"
	"strconv"
	"strings"
)

// Rule identifiers of the Mastodon rules Check applies.
const (
	RuleSchedulerShared     = "scheduler-shared"
	RuleSchedulerAutoscaled = "scheduler-autoscaled"
	RuleSchedulerMissing    = "scheduler-missing"
	RuleQueueUnconsumed     = "queue-unconsumed"
	RuleQueueShared         = "queue-shared"
	RuleGracePeriod         = "grace-period"
	RuleConnectionBudget    = "connection-budget"
	RuleRedisNamespace      = "redis-namespace"
	RuleConcurrency         = "concurrency"
	RuleDBPool              = "db-pool"
	RuleAlwaysOn            = "always-on"
	RuleSleeping            = "sleeping-worker"
)

// WarnConcurrency is where Sidekiq's gains per thread flatten: more processes beat more threads.
const WarnConcurrency = 30

// Installation is the Sidekiq of one Mastodon as the rules see it: the workers of a layout, or
// what the Deployments of a manifest set (or the live processes of a Redis) run.
type Installation struct {
	// Version is the Mastodon version the workers run, when VersionKnown.
	Version      MastodonVersion
	VersionKnown bool
	Workloads    []Workload
	// Database is the Postgres connection budget; MaxConnections 0 disables the check.
	Database Database
	// Complete says the workloads are all the installation runs, so a queue or a scheduler
	// nobody consumes is a problem, not a consumer elsewhere.
	Complete bool
	// Queues are queues besides the version's catalogue that must be consumed when Complete:
	// the queues a Redis holds, say.
	Queues []string
	// Where locates the findings.
	Where Locator
}

// Part is what of a worker a finding is about, for a Locator to turn into a location.
type Part int

// Parts of a worker.
const (
	PartWorker Part = iota
	PartQueue       // one queue: index is the queue's
	PartConcurrency
	PartTimeout
	PartGracePeriod
	PartReplicas
	PartAutoscaler
	PartMinReplicas
	PartMaxReplicas
	PartRedisNamespace
	PartDBPool
)

// Locator says where the parts of an installation are written: the fields of a layout, or
// the Deployments and ScaledObjects of manifests.
type Locator interface {
	// Worker locates part of workload w (index is the queue's, for PartQueue).
	Worker(w int, part Part, index int) Location
	// Workers locates the installation's list of workers, for findings about all of them.
	Workers() Location
	// Budget locates the connection limit.
	Budget() Location
}

// Check applies the Mastodon rules to in and returns every finding, in the order of the
// workloads. It is the one place each rule is written.
func Check(in Installation) []Finding {
	c := &checker{in: in, seen: map[string]bool{}}
	c.scheduler()
	c.queues()
	for i := range in.Workloads {
		c.worker(i)
	}
	c.alwaysOn()
	c.budget()
	return c.out
}

type checker struct {
	in   Installation
	out  []Finding
	seen map[string]bool // findings already made, so a rule says a thing once
}

func (c *checker) add(s Severity, rule string, at Location, format string, args ...any) {
	f := Finding{Severity: s, Rule: rule, Location: at, Message: fmt.Sprintf(format, args...)}
	key := fmt.Sprintf("%v", f)
	if c.seen[key] {
		return
	}
	c.seen[key] = true
	c.out = append(c.out, f)
}

func (c *checker) at(w int, p Part, index int) Location { return c.in.Where.Worker(w, p, index) }

// scheduler: exactly one process may consume the scheduler queue; each finding of a second
// one gives SchedulerDuplicates as the reason, and with none no process loads the schedule.
func (c *checker) scheduler() {
	var consumers []int
	for i, w := range c.in.Workloads {
		if w.ConsumesScheduler() {
			consumers = append(consumers, i)
		}
	}
	if len(consumers) == 0 && c.in.Complete {
		c.add(Error, RuleSchedulerMissing, c.in.Where.Workers(),
			"no worker consumes %q, so no process would load Mastodon's schedule and no periodic job would run: give exactly one worker (with one replica) that queue", SchedulerQueue)
	}
	for n, i := range consumers {
		w := c.in.Workloads[i]
		if n > 0 {
			first := consumers[0]
			c.add(Error, RuleSchedulerShared, c.at(i, PartQueue, queueIndex(w, SchedulerQueue)),
				"%q is already consumed by %s, and must run in exactly one process (%s): keep it in exactly one worker",
				SchedulerQueue, c.at(first, PartQueue, queueIndex(c.in.Workloads[first], SchedulerQueue)), SchedulerDuplicates)
		}
		switch {
		case w.Autoscaled:
			c.add(Error, RuleSchedulerAutoscaled, c.at(i, PartAutoscaler, 0),
				"worker %q consumes %q, which must run in exactly one process (%s): remove its autoscaling, or move %q to a worker of its own with one replica and strategy Recreate",
				w.Name, SchedulerQueue, SchedulerDuplicates, SchedulerQueue)
		case w.Replicas > 1:
			c.add(Error, RuleSchedulerShared, c.at(i, PartReplicas, 0),
				"worker %q consumes %q and runs %d replicas, but the queue must run in exactly one process (%s): set replicas to 1 (strategy Recreate) and move the other queues to a worker that can scale",
				w.Name, SchedulerQueue, w.Replicas, SchedulerDuplicates)
		case w.Replicas < 1:
			c.add(Error, RuleSchedulerMissing, c.at(i, PartReplicas, 0),
				"worker %q consumes %q, which must run in exactly one process, and runs none, so no process loads Mastodon's schedule and no periodic job runs: set replicas to 1",
				w.Name, SchedulerQueue)
		}
	}
}

// queues: a queue nobody consumes waits forever; one consumed by several workers makes each
// one's triggers scale on the whole backlog.
func (c *checker) queues() {
	consumers := map[string][]int{}
	var order []string
	for i, w := range c.in.Workloads {
		for _, q := range w.Queues {
			if consumers[q.Name] == nil {
				order = append(order, q.Name)
			}
			consumers[q.Name] = append(consumers[q.Name], i)
		}
	}
	if c.in.Complete {
		var required []string
		if c.in.VersionKnown {
			required = QueueNames(c.in.Version)
		}
		for _, q := range append(required, c.in.Queues...) {
			if len(consumers[q]) == 0 && q != SchedulerQueue { // reported by scheduler
				c.add(Error, RuleQueueUnconsumed, c.in.Where.Workers(),
					"queue %q is consumed by no worker, so its jobs would wait forever: add it to a worker's queues", q)
			}
		}
	}
	for _, q := range order {
		if ws := consumers[q]; len(ws) > 1 && q != SchedulerQueue {
			second := ws[1]
			c.add(Warning, RuleQueueShared, c.at(second, PartQueue, queueIndex(c.in.Workloads[second], q)),
				"queue %q is consumed by several workers; each one's triggers scale on the whole backlog", q)
		}
	}
}

func (c *checker) worker(i int) {
	w := c.in.Workloads[i]
	switch {
	case w.Concurrency < 1:
		c.add(Error, RuleConcurrency, c.at(i, PartConcurrency, 0), "must be at least 1 thread")
	case w.Concurrency > WarnConcurrency:
		c.add(Warning, RuleConcurrency, c.at(i, PartConcurrency, 0),
			"%d threads: Sidekiq gains little beyond %d threads per process: lower concurrency and raise replicas", w.Concurrency, WarnConcurrency)
	}
	c.gracePeriod(i)
	c.dbPool(i)
	c.redisNamespace(i)
	if w.Autoscaled && w.Scaling.MinReplicas == 0 {
		c.add(Warning, RuleSleeping, c.at(i, PartMinReplicas, 0),
			"worker %q sleeps while its queues are empty; Mastodon's admin dashboard then reports %s as having no process, which is expected",
			w.Name, quotedList(w.QueueNames()))
	}
}

// gracePeriod: on TERM Sidekiq stops fetching, waits -t seconds, then pushes unfinished jobs
// back to Redis; a pod killed before that loses them. Autoscaled workers stop pods on every
// scale-in, so there it is an error; fixed ones only on rollouts, so it is a warning.
func (c *checker) gracePeriod(i int) {
	w := c.in.Workloads[i]
	if w.Timeout < 1 || int64(w.Timeout) < w.GracePeriod {
		return
	}
	s, when := Warning, "every rollout"
	if w.Autoscaled {
		s, when = Error, "every scale-in"
	}
	c.add(s, RuleGracePeriod, c.at(i, PartGracePeriod, 0),
		"terminationGracePeriodSeconds is %d s and must exceed Sidekiq's timeout (%d s): %s kills Sidekiq before it pushes unfinished jobs back to Redis, and they are lost; raise it to at least %d, or lower the timeout",
		w.GracePeriod, w.Timeout, when, int64(w.Timeout)+gracePeriodMargin)
}

// dbPool: each Sidekiq thread holds a database connection; a smaller pool starves threads.
func (c *checker) dbPool(i int) {
	w := c.in.Workloads[i]
	if w.DBPool <= 0 || w.DBPool >= w.Concurrency {
		return
	}
	hint := ""
	if c.in.VersionKnown && !c.in.Version.Less(MastodonVersion{Major: 4, Minor: 3}) {
		hint = " or remove it (Mastodon 4.3+ then sizes the pool to the threads)"
	}
	c.add(Error, RuleDBPool, c.at(i, PartDBPool, 0),
		"the database pool is %d (%s) but Sidekiq runs %d threads (%s): %d threads wait for a connection; set DB_POOL to %d%s",
		w.DBPool, w.DBPoolFrom, w.Concurrency, w.ConcurrencyFrom, w.Concurrency-w.DBPool, w.Concurrency, hint)
}

// redisNamespace: REDIS_NAMESPACE was deprecated in Mastodon 4.3 and removed in 4.4, whose
// processes refuse to boot with it.
func (c *checker) redisNamespace(i int) {
	w := c.in.Workloads[i]
	if w.RedisNamespace == "" || !c.in.VersionKnown {
		return
	}
	at := c.at(i, PartRedisNamespace, 0)
	switch v := c.in.Version; {
	case !v.AllowsRedisNamespace():
		c.add(Error, RuleRedisNamespace, at,
			"REDIS_NAMESPACE is %q, and Mastodon %s refuses to boot with it (removed in 4.4): migrate the keys and remove it, or set the Mastodon version to the release you really run", w.RedisNamespace, v)
	case v == MastodonVersion{Major: 4, Minor: 3}:
		c.add(Warning, RuleRedisNamespace, at,
			"REDIS_NAMESPACE is deprecated in Mastodon 4.3 and removed in 4.4: plan the key migration before upgrading")
	}
}

// alwaysOn: Sidekiq polls retries and scheduled jobs in every process, so at least one must
// always run.
func (c *checker) alwaysOn() {
	if !c.in.Complete || len(c.in.Workloads) == 0 {
		return
	}
	for _, w := range c.in.Workloads {
		if w.MinReplicas() >= 1 {
			return
		}
	}
	c.add(Error, RuleAlwaysOn, c.in.Where.Workers(),
		"no worker always runs (fixed replicas >= 1 or autoscale.minReplicas >= 1): Sidekiq polls retries and scheduled jobs in every process, so at least one must stay up; keep the scheduler worker at replicas: 1 or raise a worker's minReplicas to 1")
}

// budget: at max replicas every Sidekiq thread holds a Postgres connection.
func (c *checker) budget() {
	b := ConnectionBudget(c.in.Workloads, c.in.Database)
	if b.Max <= 0 || b.Fits() || c.in.Database.Reserved >= b.Max {
		return
	}
	c.add(Error, RuleConnectionBudget, c.in.Where.Budget(),
		"at max replicas Sidekiq uses %d connections (%s) + %d reserved = %d, %d over max_connections %d: lower maxReplicas or concurrency, raise max_connections, or put PgBouncer in front",
		b.Sidekiq, b.terms(), b.Reserved, b.Total, b.Total-int64(b.Max), b.Max)
}

func queueIndex(w Workload, name string) int {
	for i, q := range w.Queues {
		if q.Name == name {
			return i
		}
	}
	return 0
}

func quotedList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}
