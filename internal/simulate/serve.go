package simulate

import "math/rand/v2"

// serve lets the worker's ready threads fetch jobs during [t, t+1). Threads whose job ended
// by t are idle and fetch first, oldest pod first; then each running group fetches at the
// instant it becomes free, earliest first, while jobs are queued. Jobs arrive only at whole
// seconds, so once the queues are empty nothing more starts before t+1.
func (st *workerState) serve(t int, rng *draws) {
	now, end := float64(t), float64(t+1)
	h := &st.groups
	for h.len() > 0 && h.top().free <= now {
		g := h.pop()
		g.pod.idle += int32(g.job.n)
	}
	backlog := st.fetch.backlog()
	if backlog == 0 {
		return
	}
	var idle int64
	for _, p := range st.pods {
		idle += int64(p.idle)
	}
	// When the idle threads take every queued job, nothing more starts before t+1, so a group
	// that ends by then need not be kept: its threads are idle again at t+1 either way.
	st.settle = idle >= backlog
	st.end = end
	for _, p := range st.pods {
		if backlog == 0 {
			break
		}
		if p.idle > 0 {
			k := min(int64(p.idle), backlog)
			p.idle -= int32(k)
			backlog -= k
			st.start(p, k, now, rng)
		}
	}
	st.settle = false
	for backlog > 0 && h.len() > 0 && h.top().free < end {
		g := h.pop()
		n := g.job.n
		for h.len() > 0 && h.top().free == g.free && h.top().seq == g.seq {
			n += h.pop().job.n // threads of one pod free at one instant fetch as one
		}
		k := min(n, backlog)
		backlog -= k
		g.pod.idle += int32(n - k)
		st.start(g.pod, k, g.free, rng)
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
				st.begin(p, qi, q, r, f)
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
			st.begin(p, qi, q, r, f)
		}
	}
}

// begin starts run r, taken from queue qi, on r.n threads of pod p at instant f.
func (st *workerState) begin(p *pod, qi int, q *queue, r run, f float64) {
	res := st.res
	wait := f - float64(r.enq)
	res.hist.addN(wait, r.n)
	if wait > res.Goal {
		res.OverGoal += r.n
	}
	res.Started[qi] += r.n
	if free := f + float64(r.service); st.settle && free <= st.end {
		p.idle += int32(r.n)
		return
	}
	st.groups.push(group{free: f + float64(r.service), start: f, pod: p, q: q, job: r, seq: p.seq})
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
