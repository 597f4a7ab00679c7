package simulate

// becomeReady makes the threads of pods whose start-up ends at t idle: one group, free since
// t, that fetches from t on.
func (st *workerState) becomeReady(t int) {
	if st.starting == 0 {
		return
	}
	for _, p := range st.pods {
		if !p.ready && !p.stopping && p.readyAt <= t {
			p.ready = true
			st.starting--
			st.groups.push(group{free: float64(t), start: float64(t), pod: p, job: run{n: int64(st.conc)}, seq: p.seq})
		}
	}
}

// live is the Deployment's replica count: pods not stopping.
func (st *workerState) live() int32 { return int32(len(st.pods) - st.stopping) }

// autoscale runs KEDA's polling loop and the HPA's sync when their periods come round.
func (st *workerState) autoscale(t int, down bool, startup int) {
	so := st.so
	current := st.live()
	poll := t == so.nextPoll
	if poll {
		so.nextPoll += so.polling
	}
	if poll && !down {
		active := false
		for _, q := range st.fetch.queues {
			if int64(q.len()) > so.activation {
				active = true
			}
		}
		switch {
		case active:
			so.lastActive = t
			if current == 0 {
				current = max(so.min, 1)
				st.scaleTo(t, current, startup)
			}
		case current > 0 && so.min == 0 && t-so.lastActive >= so.cooldown:
			current = 0
			st.scaleTo(t, 0, startup)
		}
	}
	if t%HPASyncPeriod != 0 {
		return
	}
	metrics := st.metrics[:0]
	for range st.fetch.queues {
		metrics = append(metrics, Metric{})
	}
	ok := true
	if down {
		so.failures++
		ok = false
		if so.fallback != nil && so.failures > *so.fallback.FailureThreshold {
			// KEDA answers a failing AverageValue metric with fallback.replicas x target.
			for i := range metrics {
				metrics[i] = Metric{Value: float64(*so.fallback.Replicas) * so.listLength[i], Target: so.listLength[i]}
			}
			ok = true
		}
	} else {
		so.failures = 0
		for i, q := range st.fetch.queues {
			metrics[i] = Metric{Value: float64(q.len()), Target: so.listLength[i]}
		}
		if so.latencyGoal > 0 {
			// The exporters read Redis too, so the latency metric is only there while Redis is;
			// KEDA's fallback covers AverageValue metrics only.
			metrics = append(metrics, Metric{Value: st.oldestWait(t), Target: so.latencyGoal, Absolute: true})
		}
	}
	st.metrics = metrics
	if desired := so.hpa.Reconcile(t, current, metrics, ok); desired != current {
		st.scaleTo(t, desired, startup)
	}
}

// oldestWait is the age in seconds of the oldest job waiting in any of the worker's queues:
// max over the queues, as the latency trigger's query takes it.
func (st *workerState) oldestWait(t int) float64 {
	var wait float64
	for _, q := range st.fetch.queues {
		if q.len() > 0 {
			wait = max(wait, float64(int32(t)-q.oldest()))
		}
	}
	return wait
}

// scaleTo sets the Deployment's replicas: new pods start, and scale-in removes pods that are
// not ready first, then the newest; a removed ready pod stops fetching and exits when its
// running jobs end (Sidekiq's TERM, within -t).
func (st *workerState) scaleTo(t int, n int32, startup int) {
	live := st.live()
	for ; live < n; live++ {
		st.pods = append(st.pods, st.newPod(t, t+startup))
	}
	if live <= n {
		return
	}
	removed := false
	for pass := 0; pass < 2 && live > n; pass++ {
		for i := len(st.pods) - 1; i >= 0 && live > n; i-- {
			p := st.pods[i]
			if p.stopping || p.ready != (pass == 1) {
				continue
			}
			p.stopping = true
			st.stopping++
			if !p.ready {
				st.starting--
			}
			p.doneAt = float64(t)
			live--
			removed = removed || p.ready
		}
	}
	if !removed {
		st.dropStopped(float64(t))
		return
	}
	// Sidekiq on TERM stops fetching and waits -t seconds for running jobs; those still running
	// then go back to their queue and run again elsewhere.
	deadline := float64(t) + float64(st.timeout)
	running := st.groups.all() // idle groups of a stopping pod go too: it fetches no more
	kept := 0
	for _, g := range running {
		p := g.pod
		if !p.stopping {
			running[kept] = g
			kept++
			continue
		}
		if g.free <= deadline {
			p.doneAt = max(p.doneAt, g.free)
			continue
		}
		st.requeues = append(st.requeues, requeue{at: t + int(st.timeout), q: st.fetch.queues[g.qi], r: g.job})
		wait := g.start - float64(g.job.enq)
		if wait > st.res.Goal {
			st.res.OverGoal -= g.job.n
		}
		st.res.hist.removeN(wait, g.job.n)
		st.res.Requeued += g.job.n
		p.doneAt = max(p.doneAt, deadline)
	}
	st.groups.keep(kept)
	st.dropStopped(float64(t))
}

// newPod is a pod created at t that becomes ready at readyAt, reusing an exited one.
func (st *workerState) newPod(t, readyAt int) *pod {
	if n := len(st.spare); n > 0 {
		p := st.spare[n-1]
		st.spare = st.spare[:n-1]
		*p = pod{created: t, readyAt: readyAt, seq: st.seq}
		st.seq++
		st.starting++
		return p
	}
	st.seq++
	st.starting++
	if len(st.arena) < cap(st.arena) {
		st.arena = append(st.arena, pod{created: t, readyAt: readyAt, seq: st.seq - 1})
		return &st.arena[len(st.arena)-1]
	}
	return &pod{created: t, readyAt: readyAt, seq: st.seq - 1}
}

// dropStopped removes stopping pods whose last job has ended by now.
func (st *workerState) dropStopped(now float64) {
	if st.stopping == 0 {
		return
	}
	kept := st.pods[:0]
	for _, p := range st.pods {
		if p.stopping && p.doneAt <= now {
			st.spare = append(st.spare, p)
			st.stopping--
			continue
		}
		kept = append(kept, p)
	}
	st.pods = kept
}
