package status

import (
	"time"

	"github.com/mastoscale/mastoscale/internal/sidekiq"
)

// Snapshot is what Read found in Sidekiq's Redis at one moment. It holds raw facts only; Compute
// turns it into a Status.
type Snapshot struct {
	// Time is when the snapshot was taken (the caller's clock, not Redis').
	Time time.Time `json:"time"`
	// Namespace is the REDIS_NAMESPACE prefix the keys were read under ("" for none).
	Namespace string `json:"namespace,omitempty"`
	// Queues are the queues read, by name (without the "queue:" prefix).
	Queues map[string]QueueSample `json:"queues"`
	// Processes are the live Sidekiq processes of the `processes` registry, sorted by identity.
	// An identity whose heartbeat hash has expired (a dead process) is left out, as Sidekiq's
	// own API does.
	Processes []Process `json:"processes"`
	// Retry, Scheduled and Dead are the sizes of the `retry`, `schedule` and `dead` sorted sets.
	Retry     int64 `json:"retry"`
	Scheduled int64 `json:"scheduled"`
	Dead      int64 `json:"dead"`
	// Processed is Sidekiq's `stat:processed` counter: jobs run (including failed ones) since the
	// stats were last reset. Sidekiq 7 and 8 flush it from each process at every heartbeat (10 s).
	Processed int64 `json:"processed"`
	// OtherPrefixes are the key prefixes under which Read saw Sidekiq queue lists that are not
	// the namespace it read ("" stands for un-namespaced `queue:*` keys). Sorted.
	OtherPrefixes []string `json:"otherPrefixes,omitempty"`
}

// QueueSample is one queue's list as Read saw it.
type QueueSample struct {
	// Backlog is LLEN queue:<name>: exactly what KEDA's redis scaler counts.
	Backlog int64 `json:"backlog"`
	// OldestEnqueuedAt is the `enqueued_at` of the oldest job (index -1); zero when the queue is
	// empty or the job carries no readable timestamp.
	OldestEnqueuedAt time.Time `json:"oldestEnqueuedAt,omitzero"`
	// Busy is the number of threads running a job of this queue, from the processes' work hashes.
	Busy int64 `json:"busy"`
	// Head is the newest job (index 0) as stored, the recorder's marker; not printed.
	Head string `json:"-"`
	// MarkerIndex is where the previous snapshot's Head was found in this list (LPOS), or -1
	// when it was not looked for or is gone. Only Read with a previous snapshot sets it.
	MarkerIndex int64 `json:"-"`
}

// queue is the sample as the shared reading sees it, whose latency is the scaler's too.
func (s QueueSample) queue() sidekiq.Queue {
	return sidekiq.Queue{Backlog: s.Backlog, OldestEnqueuedAt: s.OldestEnqueuedAt}
}

// Process is one live Sidekiq process, from its heartbeat hash.
type Process = sidekiq.Process
