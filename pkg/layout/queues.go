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

// SchedulerQueue is the queue sidekiq-scheduler listens on. Every process that consumes it
// enqueues each periodic job once, so exactly one process may consume it: two duplicate every
// periodic job, none runs none.
const SchedulerQueue = QueueScheduler

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
