package layout

import "slices"

// Queue names Mastodon's Sidekiq uses.
const (
	QueueDefault   = "default"
	QueuePush      = "push"
	QueueIngress   = "ingress"
	QueueMailers   = "mailers"
	QueuePull      = "pull"
	QueueScheduler = "scheduler"
	QueueFASP      = "fasp"
)

// SchedulerQueue is the queue sidekiq-scheduler listens on: Mastodon's config/sidekiq.yml
// (since 3.3) sets `:listened_queues_only: true` and puts every scheduled job on it, so each
// process consuming it loads the whole schedule and none that does not. Exactly one process may
// consume it; SchedulerDuplicates says what a second one does, and with none no periodic job
// runs at all.
const SchedulerQueue = QueueScheduler

// SchedulerDuplicates says why a second process consuming SchedulerQueue is an error; every
// finding that gives the reason quotes it. sidekiq-scheduler enqueues an occurrence only when
// RedisManager.register_job_instance adds its trigger second to the job's sorted set
// (Scheduler#idempotent_job_enqueue). A `cron` (or `at`) occurrence has the same second in
// every process (Utils.calc_cron_run_time), so it is enqueued once; an `every` or `interval`
// job is timed from each process's own start, so each process enqueues it (sidekiq-scheduler's
// README, "Notes about running on Multiple Hosts"). Mastodon 4.x schedules scheduled statuses,
// trends, indexing and several cleanups with `every`/`interval` (6 of the 12 jobs at 4.0.0,
// the others `cron`; 3.5.0: 5 of 15), so these run once more per extra process.
const SchedulerDuplicates = "sidekiq-scheduler enqueues each `every`/`interval` job of Mastodon's schedule, such as scheduled statuses, trends and indexing, once per process consuming the scheduler queue; only `cron`/`at` jobs are deduplicated"

// CatalogueQueue is one Sidekiq queue of a Mastodon release.
type CatalogueQueue struct {
	Name string
	// Weight is the default weight in config/sidekiq.yml; 0 means unweighted.
	Weight int32
	// Singleton marks the queue that exactly one process must consume.
	Singleton bool
}

// QueueCatalogue returns the queue catalogue of v in the order of Mastodon's config/sidekiq.yml.
// The result is a fresh slice the caller may modify.
//
// Source, config/sidekiq.yml of mastodon/mastodon at its release commits: 3.3.0 to 3.5.0
// ("Bump version to 3.5.0", 8c7223f) list [default, 6] [push, 4] [mailers, 2] [pull]
// [scheduler]; 4.0.0 (fb389bd, from #20264, which added ingress) [default, 8] [push, 6]
// [ingress, 4] [mailers, 2] [pull] [scheduler], unchanged through 4.3; 4.4 (#34415) appends
// [fasp].
func QueueCatalogue(v MastodonVersion) []CatalogueQueue {
	qs := []CatalogueQueue{
		{Name: QueueDefault, Weight: 8},
		{Name: QueuePush, Weight: 6},
		{Name: QueueIngress, Weight: 4},
		{Name: QueueMailers, Weight: 2},
		{Name: QueuePull},
		{Name: QueueScheduler, Singleton: true},
		{Name: QueueFASP},
	}
	if v.Less(MastodonVersion{Major: 4, Minor: 4}) {
		qs = slices.DeleteFunc(qs, func(q CatalogueQueue) bool { return q.Name == QueueFASP })
	}
	if v.Less(MastodonVersion{Major: 4, Minor: 0}) {
		qs = slices.DeleteFunc(qs, func(q CatalogueQueue) bool { return q.Name == QueueIngress })
		qs[0].Weight, qs[1].Weight = 6, 4 // default, push
	}
	return qs
}

// QueueNames returns the names of QueueCatalogue(v), in catalogue order.
func QueueNames(v MastodonVersion) []string {
	qs := QueueCatalogue(v)
	names := make([]string, len(qs))
	for i, q := range qs {
		names[i] = q.Name
	}
	return names
}

// LookupQueue returns the catalogue entry of name in v.
func LookupQueue(v MastodonVersion, name string) (CatalogueQueue, bool) {
	for _, q := range QueueCatalogue(v) {
		if q.Name == name {
			return q, true
		}
	}
	return CatalogueQueue{}, false
}

// ListName is the Redis list Sidekiq pushes the jobs of queue to: `queue:<name>`, or
// `<ns>:queue:<name>` when REDIS_NAMESPACE is set (Mastodon 4.3 and older).
func ListName(namespace, queue string) string {
	if namespace == "" {
		return "queue:" + queue
	}
	return namespace + ":queue:" + queue
}
