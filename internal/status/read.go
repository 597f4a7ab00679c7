package status

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mastoscale/mastoscale/internal/sidekiq"
	"github.com/redis/go-redis/v9"
)

// ReadOptions say what Read looks at.
type ReadOptions struct {
	// Namespace is the REDIS_NAMESPACE prefix of every key ("" for none).
	Namespace string
	// Queues are read in addition to the members of the `queues` set and the queues live
	// processes consume: the layout's and the catalogue's queues, so an idle queue shows up too.
	Queues []string
	// Previous is the snapshot of the previous sample, if any: Read looks for each queue's old
	// head in the list now (LPOS) for the recorder.
	Previous *Snapshot
	// ScanKeys bounds how many keys Read examines (SCAN) looking for Sidekiq keys under other
	// prefixes. 0 means DefaultScanKeys; negative turns the search off.
	ScanKeys int
}

// DefaultScanKeys is the default SCAN budget of the namespace check.
const DefaultScanKeys = 50000

// Read takes a Snapshot of Sidekiq's Redis at time now. The queue lists and counters are read in
// one MULTI, so backlogs, heads and counters are consistent with one another. An error means
// Redis could not be read; the caller's context bounds how long that takes.
func Read(ctx context.Context, c *redis.Client, opts ReadOptions, now time.Time) (*Snapshot, error) {
	keys := sidekiq.Keys{Namespace: opts.Namespace}
	key := keys.Of
	snap := &Snapshot{Time: now, Namespace: opts.Namespace, Queues: map[string]QueueSample{}}

	names, err := c.SMembers(ctx, key(sidekiq.KeyQueues)).Result()
	if err != nil {
		return nil, fmt.Errorf("reading the queue set %q: %w", key(sidekiq.KeyQueues), err)
	}
	procs, busyByQueue, err := readProcesses(ctx, c, keys)
	if err != nil {
		return nil, err
	}
	snap.Processes = procs
	names = append(names, opts.Queues...)
	for _, p := range procs {
		names = append(names, p.Queues...)
	}
	names = uniqueSorted(slices.DeleteFunc(names, func(s string) bool { return s == "" }))

	if err := readLists(ctx, c, keys, names, opts.Previous, busyByQueue, snap); err != nil {
		return nil, err
	}
	if opts.ScanKeys >= 0 {
		budget := opts.ScanKeys
		if budget == 0 {
			budget = DefaultScanKeys
		}
		snap.OtherPrefixes = otherPrefixes(ctx, c, opts.Namespace, budget)
	}
	return snap, nil
}

// readLists reads the queues' lists and Sidekiq's counters into snap in one MULTI: backlog and
// oldest job (the reading the scaler shares), the newest job and, with a previous snapshot,
// where its newest job is now (the recorder's marker).
func readLists(ctx context.Context, c *redis.Client, keys sidekiq.Keys, names []string, prev *Snapshot, busyByQueue map[string]int64, snap *Snapshot) error {
	type queueCmds struct {
		read   *sidekiq.QueueRead
		head   *redis.StringCmd
		marker *redis.IntCmd
	}
	cmds := make([]queueCmds, len(names))
	var retry, sched, dead *redis.IntCmd
	var processed *redis.StringCmd
	_, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for i, q := range names {
			list := keys.Queue(q)
			cmds[i].read = sidekiq.ReadQueue(ctx, p, keys, q)
			cmds[i].head = p.LIndex(ctx, list, 0)
			if prev != nil {
				if old, ok := prev.Queues[q]; ok && old.Head != "" {
					cmds[i].marker = p.LPos(ctx, list, old.Head, redis.LPosArgs{})
				}
			}
		}
		retry = p.ZCard(ctx, keys.Of(sidekiq.KeyRetry))
		sched = p.ZCard(ctx, keys.Of(sidekiq.KeySchedule))
		dead = p.ZCard(ctx, keys.Of(sidekiq.KeyDead))
		processed = p.Get(ctx, keys.Of(sidekiq.KeyProcessed))
		return nil
	})
	for i := range names {
		if _, err := cmds[i].read.Result(); err != nil {
			return err // names the queue's key
		}
	}
	if err := counterErr(keys, retry, sched, dead, processed); err != nil {
		return err
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("reading the queues: %w", err)
	}
	for i, q := range names {
		queue, _ := cmds[i].read.Result()
		s := QueueSample{Backlog: queue.Backlog, OldestEnqueuedAt: queue.OldestEnqueuedAt, Busy: busyByQueue[q], MarkerIndex: -1}
		s.Head = cmds[i].head.Val()
		if m := cmds[i].marker; m != nil {
			if idx, err := m.Result(); err == nil {
				s.MarkerIndex = idx
			}
		}
		snap.Queues[q] = s
	}
	snap.Retry, snap.Scheduled, snap.Dead = retry.Val(), sched.Val(), dead.Val()
	if n, err := processed.Int64(); err == nil {
		snap.Processed = n
	}
	return nil
}

