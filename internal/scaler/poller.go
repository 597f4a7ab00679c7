package scaler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/mastoscale/mastoscale/internal/sidekiq"
	"github.com/redis/go-redis/v9"
)

// Defaults of a Poller.
const (
	DefaultMaxAge   = time.Second
	DefaultDueLimit = 1000
	// interestTTL is how long a queue keeps being read after the last trigger asked for it.
	interestTTL = 10 * time.Minute
	// readTimeout bounds one reading: a dial and a pipeline.
	readTimeout = sidekiq.DialTimeout + sidekiq.IOTimeout
)

// Poller reads Sidekiq's Redis for every trigger that asks, at most once per MaxAge: a trigger
// asking while a reading younger than MaxAge covers it is served from that reading, and the
// triggers that ask while a reading is under way wait for it. A reading takes one pipeline (one
// round trip) holding every queue any trigger asked for in the last ten minutes, every process
// known from the previous reading and, when a trigger counts them, the due jobs; a process new
// since then costs a second round trip, once.
type Poller struct {
	Client *redis.Client
	Keys   sidekiq.Keys
	// Where names the Redis in errors (never with a password).
	Where string
	// Now is the clock (default time.Now); DueLimit defaults to DefaultDueLimit, Log to none.
	Now func() time.Time
	// MaxAge is how long a reading serves every trigger (0 reads for every request).
	MaxAge time.Duration
	// DueLimit bounds how many due jobs of each of retry and schedule are read.
	DueLimit int64
	Log      *slog.Logger

	mu       sync.Mutex
	interest map[string]time.Time // queue -> last asked
	dueAsked time.Time
	last     *Reading
	flight   *flight
	// known are the registry's members of the previous reading, by identity: the live ones'
	// info is not read again; nil marks one whose heartbeat had expired, read in full again in
	// the first round trip (a process that lost Redis for over a minute re-registers under the
	// same identity). Only the goroutine of the current flight touches it.
	known  map[string]*sidekiq.Process
	failed bool // the previous reading failed (for logging transitions)
}

// flight is a reading under way.
type flight struct {
	done chan struct{}
	r    *Reading
}

// Get returns a reading that covers t, no older than MaxAge, waiting for one if needed. Redis
// errors are in the reading; ctx only bounds the wait.
func (p *Poller) Get(ctx context.Context, t Trigger) (*Reading, error) {
	for {
		p.mu.Lock()
		if p.interest == nil {
			p.defaults()
		}
		now := p.Now()
		for _, q := range t.Queues {
			p.interest[q] = now
		}
		if t.IncludeDue {
			p.dueAsked = now
		}
		if r := p.last; r != nil && now.Sub(r.Time) < p.MaxAge && r.covers(t) {
			p.mu.Unlock()
			return r, nil
		}
		f := p.flight
		if f == nil {
			f = p.start(now)
		}
		p.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if f.r.covers(t) {
			return f.r, nil
		}
		// That reading started before t asked; the next one includes t.
	}
}

// start launches a reading of everything of interest; p.mu is held.
func (p *Poller) start(now time.Time) *flight {
	var queues []string
	for q, at := range p.interest {
		if now.Sub(at) > interestTTL {
			delete(p.interest, q)
			continue
		}
		queues = append(queues, q)
	}
	slices.Sort(queues)
	due := !p.dueAsked.IsZero() && now.Sub(p.dueAsked) <= interestTTL
	f := &flight{done: make(chan struct{})}
	p.flight = f
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
		defer cancel()
		r := p.read(ctx, now, queues, due)
		p.mu.Lock()
		p.last, p.flight = r, nil
		p.mu.Unlock()
		f.r = r
		close(f.done)
	}()
	return f
}

// defaults fills in what was left unset, at the first Get; p.mu is held.
func (p *Poller) defaults() {
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.DueLimit == 0 {
		p.DueLimit = DefaultDueLimit
	}
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	p.interest = map[string]time.Time{}
}

