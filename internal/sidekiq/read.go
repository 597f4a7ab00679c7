package sidekiq

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Key names Sidekiq uses, without namespace.
const (
	KeyQueues    = "queues"
	KeyProcesses = "processes"
	KeyRetry     = "retry"
	KeySchedule  = "schedule"
	KeyDead      = "dead"
	KeyProcessed = "stat:processed"
)

// Keys names Sidekiq's keys under an optional REDIS_NAMESPACE prefix (Mastodon 4.3 and older).
type Keys struct{ Namespace string }

// Of returns the key name with the namespace prefix, if any.
func (k Keys) Of(name string) string {
	if k.Namespace == "" {
		return name
	}
	return k.Namespace + ":" + name
}

// Queue returns the key of a queue's list.
func (k Keys) Queue(name string) string { return k.Of("queue:" + name) }

// Queue is one queue's list: how many jobs wait and since when the oldest does.
type Queue struct {
	// Backlog is LLEN queue:<name>: exactly what KEDA's redis scaler counts.
	Backlog int64
	// OldestEnqueuedAt is the `enqueued_at` of the oldest job (index -1); zero when the queue is
	// empty or the job carries no readable timestamp.
	OldestEnqueuedAt time.Time
}

// Latency is how long the oldest job has waited at now, in seconds: 0 for an empty queue or a
// job without a readable timestamp, and never negative (a clock behind the writer's).
func (q Queue) Latency(now time.Time) float64 {
	if q.Backlog == 0 || q.OldestEnqueuedAt.IsZero() {
		return 0
	}
	return max(0, now.Sub(q.OldestEnqueuedAt).Seconds())
}

// QueueRead is a queue's reading queued on a pipeline: LLEN and the oldest job (LINDEX -1).
type QueueRead struct {
	key    string
	llen   *redis.IntCmd
	oldest *redis.StringCmd
}

// ReadQueue queues the reading of queue name on p; call Result after the pipeline ran.
func ReadQueue(ctx context.Context, p redis.Pipeliner, k Keys, name string) *QueueRead {
	key := k.Queue(name)
	return &QueueRead{key: key, llen: p.LLen(ctx, key), oldest: p.LIndex(ctx, key, -1)}
}

// Result is the queue as read. An error names the key: not a list (WRONGTYPE), or Redis failed.
func (r *QueueRead) Result() (Queue, error) {
	if err := r.llen.Err(); err != nil {
		return Queue{}, fmt.Errorf("reading queue %q: %w", r.key, err)
	}
	q := Queue{Backlog: r.llen.Val()}
	if job, err := r.oldest.Result(); err == nil {
		if t, ok := EnqueuedAt(job); ok {
			q.OldestEnqueuedAt = t
		}
	}
	return q, nil
}

// heartbeatFields are read from a process's heartbeat hash, in Heartbeat's order.
var heartbeatFields = []string{"info", "busy", "beat", "quiet", "concurrency"}

// ProcessRead is one process's reading queued on a pipeline.
type ProcessRead struct {
	id    string
	known *Process
	beat  *redis.SliceCmd
	work  []*redis.MapStringStringCmd
}

// ReadProcess queues the reading of the heartbeat hash of the process identity on p
// (identities in the `processes` set are bare; with a namespace the hashes are prefixed). With
// known, a reading of the same identity whose info was parsed, the info (which a process writes
// once) is not read again. withWork also reads the jobs running now: `<identity>:work` (Sidekiq
// 7 and later) and `<identity>:workers` (Sidekiq 6).
func ReadProcess(ctx context.Context, p redis.Pipeliner, k Keys, identity string, known *Process, withWork bool) *ProcessRead {
	r := &ProcessRead{id: identity, known: known}
	fields := heartbeatFields
	if known != nil {
		fields = fields[1:]
	}
	r.beat = p.HMGet(ctx, k.Of(identity), fields...)
	if withWork {
		r.work = []*redis.MapStringStringCmd{p.HGetAll(ctx, k.Of(identity+":work")), p.HGetAll(ctx, k.Of(identity+":workers"))}
	}
	return r
}

// Result is the process as read; false when its heartbeat hash has expired (a process that
// died without deregistering, which Sidekiq's own API skips too). An error means the hash is
// not a hash or its fields are not Sidekiq's.
func (r *ProcessRead) Result() (Process, bool, error) {
	vals, err := r.beat.Result()
	if err != nil {
		return Process{}, false, fmt.Errorf("reading the heartbeat of process %q: %w", r.id, err)
	}
	str := func(v any) string { s, _ := v.(string); return s }
	skip := 0 // with a known process, the info was not asked for
	if r.known != nil {
		skip = 1
	}
	field := func(i int) any { return vals[i-skip] }
	if len(vals)+skip != len(heartbeatFields) || (r.known == nil && field(0) == nil) || (field(1) == nil && field(2) == nil) {
		return Process{}, false, nil // expired (no info, or neither busy nor beat)
	}
	h := Heartbeat{Busy: str(field(1)), Beat: str(field(2)), Quiet: str(field(3)), Concurrency: str(field(4))}
	var p Process
	if r.known != nil {
		p, err = r.known.withBeat(h)
	} else {
		h.Info = str(field(0))
		p, err = ParseProcess(r.id, h)
	}
	if err != nil {
		return Process{}, false, err
	}
	for _, w := range r.work {
		if err := w.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return Process{}, false, fmt.Errorf("reading the running jobs of process %q: %w", r.id, err)
		}
		for _, job := range w.Val() {
			if q, ok := WorkQueue(job); ok {
				p.Running = append(p.Running, q)
			}
		}
	}
	return p, true, nil
}