// readProcesses reads the live processes of the `processes` registry and counts the busy
// threads per queue from their work hashes.
func readProcesses(ctx context.Context, c *redis.Client, keys sidekiq.Keys) ([]Process, map[string]int64, error) {
	ids, err := c.SMembers(ctx, keys.Of(sidekiq.KeyProcesses)).Result()
	if err != nil {
		return nil, nil, fmt.Errorf("reading the process registry %q: %w", keys.Of(sidekiq.KeyProcesses), err)
	}
	slices.Sort(ids)
	reads := make([]*sidekiq.ProcessRead, len(ids))
	_, err = c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			reads[i] = sidekiq.ReadProcess(ctx, p, keys, id, nil, true)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, nil, fmt.Errorf("reading the processes' heartbeats: %w", err)
	}
	var procs []Process
	busy := map[string]int64{}
	for _, r := range reads {
		p, alive, err := r.Result()
		if err != nil {
			return nil, nil, err
		}
		if !alive {
			continue
		}
		for _, q := range p.Running {
			busy[q]++
		}
		p.Running = nil
		procs = append(procs, p)
	}
	return procs, busy, nil
}

// otherPrefixes looks, within budget keys, for Sidekiq queue sets (`queues` or `<ns>:queues`)
// under a prefix other than namespace. Errors (an ACL user without SCAN, say) end the search
// quietly: the check is advice, not a reading.
func otherPrefixes(ctx context.Context, c *redis.Client, namespace string, budget int) []string {
	found := map[string]bool{}
	if namespace != "" {
		if n, err := c.Exists(ctx, sidekiq.KeyQueues, sidekiq.KeyProcesses).Result(); err == nil && n > 0 {
			found[""] = true
		}
	}
	var cursor uint64
	for seen := 0; seen < budget; {
		listed, next, err := c.Scan(ctx, cursor, "*"+sidekiq.KeyQueues, 1000).Result()
		if err != nil {
			break
		}
		for _, k := range listed {
			prefix, ok := strings.CutSuffix(k, ":"+sidekiq.KeyQueues)
			if k == sidekiq.KeyQueues {
				prefix, ok = "", true
			}
			if ok && prefix != namespace {
				found[prefix] = true
			}
		}
		seen += 1000
		if cursor = next; cursor == 0 {
			break
		}
	}
	var out []string
	for p := range found {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

func uniqueSorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// counterErr names the key of Sidekiq's counters that could not be read: a `retry`, `schedule`
// or `dead` that is not a sorted set (WRONGTYPE), or a `stat:processed` that is not a string,
// is not Sidekiq's, and reading it as 0 would hide that.
func counterErr(keys sidekiq.Keys, retry, sched, dead *redis.IntCmd, processed *redis.StringCmd) error {
	for _, c := range []struct {
		key string
		err error
	}{{sidekiq.KeyRetry, retry.Err()}, {sidekiq.KeySchedule, sched.Err()}, {sidekiq.KeyDead, dead.Err()}} {
		if c.err != nil {
			return fmt.Errorf("reading %q (Sidekiq keeps it as a sorted set): %w: is this Sidekiq's Redis, database and namespace?", keys.Of(c.key), c.err)
		}
	}
	if err := processed.Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("reading %q (Sidekiq keeps it as a string): %w: is this Sidekiq's Redis, database and namespace?", keys.Of(sidekiq.KeyProcessed), err)
	}
	return nil
}
