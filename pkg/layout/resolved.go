package layout

import (
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// Layout is a SidekiqLayout resolved: every default applied, every rule checked, and no
// pointers left, so nothing downstream asks whether a field was set. Resolve makes one; the
// renderer, the post-renderer, simulate and status consume it.
type Layout struct {
	// Name and Namespace are the layout's metadata; Namespace is where every object goes
	// ("" leaves it to the release, as Helm does).
	Name, Namespace string
	Version         MastodonVersion
	Release         ReleaseNames
	// Image, when the layout states one, is set on every worker; "" keeps each worker's own.
	Image    string
	Redis    RedisTarget
	Database Database
	Workers  []Workload
	// Scaler is mastoscale's external scaler, for the workers that scale with it.
	Scaler ScalerTarget
}

// ReleaseNames are the names of the Helm release the workers belong to.
type ReleaseNames struct {
	Name     string
	Chart    Chart
	Fullname string
}

// RedisTarget is Sidekiq's Redis as KEDA reaches it.
type RedisTarget struct {
	// Exactly one of Host (with Port), Address and SentinelAddresses is set.
	Host              string
	Port              int32
	Address           string
	SentinelMaster    string
	SentinelAddresses []string
	// DatabaseIndex is SIDEKIQ_REDIS_DB / REDIS_DB, stated when HasDatabaseIndex (a stated 0
	// is rendered too).
	DatabaseIndex    int32
	HasDatabaseIndex bool
	TLS              bool
	UnsafeSSL        bool
	Username         string
	// Namespace is REDIS_NAMESPACE (Mastodon 4.3 and older).
	Namespace string
	// Auth is the Secret with the password and, optionally, the username; Auth.Name is ""
	// when Redis needs no password.
	Auth                  RedisSecret
	TriggerAuthentication string
}

// RedisSecret names the Secret keys holding Redis credentials.
type RedisSecret struct {
	Name, PasswordKey, UsernameKey string
}

// Workload is one Sidekiq worker group as it runs: the neutral description every Mastodon rule
// checks, whether it comes from a layout or from what a manifest's Deployment runs.
type Workload struct {
	Name   string
	Queues []WorkloadQueue
	// Concurrency is Sidekiq's thread count; ConcurrencyFrom says where it comes from, for
	// messages ("-c", "SIDEKIQ_CONCURRENCY", "Mastodon's default").
	Concurrency     int32
	ConcurrencyFrom string
	// Timeout is Sidekiq's -t; GracePeriod the pod's terminationGracePeriodSeconds.
	Timeout     int32
	GracePeriod int64
	// Replicas is the fixed replica count of a worker that is not autoscaled.
	Replicas   int32
	Autoscaled bool
	// Scaling is how an autoscaled worker scales.
	Scaling Scaling
	// DBPool is the database pool per process; 0 means it follows Concurrency (Mastodon 4.3+).
	// DBPoolFrom says where it comes from, for messages.
	DBPool     int32
	DBPoolFrom string
	// RedisNamespace is the REDIS_NAMESPACE the worker's processes run with.
	RedisNamespace string
}

// WorkloadQueue is one queue a worker consumes.
type WorkloadQueue struct {
	Name string
	// Weight is Sidekiq's queue weight; 0 is unweighted.
	Weight int32
	// ListLength is the backlog per replica of the queue's trigger (autoscaled workers).
	ListLength int64
}

// Scaling is the KEDA scaling of an autoscaled worker.
type Scaling struct {
	MinReplicas, MaxReplicas int32
	// ListLength is the worker's backlog per replica; a queue's own (WorkloadQueue) may differ.
	ListLength int64
	// ActivationListLength is the backlog that wakes a sleeping worker, stated when
	// HasActivation (KEDA's default is 0).
	ActivationListLength int64
	HasActivation        bool
	PollingInterval      int32
	CooldownPeriod       int32
	// FailureThreshold and FallbackReplicas are KEDA's fallback; 0 failures means none.
	FailureThreshold int32
	FallbackReplicas int32
	Behavior         autoscalingv2.HorizontalPodAutoscalerBehavior
	// LatencyTarget is the worker's latency goal, 0 without one; ThroughputPerThread the jobs
	// per second one thread completes as the layout states it, 0 when it does not.
	LatencyTarget       time.Duration
	ThroughputPerThread float64
	// LatencyExporter and PrometheusAddress describe the latency trigger; "" without one.
	LatencyExporter   string
	PrometheusAddress string
	// Scaler is ScalerRedis or ScalerSidekiq; UtilizationTarget the busy-thread fraction the
	// Sidekiq scaler aims at, 0 without one.
	Scaler            string
	UtilizationTarget float64
	// IncludeDue counts the due retries and scheduled jobs into the Sidekiq scaler's backlog.
	IncludeDue bool
}

// ConsumesScheduler reports whether w consumes the scheduler queue.
func (w Workload) ConsumesScheduler() bool { return w.Consumes(SchedulerQueue) }

// Consumes reports whether w consumes queue.
func (w Workload) Consumes(queue string) bool {
	for _, q := range w.Queues {
		if q.Name == queue {
			return true
		}
	}
	return false
}

// QueueNames returns the names of w's queues in order.
func (w Workload) QueueNames() []string {
	names := make([]string, len(w.Queues))
	for i, q := range w.Queues {
		names[i] = q.Name
	}
	return names
}

// MaxReplicas is the most replicas w can run: its autoscaling maximum or its fixed count.
func (w Workload) MaxReplicas() int32 {
	if w.Autoscaled {
		return w.Scaling.MaxReplicas
	}
	return w.Replicas
}

// MinReplicas is the fewest replicas w runs: its autoscaling minimum or its fixed count.
func (w Workload) MinReplicas() int32 {
	if w.Autoscaled {
		return w.Scaling.MinReplicas
	}
	return w.Replicas
}

// Worker returns the worker named name, or false.
func (l *Layout) Worker(name string) (Workload, bool) {
	for _, w := range l.Workers {
		if w.Name == name {
			return w, true
		}
	}
	return Workload{}, false
}

// DeploymentName is the Deployment of worker w: `<fullname>-sidekiq-<worker>`, as the charts
// name it.
func (l *Layout) DeploymentName(w Workload) string {
	return SidekiqDeploymentName(l.Release.Fullname, w.Name)
}
