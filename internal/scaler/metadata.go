package scaler

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Metric is what a trigger measures.
type Metric string

// The metrics the scaler serves.
const (
	// MetricLatency is the seconds since the oldest waiting job of the worker's queues was
	// enqueued (the max over the queues). Use it with metricType: Value.
	MetricLatency Metric = "latency"
	// MetricUtilization is busy threads / (processes x concurrency) over the Sidekiq processes
	// of the worker's pods. Use it with metricType: Value.
	MetricUtilization Metric = "utilization"
	// MetricBacklog is the jobs waiting in the worker's queues (optionally plus the due part of
	// the retry and schedule sets): what the redis trigger counts. Use it with AverageValue.
	MetricBacklog Metric = "backlog"
)

// Trigger metadata keys (the `metadata` of a KEDA `external` or `external-push` trigger).
const (
	KeyMetric            = "metric"
	KeyDeployment        = "deployment"
	KeyQueues            = "queues"
	KeyTarget            = "target"
	KeyActivationBacklog = "activationBacklog"
	KeyIncludeDue        = "includeDue"
)

// kedaKeys are the keys of KEDA's own external trigger, which KEDA passes on with the rest.
var kedaKeys = []string{"scalerAddress", "enableTLS", "unsafeSsl"}

// Trigger is one trigger's metadata, checked: which worker, which metric, which target.
type Trigger struct {
	Metric Metric
	// Deployment is the worker's Deployment: its pods are named <deployment>-<hash>-<suffix>,
	// and so are the hostnames of the Sidekiq processes on them.
	Deployment string
	// Queues are the queues the worker consumes, sorted, without duplicates.
	Queues []string
	// Target is the HPA target: latency seconds, a utilization fraction, or jobs per replica.
	Target float64
	// ActivationBacklog: the worker is active (KEDA scales it from 0, and keeps it above 0)
	// while more jobs than this wait, or while any of its threads run a job.
	ActivationBacklog int64
	// IncludeDue counts the jobs of the retry and schedule sets that are due for the worker's
	// queues into the backlog and its activity: Sidekiq's poller is about to push them.
	IncludeDue bool
}

// MetricName is the name the trigger's metric has towards KEDA (which prefixes "s<index>-").
func (t Trigger) MetricName() string { return "sidekiq-" + string(t.Metric) }

// ParseTrigger checks a trigger's metadata and reports every problem at once, each naming the
// key and what to write.
func ParseTrigger(md map[string]string) (Trigger, error) {
	var t Trigger
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("metadata.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	switch m := Metric(md[KeyMetric]); m {
	case MetricLatency, MetricUtilization, MetricBacklog:
		t.Metric = m
	case "":
		bad(KeyMetric, "required: latency, utilization or backlog")
	default:
		bad(KeyMetric, "%q is not a metric: write latency, utilization or backlog", string(m))
	}
	if t.Deployment = md[KeyDeployment]; t.Deployment == "" {
		bad(KeyDeployment, "required: the worker's Deployment (its pods, and so its Sidekiq processes, are named after it)")
	}
	for _, q := range strings.Split(md[KeyQueues], ",") {
		if q = strings.TrimSpace(q); q != "" {
			t.Queues = append(t.Queues, q)
		}
	}
	sort.Strings(t.Queues)
	if t.Queues = slices.Compact(t.Queues); len(t.Queues) == 0 {
		bad(KeyQueues, `required: the worker's queues, comma-separated, e.g. "push,pull"`)
	}
	target, err := strconv.ParseFloat(md[KeyTarget], 64)
	switch {
	case md[KeyTarget] == "":
		bad(KeyTarget, "required: the HPA target (latency seconds, a utilization fraction such as 0.7, or jobs per replica)")
	case err != nil || target <= 0 || math.IsInf(target, 0) || math.IsNaN(target):
		bad(KeyTarget, "%q must be a positive number", md[KeyTarget])
	case t.Metric == MetricUtilization && target > 1:
		bad(KeyTarget, "%q: a utilization target is a fraction of the threads, at most 1 (e.g. 0.7)", md[KeyTarget])
	default:
		t.Target = target
	}
	if v, ok := md[KeyActivationBacklog]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			bad(KeyActivationBacklog, "%q must be a whole number of jobs, 0 or more", v)
		}
		t.ActivationBacklog = n
	}
	if v, ok := md[KeyIncludeDue]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad(KeyIncludeDue, `%q must be "true" or "false"`, v)
		}
		t.IncludeDue = b
	}
	for _, k := range unknownKeys(md) {
		bad(k, "unknown key: the scaler reads %s (and KEDA's %s)", strings.Join(ownKeys(), ", "), strings.Join(kedaKeys, ", "))
	}
	return t, errors.Join(errs...)
}

func ownKeys() []string {
	return []string{KeyMetric, KeyDeployment, KeyQueues, KeyTarget, KeyActivationBacklog, KeyIncludeDue}
}

func unknownKeys(md map[string]string) []string {
	var out []string
	for k := range md {
		if !slices.Contains(ownKeys(), k) && !slices.Contains(kedaKeys, k) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