// read takes one reading at now: queues, processes and, with due, the due jobs.
func (p *Poller) read(ctx context.Context, now time.Time, queues []string, due bool) *Reading {
	r := &Reading{Time: now, queues: map[string]queueResult{}, badHosts: map[string]error{}}
	var members *redis.StringSliceCmd
	qreads := make([]*sidekiq.QueueRead, len(queues))
	preads := map[string]*sidekiq.ProcessRead{}
	var dues []*redis.StringSliceCmd
	_, err := p.Client.Pipelined(ctx, func(pl redis.Pipeliner) error {
		members = pl.SMembers(ctx, p.Keys.Of(sidekiq.KeyProcesses))
		for id, known := range p.known {
			preads[id] = sidekiq.ReadProcess(ctx, pl, p.Keys, id, known, false)
		}
		for i, q := range queues {
			qreads[i] = sidekiq.ReadQueue(ctx, pl, p.Keys, q)
		}
		if due {
			max := strconv.FormatFloat(float64(now.UnixMicro())/1e6, 'f', 6, 64)
			for _, set := range []string{sidekiq.KeyRetry, sidekiq.KeySchedule} {
				dues = append(dues, pl.ZRangeByScore(ctx, p.Keys.Of(set), &redis.ZRangeBy{Min: "-inf", Max: max, Count: p.DueLimit}))
			}
		}
		return nil
	})
	if err != nil && (!isReply(err) || redis.HasErrorPrefix(err, "NOAUTH") || redis.HasErrorPrefix(err, "WRONGPASS")) {
		r.Err = fmt.Errorf("reading Sidekiq's Redis at %s: %w", p.Where, err)
		p.logTransition(r.Err)
		return r
	}
	p.logTransition(nil)
	for i, q := range queues {
		queue, err := qreads[i].Result()
		r.queues[q] = queueResult{queue: queue, err: err}
	}
	if due {
		r.dueRead = true
		r.due, r.dueErr = dueByQueue(dues)
	}
	p.readProcesses(ctx, r, members, preads)
	return r
}

// readProcesses completes r's processes: the known ones from the first pipeline, the new
// members of the registry in a second one.
func (p *Poller) readProcesses(ctx context.Context, r *Reading, members *redis.StringSliceCmd, preads map[string]*sidekiq.ProcessRead) {
	ids, err := members.Result()
	if err != nil {
		r.processErr = fmt.Errorf("reading the process registry %q: %w", p.Keys.Of(sidekiq.KeyProcesses), err)
		return
	}
	var fresh []string
	for _, id := range ids {
		if preads[id] == nil {
			fresh = append(fresh, id)
		}
	}
	if len(fresh) > 0 {
		_, err := p.Client.Pipelined(ctx, func(pl redis.Pipeliner) error {
			for _, id := range fresh {
				preads[id] = sidekiq.ReadProcess(ctx, pl, p.Keys, id, nil, false)
			}
			return nil
		})
		if err != nil && !isReply(err) {
			r.processErr = fmt.Errorf("reading the processes' heartbeats: %w", err)
			return
		}
	}
	known := make(map[string]*sidekiq.Process, len(ids))
	slices.Sort(ids)
	// Room for every process up front: known points into this array, which never moves.
	r.processes = make([]sidekiq.Process, 0, len(ids))
	for _, id := range ids {
		proc, alive, err := preads[id].Result()
		switch {
		case err != nil:
			r.badHosts[sidekiq.HostnameOf(id)] = err
		case alive:
			r.processes = append(r.processes, proc)
			known[id] = &r.processes[len(r.processes)-1]
		default:
			known[id] = nil
		}
	}
	p.known = known
}

// dueByQueue counts the due jobs of the retry and schedule sets by their queue.
func dueByQueue(sets []*redis.StringSliceCmd) (map[string]int64, error) {
	due := map[string]int64{}
	for _, c := range sets {
		jobs, err := c.Result()
		if err != nil {
			return nil, fmt.Errorf("reading the due jobs of %q: %w", c.Args()[1], err)
		}
		for _, job := range jobs {
			if q, ok := sidekiq.WorkQueue(job); ok {
				due[q]++
			}
		}
	}
	return due, nil
}

// isReply reports whether err is an error reply of Redis (WRONGTYPE, NOPERM, ...), which
// concerns a command, rather than a failure to talk to Redis at all. Authentication replies
// (NOAUTH, WRONGPASS) fail the whole reading, as they fail every command.
func isReply(err error) bool {
	var reply redis.Error
	return errors.As(err, &reply) || errors.Is(err, redis.Nil)
}

func (p *Poller) logTransition(err error) {
	switch {
	case err != nil && !p.failed:
		p.Log.Warn("Sidekiq's Redis cannot be read; KEDA gets errors (and applies the fallback)", "error", err)
	case err == nil && p.failed:
		p.Log.Info("Sidekiq's Redis can be read again", "redis", p.Where)
	}
	p.failed = err != nil
}
