package scaler

import (
	"fmt"
	"time"

	"github.com/mastoscale/mastoscale/internal/sidekiq"
)

// Reading is what one pipeline read from Sidekiq's Redis: the queues some trigger asked for,
// every live process, and the due jobs of the retry and schedule sets when a trigger counts
// them. Every trigger asking within MaxAge of Time is served from the same Reading.
type Reading struct {
	Time time.Time
	// Err is set when Redis could not be read at all: every trigger gets it.
	Err error

	queues    map[string]queueResult
	processes []sidekiq.Process
	// processErr is set when the registry could not be read; badHosts holds the hosts whose
	// heartbeat could not be read, so only their Deployment's triggers fail.
	processErr error
	badHosts   map[string]error
	dueRead    bool
	due        map[string]int64
	dueErr     error
}

type queueResult struct {
	queue sidekiq.Queue
	err   error
}

// covers reports whether r holds everything t needs.
func (r *Reading) covers(t Trigger) bool {
	if r.Err != nil {
		return true
	}
	if t.IncludeDue && !r.dueRead {
		return false
	}
	for _, q := range t.Queues {
		if _, ok := r.queues[q]; !ok {
			return false
		}
	}
	return true
}

// Value is the value of t's metric.
func (r *Reading) Value(t Trigger) (float64, error) {
	switch t.Metric {
	case MetricLatency:
		return r.latency(t)
	case MetricUtilization:
		u, err := r.usage(t)
		if err != nil {
			return 0, err
		}
		if v, ok := u.Utilization(); ok {
			return v, nil
		}
		// No process of the worker runs (it is at zero, or its pods are still booting): there is
		// nothing to measure, so report the target itself. The HPA's ratio is then exactly 1 and
		// it keeps the replica count, instead of scaling a booting worker in (0) or dividing
		// zero by zero (NaN).
		return t.Target, nil
	default:
		n, err := r.backlog(t)
		return float64(n), err
	}
}

// Active reports whether t's worker is active: more jobs than ActivationBacklog wait (due
// ones included with IncludeDue), or its pods run jobs.
func (r *Reading) Active(t Trigger) (bool, error) {
	n, err := r.backlog(t)
	if err != nil {
		return false, err
	}
	if n > t.ActivationBacklog {
		return true, nil
	}
	u, err := r.usage(t)
	if err != nil {
		return false, err
	}
	return u.Running > 0, nil
}

// latency is the oldest job's wait, the max over t's queues.
func (r *Reading) latency(t Trigger) (float64, error) {
	if r.Err != nil {
		return 0, r.Err
	}
	var worst float64
	for _, name := range t.Queues {
		q, err := r.queue(name)
		if err != nil {
			return 0, err
		}
		worst = max(worst, q.Latency(r.Time))
	}
	return worst, nil
}

// backlog is the jobs waiting in t's queues, plus the due ones with IncludeDue.
func (r *Reading) backlog(t Trigger) (int64, error) {
	if r.Err != nil {
		return 0, r.Err
	}
	var n int64
	for _, name := range t.Queues {
		q, err := r.queue(name)
		if err != nil {
			return 0, err
		}
		n += q.Backlog
		if t.IncludeDue {
			if r.dueErr != nil {
				return 0, r.dueErr
			}
			n += r.due[name]
		}
	}
	return n, nil
}

func (r *Reading) queue(name string) (sidekiq.Queue, error) {
	q, ok := r.queues[name]
	if !ok {
		return sidekiq.Queue{}, fmt.Errorf("queue %q was not read", name) // cannot happen: covers
	}
	return q.queue, q.err
}

// usage is what the processes on t's Deployment's pods do. A heartbeat that cannot be read
// fails the triggers of the Deployment it belongs to, not the others.
func (r *Reading) usage(t Trigger) (sidekiq.Usage, error) {
	if r.Err != nil {
		return sidekiq.Usage{}, r.Err
	}
	if r.processErr != nil {
		return sidekiq.Usage{}, r.processErr
	}
	for host, err := range r.badHosts {
		if sidekiq.IsPodOf(host, t.Deployment) {
			return sidekiq.Usage{}, err
		}
	}
	return sidekiq.UsageOf(r.processes, t.Deployment), nil
}
