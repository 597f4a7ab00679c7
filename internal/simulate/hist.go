package simulate

import (
	"math"
	"slices"
)

func (r *WorkerResult) finish() {
	r.Jobs = r.hist.n
	r.P50, r.P95, r.P99, r.Max = r.hist.quantile(0.50), r.hist.quantile(0.95), r.hist.quantile(0.99), r.hist.max
}

// waitHist is a histogram of waits: 0.1 s buckets up to 10 minutes, 1 s buckets beyond.
type waitHist struct {
	fine   [6000]int64
	coarse []int64
	n      int64
	max    float64
}

func (h *waitHist) add(w float64) { h.addN(w, 1) }

// addN adds n waits of w seconds.
func (h *waitHist) addN(w float64, n int64) {
	h.n += n
	if w <= 0 { // most jobs start in the second they arrive
		h.fine[0] += n
		return
	}
	if w > h.max { // plain comparisons: the max builtin's NaN and -0 cases cost a third of addN
		h.max = w
	}
	if i := int(w * 10); i < len(h.fine) {
		h.fine[i] += n
		return
	}
	i := int(w) - 600
	h.grow(i + 1)
	h.coarse[i] += n
}

// removeN takes back n waits of w added before (jobs that were requeued and will start again).
func (h *waitHist) removeN(w float64, n int64) {
	w = max(w, 0)
	h.n -= n
	if i := int(w * 10); i < len(h.fine) {
		h.fine[i] -= n
		return
	}
	h.coarse[int(w)-600] -= n
}

// grow makes room for n coarse buckets, an hour of them at a time.
func (h *waitHist) grow(n int) {
	if n <= len(h.coarse) {
		return
	}
	if n > cap(h.coarse) {
		h.coarse = slices.Grow(h.coarse, (n+3599)/3600*3600-len(h.coarse))
	}
	h.coarse = h.coarse[:n]
}

func (h *waitHist) merge(o *waitHist) {
	for i, c := range o.fine {
		h.fine[i] += c
	}
	h.grow(len(o.coarse))
	for i, c := range o.coarse {
		h.coarse[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the lower edge of the bucket holding the q-th wait.
func (h *waitHist) quantile(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(h.n)))
	var seen int64
	for i, c := range h.fine {
		if seen += c; seen >= rank {
			return float64(i) / 10
		}
	}
	for i, c := range h.coarse {
		if seen += c; seen >= rank {
			return float64(600 + i)
		}
	}
	return h.max
}
