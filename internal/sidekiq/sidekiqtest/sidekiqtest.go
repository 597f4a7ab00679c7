// Package sidekiqtest writes Sidekiq-shaped data into a real Redis for tests: jobs pushed the way
// Sidekiq's client pushes them and processes registered the way Sidekiq's Launcher heartbeats
// (lib/sidekiq/launcher.rb, lib/sidekiq/client.rb of Sidekiq 6.4, 7.3 and 8.1), and runs real
// Sidekiq 6.4 (Debian's ruby-sidekiq) where a test needs the real thing (real.go).
package sidekiqtest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sidekiq writes into one Redis database under an optional REDIS_NAMESPACE.
type Sidekiq struct {
	T         testing.TB
	Client    *redis.Client
	Namespace string
	// Millis writes timestamps as Sidekiq 8 does (integer epoch milliseconds) instead of
	// Sidekiq 7's float epoch seconds.
	Millis bool
	jids   int
}

// New connects to the Redis at addr (no password, database 0).
func New(t testing.TB, addr string) *Sidekiq {
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DisableIdentity: true})
	t.Cleanup(func() { _ = c.Close() })
	return &Sidekiq{T: t, Client: c}
}

func (s *Sidekiq) key(k string) string {
	if s.Namespace == "" {
		return k
	}
	return s.Namespace + ":" + k
}

// Stamp writes t as the Sidekiq version writes `enqueued_at`.
func (s *Sidekiq) Stamp(t time.Time) any {
	if s.Millis {
		return t.UnixMilli()
	}
	return json.Number(strconv.FormatFloat(float64(t.UnixNano())/1e9, 'f', 6, 64))
}

// Job returns the payload Sidekiq's client pushes for one job of class on queue.
func (s *Sidekiq) Job(queue, class string, enqueuedAt time.Time) string {
	s.jids++
	payload := map[string]any{
		"retry":       true,
		"queue":       queue,
		"class":       class,
		"args":        []any{s.jids},
		"jid":         fmt.Sprintf("%024x", s.jids),
		"created_at":  s.Stamp(enqueuedAt),
		"enqueued_at": s.Stamp(enqueuedAt),
	}
	data, err := json.Marshal(payload)
	if err != nil {
		s.T.Fatal(err)
	}
	return string(data)
}

// Push enqueues n jobs on queue as Sidekiq::Client#raw_push does (SADD queues, LPUSH), the
// first enqueued at oldest and each later one a millisecond after the previous one.
func (s *Sidekiq) Push(queue string, n int, oldest time.Time) {
	ctx := context.Background()
	jobs := make([]any, n)
	for i := range jobs {
		jobs[i] = s.Job(queue, "ActivityPub::ProcessingWorker", oldest.Add(time.Duration(i)*time.Millisecond))
	}
	_, err := s.Client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.SAdd(ctx, s.key("queues"), queue)
		if n > 0 {
			p.LPush(ctx, s.key("queue:"+queue), jobs...)
		}
		return nil
	})
	if err != nil {
		s.T.Fatal(err)
	}
}

// Fetch removes n jobs from the tail of queue, as a Sidekiq processor's BRPOP does.
func (s *Sidekiq) Fetch(queue string, n int) {
	for range n {
		if err := s.Client.RPop(context.Background(), s.key("queue:"+queue)).Err(); err != nil {
			s.T.Fatal(err)
		}
	}
}

// Process is one Sidekiq process as its heartbeat describes it.
type Process struct {
	Hostname    string
	PID         int
	Concurrency int
	// Queues are as given to -q, weights included ("default,8").
	Queues []string
	// Busy lists the queue of each job running now; its length is the heartbeat's busy.
	Busy  []string
	Quiet bool
	Beat  time.Time
	// Version is the Sidekiq version whose heartbeat is written (default 7.3.9): 6.x keeps the
	// running jobs in `<identity>:workers` instead of `:work`; from 8.1.2 the concurrency is a
	// field of the hash and no longer in the info.
	Version string
}

// Identity is Sidekiq's process identity: hostname:pid:nonce.
func (p Process) Identity() string { return fmt.Sprintf("%s:%d:%012x", p.Hostname, p.PID, p.PID) }

