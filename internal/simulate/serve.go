package simulate

import "math/rand/v2"

// serve lets the worker's ready threads fetch jobs during [t, t+1), the earliest free thread
// first, as Redis hands a job to the client blocked longest in BRPOP: the groups are in the
// order they became free, and those free by t are idle and fetch at t, longest idle first;
// then each running group fetches at the instant it becomes free. Threads that fetch
// nothing stay in place, idle since their group's free time. Jobs arrive only at whole
// seconds, so once the queues are empty nothing more starts before t+1.
func (st *workerState) serve(t int, rng *draws) {
	backlog := st.fetch.backlog()
	now, end := float64(t), float64(t+1)
	h := &st.groups
	for backlog > 0 && h.len() > 0 && h.top().free < end {
		p, f, n, last := h.fetchers(now)
		k := min(n, backlog)
		backlog -= k
		if k < n {
			// The threads left keep the latest free time of the merged groups: they are
			// adjacent and of one pod, and every group pushed from now on becomes free later.
			h.head = last
			h.g[last].job.n = n - k
		} else {
			h.head = last + 1
		}
		h.drained()
		st.start(p, k, f, rng)
	}
}

// start has k threads of pod p fetch a job each at instant f; the queues hold at least k.
func (st *workerState) start(p *pod, k int64, f float64, rng *draws) {
	fe := &st.fetch
	if fe.strict || len(fe.queues) == 1 {
		for qi, q := range fe.queues {
			for k > 0 && q.n > 0 {
				r := q.take(k)
				k -= r.n
				st.begin(p, qi, r, f)
			}
			if k == 0 {
				return
			}
		}
		return
	}
	picked, left := fe.picked, fe.left
	var total int32
	var queued int64
	open := 0
	for i, q := range fe.queues {
		picked[i], left[i] = 0, q.n
		if q.n > 0 {
			total += fe.weights[i]
			queued += q.n
			open++
		}
	}
	if open == 1 || k == queued {
		// The fetches take every queued job, or all from the one non-empty queue: whatever
		// the draws, the same jobs start at f, so there is nothing to draw.
		for i := range picked {
			picked[i] = min(left[i], k)
		}
		k = 0
	}
	for range k {
		r := int32(rng.below(uint32(total)))
		for i, w := range fe.weights {
			if left[i] == 0 {
				continue
			}
			if r < w {
				picked[i]++
				if left[i]--; left[i] == 0 {
					total -= w
				}
				break
			}
			r -= w
		}
	}
	for qi, q := range fe.queues {
		for m := picked[qi]; m > 0; {
			r := q.take(m)
			m -= r.n
			st.begin(p, qi, r, f)
		}
	}
}

// begin starts run r, taken from queue qi, on r.n threads of pod p at instant f.
func (st *workerState) begin(p *pod, qi int, r run, f float64) {
	res := st.res
	wait := f - float64(r.enq)
	res.hist.addN(wait, r.n)
	if wait > res.Goal {
		res.OverGoal += r.n
	}
	res.Started[qi] += r.n
	st.groups.push(group{free: f + float64(r.service), start: f, pod: p, job: r, qi: int32(qi), seq: p.seq})
}

// draws hands out the fetches' random numbers: each PCG step gives two 32-bit halves.
type draws struct {
	src  *rand.PCG
	word uint64
	half bool // the high half of word is unused
}

// below draws a uniform integer in [0, n), n > 0: the high half of a random 32-bit x times n,
// drawing again in the rare case (x*n mod 2^32 below 2^32 mod n) that would bias it.
func (d *draws) below(n uint32) uint32 {
	for {
		var x uint32
		if d.half {
			x, d.half = uint32(d.word>>32), false
		} else {
			d.word, d.half = d.src.Uint64(), true
			x = uint32(d.word)
		}
		v := uint64(x) * uint64(n)
		if lo := uint32(v); lo >= n || lo >= -n%n {
			return uint32(v >> 32)
		}
	}
}
