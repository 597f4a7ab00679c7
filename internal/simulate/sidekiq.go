package simulate

// run is jobs pushed to a queue in the same second with the same service time: a second's
// arrivals on a queue are one run, so the simulation moves runs, not jobs.
type run struct {
	enq     int32
	service float32
	n       int64
}

// queue is a Redis list: LPUSH to enqueue, BRPOP takes the oldest (FIFO). It holds runs of
// jobs, oldest first, from head on.
type queue struct {
	name string
	runs []run
	head int
	n    int64 // jobs queued
}

func (q *queue) len() int64 { return q.n }

// push adds n jobs enqueued at enq, each running service seconds.
func (q *queue) push(enq int32, service float32, n int64) {
	q.n += n
	if k := len(q.runs); k > q.head && q.runs[k-1].enq == enq && q.runs[k-1].service == service {
		q.runs[k-1].n += n
		return
	}
	if q.head > 64 && q.head*2 > len(q.runs) {
		k := copy(q.runs, q.runs[q.head:])
		q.runs = q.runs[:k]
		q.head = 0
	}
	q.runs = append(q.runs, run{enq: enq, service: service, n: n})
}

// requeue puts r back at the end BRPOP takes from next, as Sidekiq's shutdown does with the
// jobs still running when its timeout (-t) expires.
func (q *queue) requeue(r run) {
	q.n += r.n
	if q.head < len(q.runs) && q.runs[q.head].enq == r.enq && q.runs[q.head].service == r.service {
		q.runs[q.head].n += r.n
		return
	}
	if q.head > 0 {
		q.head--
		q.runs[q.head] = r
		return
	}
	q.runs = append(q.runs, run{})
	copy(q.runs[1:], q.runs)
	q.runs[0] = r
}

// take removes up to n jobs from the head run and returns them as a run.
func (q *queue) take(n int64) run {
	h := &q.runs[q.head]
	r := *h
	if n < h.n {
		r.n = n
		h.n -= n
	} else {
		q.head++
		if q.head == len(q.runs) {
			q.runs, q.head = q.runs[:0], 0
		}
	}
	q.n -= r.n
	return r
}

// oldest is the enqueue second of the oldest job; call only when len() > 0.
func (q *queue) oldest() int32 { return q.runs[q.head].enq }

// fetcher is Sidekiq's BasicFetch over a worker's queues. Sidekiq expands each queue
// `weight` times (at least once), shuffles the list and de-duplicates it for every fetch, then
// BRPOPs the queues in that order; unless no queue has a weight above 0, in which case the
// order is the configured one (strict). The first non-empty queue of a shuffled,
// de-duplicated list is the owner of the first copy that belongs to a non-empty queue: a
// queue picked at random with probability proportional to its weight among the non-empty
// ones. That is what the weighted branch of take draws, once per fetch.
type fetcher struct {
	queues  []*queue
	weights []int32
	strict  bool
	// picked and left are take's per-queue buffers.
	picked, left []int64
}

func (f *fetcher) backlog() int64 {
	var n int64
	for _, q := range f.queues {
		n += q.n
	}
	return n
}

// pod is one Sidekiq process.
type pod struct {
	created  int
	readyAt  int
	seq      int32 // creation order in its worker: ties among free threads go to the oldest pod
	ready    bool
	stopping bool
	doneAt   float64 // a stopping pod exits when its last running job ends
}

// group is threads of one pod that started the same run at the same instant: they become
// free together. Once free they stay in the queue as idle threads, free since then, until
// they fetch again; job.n is then the count of idle threads and the rest of job is stale.
type group struct {
	free  float64
	start float64
	pod   *pod
	job   run   // n is the number of threads
	qi    int32 // the job's queue, an index into the worker's fetcher queues
	seq   int32
}

func (g *group) before(o *group) bool {
	return g.free < o.free || (g.free == o.free && g.seq < o.seq)
}

// groupQueue holds the threads of a worker's ready pods, as groups in the order they become
// (or became) free, ties to the oldest pod, so the earliest free thread takes the next job,
// as BRPOP hands jobs to the longest waiter: the idle groups (free by now) are at the front,
// longest idle first. A new group mostly becomes free after all others (the same service
// time started later), so it is a sorted slice: push inserts from the back, serve takes
// from the front.
type groupQueue struct {
	g    []group
	head int
}

func (h *groupQueue) len() int    { return len(h.g) - h.head }
func (h *groupQueue) top() *group { return &h.g[h.head] }

// all is the groups, idle and running, earliest free first; they may be changed in place,
// keeping the order.
func (h *groupQueue) all() []group { return h.g[h.head:] }

// keep keeps the first n of all, after the caller moved the ones it keeps there.
func (h *groupQueue) keep(n int) { h.g = h.g[:h.head+n] }

// fetchers are the groups at the front that fetch at one instant as one: the front group,
// fetching at f = max(its free time, now), and the groups after it of the same pod that fetch
// at f too (idle ones, or running ones that become free at the same instant). It returns
// their pod, f, their threads and the index of the last of them.
func (h *groupQueue) fetchers(now float64) (p *pod, f float64, n int64, last int) {
	g := &h.g[h.head]
	p, f, n, last = g.pod, max(g.free, now), g.job.n, h.head
	for i := h.head + 1; i < len(h.g); i++ {
		o := &h.g[i]
		if o.pod != p || max(o.free, now) != f {
			break
		}
		n += o.job.n
		last = i
	}
	return p, f, n, last
}

// drained empties the slice once head has passed the last group.
func (h *groupQueue) drained() {
	if h.head == len(h.g) {
		h.g, h.head = h.g[:0], 0
	}
}

func (h *groupQueue) push(g group) {
	if len(h.g) == cap(h.g) && h.head > 0 {
		n := copy(h.g, h.g[h.head:])
		h.g, h.head = h.g[:n], 0
	}
	n := len(h.g)
	if n == h.head || !g.before(&h.g[n-1]) {
		h.g = append(h.g, g) // the common case: free after all others
		return
	}
	h.g = append(h.g, h.g[n-1])
	i := n - 1
	for ; i > h.head && g.before(&h.g[i-1]); i-- {
		h.g[i] = h.g[i-1]
	}
	h.g[i] = g
}
