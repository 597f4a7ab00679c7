package simulate

import "math"

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

func (h *waitHist) add(w float64) {
	w = max(w, 0)
	h.n++
	h.max = max(h.max, w)
	if i := int(w * 10); i < len(h.fine) {
		h.fine[i]++
		return
	}
	i := int(w) - 600
	for len(h.coarse) <= i {
		h.coarse = append(h.coarse, 0)
	}
	h.coarse[i]++
}

// remove takes back a wait added before (a job that was requeued and will start again).
func (h *waitHist) remove(w float64) {
	w = max(w, 0)
	h.n--
	if i := int(w * 10); i < len(h.fine) {
		h.fine[i]--
		return
	}
	h.coarse[int(w)-600]--
}

func (h *waitHist) merge(o *waitHist) {
	for i, c := range o.fine {
		h.fine[i] += c
	}
	for len(h.coarse) < len(o.coarse) {
		h.coarse = append(h.coarse, 0)
	}
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
