package simulate

import (
	"math/rand/v2"
)

// job is one enqueued job: the second it was pushed and how long it runs.
type job struct {
	enq     int32
	service float32
}

// queue is a Redis list: LPUSH to enqueue, BRPOP takes the oldest (FIFO).
type queue struct {
	name string
	jobs []job
	head int
}

func (q *queue) len() int { return len(q.jobs) - q.head }

func (q *queue) push(j job) {
	if q.head > 4096 && q.head*2 > len(q.jobs) {
		n := copy(q.jobs, q.jobs[q.head:])
		q.jobs = q.jobs[:n]
		q.head = 0
	}
	q.jobs = append(q.jobs, j)
}

// requeue puts j back at the end BRPOP takes from next, as Sidekiq's shutdown does with the
// jobs still running when its timeout (-t) expires.
func (q *queue) requeue(j job) {
	if q.head > 0 {
		q.head--
		q.jobs[q.head] = j
		return
	}
	q.jobs = append([]job{j}, q.jobs...)
}

func (q *queue) pop() job {
	j := q.jobs[q.head]
	q.head++
	return j
}

// oldest is the enqueue second of the oldest job; call only when len() > 0.
func (q *queue) oldest() int32 { return q.jobs[q.head].enq }

// fetcher is Sidekiq's BasicFetch over a worker's queues. Sidekiq expands each queue
// `weight` times (at least once), shuffles the list and de-duplicates it for every fetch, then
// BRPOPs the queues in that order; unless every weight is unset, in which case the order is
// the configured one (strict). The first non-empty queue of a shuffled, de-duplicated list is
// the owner of the first copy that belongs to a non-empty queue: a queue picked at random
// with probability proportional to its weight among the non-empty ones. That is what pick does.
type fetcher struct {
	queues  []*queue
	weights []int32
	strict  bool
}

func (f *fetcher) backlog() int {
	n := 0
	for _, q := range f.queues {
		n += q.len()
	}
	return n
}

// pick returns the index of the queue the next fetch takes from, or -1 when all are empty.
func (f *fetcher) pick(rng *rand.Rand) int {
	if len(f.queues) == 1 || f.strict {
		for i, q := range f.queues {
			if q.len() > 0 {
				return i
			}
		}
		return -1
	}
	var total int32
	for i, q := range f.queues {
		if q.len() > 0 {
			total += f.weights[i]
		}
	}
	if total == 0 {
		return -1
	}
	r := rng.Int32N(total)
	for i, q := range f.queues {
		if q.len() == 0 {
			continue
		}
		if r < f.weights[i] {
			return i
		}
		r -= f.weights[i]
	}
	return -1
}

// pod is one Sidekiq process.
type pod struct {
	created  int
	readyAt  int
	ready    bool
	stopping bool
	doneAt   float64 // a stopping pod exits when its last running job ends
	// threads are the pod's Sidekiq threads once it is ready; kept when the pod is reused.
	threads []thread
}

// thread is one Sidekiq thread of a ready pod, running job cur (taken from curQ at start)
// until the free time of its slot.
type thread struct {
	pod   *pod
	cur   job
	curQ  *queue
	start float64
}

// slot is a thread in the heap: the time it becomes free, and the thread.
type slot struct {
	free float64
	th   *thread
}

// threadHeap orders the threads of a worker's ready pods by the time they become free, so
// the earliest free thread takes the next job, as BRPOP hands jobs to the longest waiter. Its
// slots are 16 bytes: the heap moves keys, not threads.
type threadHeap []slot

func (h threadHeap) down(i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h[r].free < h[l].free {
			m = r
		}
		if h[i].free <= h[m].free {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

func (h threadHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}