// Heartbeat registers p as Launcher#❤ does: the work hash of running jobs, then in one MULTI
// SADD processes, HSET <identity> info/busy/beat/rtt_us/quiet/rss and EXPIRE 60.
func (s *Sidekiq) Heartbeat(p Process) {
	ctx := context.Background()
	id := p.Identity()
	var names []string
	weights := map[string]int{}
	for _, q := range p.Queues {
		name, weight := q, 0
		if i := indexComma(q); i >= 0 {
			name = q[:i]
			weight, _ = strconv.Atoi(q[i+1:])
		}
		if _, seen := weights[name]; !seen {
			names = append(names, name)
		}
		weights[name] = weight
	}
	version := p.Version
	if version == "" {
		version = "7.3.9"
	}
	info := map[string]any{
		"hostname":   p.Hostname,
		"started_at": s.Stamp(p.Beat.Add(-time.Hour)),
		"pid":        p.PID,
		"tag":        "",
		"queues":     names,
		"weights":    []map[string]int{weights},
		"labels":     []string{},
		"identity":   id,
		"version":    version,
		"embedded":   false,
	}
	fields := []any{"busy", len(p.Busy), "beat", strconv.FormatFloat(float64(p.Beat.UnixNano())/1e9, 'f', 6, 64),
		"rtt_us", 120, "quiet", strconv.FormatBool(p.Quiet), "rss", 512000}
	if concurrencyInHash(version) {
		fields = append(fields, "concurrency", p.Concurrency)
	} else {
		info["concurrency"] = p.Concurrency
	}
	infoJSON, err := json.Marshal(info)
	if err != nil {
		s.T.Fatal(err)
	}
	s.writeWork(id, workKey(version), p)
	_, err = s.Client.TxPipelined(ctx, func(tx redis.Pipeliner) error {
		tx.SAdd(ctx, s.key("processes"), id)
		tx.Exists(ctx, s.key(id))
		tx.HSet(ctx, s.key(id), append([]any{"info", string(infoJSON)}, fields...)...)
		tx.Expire(ctx, s.key(id), time.Minute)
		return nil
	})
	if err != nil {
		s.T.Fatal(err)
	}
}

// writeWork writes the running jobs of p into its work hash, as the first MULTI of a heartbeat.
func (s *Sidekiq) writeWork(id, suffix string, p Process) {
	ctx := context.Background()
	_, err := s.Client.TxPipelined(ctx, func(tx redis.Pipeliner) error {
		tx.Unlink(ctx, s.key(id+suffix))
		for i, q := range p.Busy {
			job := s.Job(q, "ActivityPub::ProcessingWorker", p.Beat.Add(-time.Second))
			work, _ := json.Marshal(map[string]any{"queue": q, "payload": job, "run_at": s.Stamp(p.Beat)})
			tx.HSet(ctx, s.key(id+suffix), fmt.Sprintf("tid%d", i), string(work))
		}
		if len(p.Busy) > 0 {
			tx.Expire(ctx, s.key(id+suffix), time.Minute)
		}
		return nil
	})
	if err != nil {
		s.T.Fatal(err)
	}
}

// workKey is the suffix of the work hash: `:workers` until Sidekiq 7.0 renamed it `:work`.
func workKey(version string) string {
	if strings.HasPrefix(version, "6.") {
		return ":workers"
	}
	return ":work"
}

// concurrencyInHash reports whether version writes the concurrency as a field of the heartbeat
// hash instead of in the info (Sidekiq 8.1.2 and later).
func concurrencyInHash(version string) bool {
	var major, minor, patch int
	if _, err := fmt.Sscanf(version, "%d.%d.%d", &major, &minor, &patch); err != nil {
		return false
	}
	return major > 8 || (major == 8 && (minor > 1 || (minor == 1 && patch >= 2)))
}

// Stats sets Sidekiq's counters and sorted sets: stat:processed and the sizes of retry,
// schedule and dead.
func (s *Sidekiq) Stats(processed int64, retry, scheduled, dead int) {
	ctx := context.Background()
	_, err := s.Client.TxPipelined(ctx, func(tx redis.Pipeliner) error {
		tx.Set(ctx, s.key("stat:processed"), processed, 0)
		for set, n := range map[string]int{"retry": retry, "schedule": scheduled, "dead": dead} {
			for i := range n {
				tx.ZAdd(ctx, s.key(set), redis.Z{Score: float64(1700000000 + i), Member: s.Job("default", "Failing", time.Unix(1700000000, 0))})
			}
		}
		return nil
	})
	if err != nil {
		s.T.Fatal(err)
	}
}

func indexComma(s string) int {
	for i := range len(s) {
		if s[i] == ',' {
			return i
		}
	}
	return -1
}
