package layout

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// APIVersion and Kind identify a SidekiqLayout document.
const (
	APIVersion = "mastoscale.dev/v1alpha1"
	Kind       = "SidekiqLayout"
)

// SidekiqLayout is the Sidekiq worker layout of one Mastodon server.
type SidekiqLayout struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Metadata   Metadata `json:"metadata,omitempty"`
	Spec       Spec     `json:"spec"`
}

// Metadata names the layout. Namespace is the namespace every rendered object goes to;
// annotations are kept so the layout can serve as a KRM functionConfig.
type Metadata struct {
	Name        string            `json:"name,omitempty"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Spec is the body of a SidekiqLayout.
type Spec struct {
	// MastodonVersion picks the queue catalogue and the REDIS_NAMESPACE rule ("4.3", "4.6.1").
	MastodonVersion string `json:"mastodonVersion,omitempty"`
	// Release names the Helm release and chart whose naming conventions objects follow.
	Release Release `json:"release,omitempty"`
	// Image, when set, is the image of every worker's Deployment; unset, each worker keeps the
	// image its chart gives it.
	Image string `json:"image,omitempty"`
	// Redis is where Sidekiq's Redis is: what KEDA's triggers read.
	Redis Redis `json:"redis,omitempty"`
	// Database is the Postgres connection budget the layout must fit at max replicas.
	Database Database `json:"database,omitempty"`
	// Preset builds the workers from a built-in layout (Presets) for the Mastodon version, as
	// --preset does; a layout has a preset or workers, not both. Given to the post-renderer or
	// the KRM function with neither, the release's own workers are autoscaled (attach).
	Preset string `json:"preset,omitempty"`
	// Workers are the Sidekiq worker groups, one Deployment each.
	Workers []Worker `json:"workers"`
	// Scaler is mastoscale's own KEDA external scaler, for the workers whose autoscale.scaler
	// is "sidekiq": its Deployment (with an image) or where it already runs (an address).
	Scaler *ScalerSpec `json:"scaler,omitempty"`
}

// Release names the Helm release (or kustomize base) the Sidekiq pods belong to.
type Release struct {
	// Name is the Helm release name; fullname is derived by the charts' rule. Default "mastodon".
	Name string `json:"name,omitempty"`
	// Chart is "mastodon/chart" (legacy, default) or "mastodon/helm-charts".
	Chart string `json:"chart,omitempty"`
	// Fullname overrides the derived fullname (the charts' fullnameOverride).
	Fullname string `json:"fullname,omitempty"`
}

// Redis describes Sidekiq's Redis as KEDA must reach it. Passwords are never written here:
// Auth references a Secret.
type Redis struct {
	// Host and Port, or Address ("host:port"), of the Redis server.
	Host    string `json:"host,omitempty"`
	Port    *int32 `json:"port,omitempty"`
	Address string `json:"address,omitempty"`
	// DatabaseIndex is the Redis database Sidekiq uses (SIDEKIQ_REDIS_DB / REDIS_DB).
	DatabaseIndex *int32 `json:"databaseIndex,omitempty"`
	// TLS connects with TLS.
	TLS *RedisTLS `json:"tls,omitempty"`
	// Username is the Redis ACL user, when it is not secret. Use Auth.UsernameKey otherwise.
	Username string `json:"username,omitempty"`
	// Auth references the Secret holding the password (and optionally the username).
	Auth *RedisAuth `json:"auth,omitempty"`
	// Namespace is REDIS_NAMESPACE (Mastodon 4.3 and older only): list names get "<ns>:".
	Namespace string `json:"namespace,omitempty"`
	// Sentinel makes the triggers redis-sentinel triggers.
	Sentinel *Sentinel `json:"sentinel,omitempty"`

	// Password is accepted by the parser only so that Validate can refuse it with a useful
	// message: a layout never carries a secret.
	Password string `json:"password,omitempty"`
}

// RedisTLS configures TLS to Redis.
type RedisTLS struct {
	Enabled bool `json:"enabled"`
	// UnsafeSSL skips certificate verification (KEDA's unsafeSsl).
	UnsafeSSL bool `json:"unsafeSsl,omitempty"`
}

// RedisAuth references the Secret with Redis credentials. KEDA reads it through a
// TriggerAuthentication.
type RedisAuth struct {
	// Disabled means Redis needs no password: no TriggerAuthentication is rendered.
	Disabled    bool   `json:"disabled,omitempty"`
	SecretName  string `json:"secretName,omitempty"`
	PasswordKey string `json:"passwordKey,omitempty"`
	UsernameKey string `json:"usernameKey,omitempty"`
	// TriggerAuthenticationName names the rendered TriggerAuthentication.
	// Default "<fullname>-sidekiq-redis".
	TriggerAuthenticationName string `json:"triggerAuthenticationName,omitempty"`
}

// Sentinel describes a Redis Sentinel deployment (SIDEKIQ_REDIS_SENTINELS).
type Sentinel struct {
	Master    string   `json:"master"`
	Addresses []string `json:"addresses"`
	// Password is refused like Redis.Password.
	Password string `json:"password,omitempty"`
}

// Database is the Postgres connection budget.
type Database struct {
	// MaxConnections is Postgres' (or PgBouncer's) max_connections; 0 disables the check.
	MaxConnections int32 `json:"maxConnections,omitempty"`
	// Reserved is what web, streaming and other clients use at their peak.
	Reserved int32 `json:"reserved,omitempty"`
}

// Worker is one Sidekiq worker group: one Deployment running
// `bundle exec sidekiq -c <concurrency> -q <queue>[,<weight>] ...`.
type Worker struct {
	Name string `json:"name"`
	// Concurrency is Sidekiq's -c and the pod's DB_POOL. Default 25.
	Concurrency *int32 `json:"concurrency,omitempty"`
	// Queues are consumed in weighted random order when any has a weight, else strictly in order.
	Queues []Queue `json:"queues"`
	// Replicas is a fixed replica count. A worker has Replicas or Autoscale, not both;
	// neither means one replica.
	Replicas *int32 `json:"replicas,omitempty"`
	// Autoscale scales the worker with KEDA on its queues' backlog.
	Autoscale *Autoscale `json:"autoscale,omitempty"`
	// Timeout is Sidekiq's -t in seconds. Default 25.
	Timeout *int32 `json:"timeout,omitempty"`
	// TerminationGracePeriodSeconds must exceed Timeout. Default Timeout + 5.
	TerminationGracePeriodSeconds *int64 `json:"terminationGracePeriodSeconds,omitempty"`
}

// Queue is one queue a worker consumes.
type Queue struct {
	Name string `json:"name"`
	// Weight is Sidekiq's queue weight; unset means unweighted.
	Weight *int32 `json:"weight,omitempty"`
	// ListLength overrides the worker's autoscale.listLength for this queue's trigger.
	ListLength *int64 `json:"listLength,omitempty"`
}

// Autoscale is the KEDA scaling of a worker. Defaults reproduce the well-known example:
// 1..4 replicas, 1500 jobs per replica, poll every 30 s, cool down 300 s, fall back to 2
// replicas after 3 failures, scale up by at most one pod a minute after 300 s of stability.
type Autoscale struct {
	MinReplicas *int32 `json:"minReplicas,omitempty"`
	MaxReplicas *int32 `json:"maxReplicas,omitempty"`
	// ListLength is the backlog one replica should carry (the HPA's AverageValue target).
	// Unset, it is derived from LatencyTarget and ThroughputPerThread when both are given.
	ListLength *int64 `json:"listLength,omitempty"`
	// LatencyTarget is how long a job of this worker may wait ("30s"): the worker's latency goal.
	LatencyTarget *metav1.Duration `json:"latencyTarget,omitempty"`
	// ThroughputPerThread is the jobs per second one Sidekiq thread completes (measured), as a
	// number or a string: 2, "0.5".
	ThroughputPerThread *Rate `json:"throughputPerThread,omitempty"`
	// ActivationListLength is the backlog above which KEDA wakes a worker scaled to zero.
	ActivationListLength *int64 `json:"activationListLength,omitempty"`
	PollingInterval      *int32 `json:"pollingInterval,omitempty"`
	CooldownPeriod       *int32 `json:"cooldownPeriod,omitempty"`
	// BehaviorPreset names a scale-up/scale-down pace: conservative, balanced or aggressive
	// (see BehaviorPresets). A direction set in Behavior wins over the preset's.
	BehaviorPreset string `json:"behaviorPreset,omitempty"`
	// Behavior is the HPA's scale-up and scale-down behavior.
	Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`
	// LatencyTrigger adds a KEDA prometheus trigger on the worker's queue latency, with
	// LatencyTarget as its threshold.
	LatencyTrigger *LatencyTrigger `json:"latencyTrigger,omitempty"`
	// Fallback is what KEDA does when Redis cannot be read.
	Fallback *Fallback `json:"fallback,omitempty"`
	// Scaler is what reads the worker's metrics: "redis" (KEDA's redis scaler, the queues'
	// length; default) or "sidekiq" (mastoscale's scaler: backlog, latency against
	// latencyTarget, and utilization against utilizationTarget).
	Scaler string `json:"scaler,omitempty"`
	// UtilizationTarget is the busy-thread fraction (0 < t <= 1, e.g. 0.7) the worker is
	// scaled to keep, with scaler "sidekiq".
	UtilizationTarget *float64 `json:"utilizationTarget,omitempty"`
	// IncludeDue counts the jobs of the retry and schedule sets that are due for the worker's
	// queues into its backlog, with scaler "sidekiq": Sidekiq's poller is about to push them.
	IncludeDue bool `json:"includeDue,omitempty"`
}

// Exporters of Sidekiq queue latency the latency trigger can query.
const (
	// ExporterMastodon is Mastodon's built-in Prometheus exporter (4.4 and later), whose
	// sidekiq_queue_latency_seconds is labelled `queue`.
	ExporterMastodon = "mastodon"
	// ExporterSidekiqPrometheus is sidekiq-prometheus-exporter, which labels the queue `name`.
	ExporterSidekiqPrometheus = "sidekiq-prometheus-exporter"
)

// LatencyTrigger scales a worker when its oldest waiting job is older than the worker's
// autoscale.latencyTarget, read from Prometheus.
type LatencyTrigger struct {
	// Exporter is what publishes sidekiq_queue_latency_seconds: "mastodon" (default) or
	// "sidekiq-prometheus-exporter".
	Exporter string `json:"exporter,omitempty"`
	// ServerAddress is the Prometheus server KEDA queries, e.g. http://prometheus.monitoring:9090.
	ServerAddress string `json:"serverAddress"`
}

// Fallback replaces a failing metric so the HPA lands on Replicas.
type Fallback struct {
	// Disabled renders no fallback at all.
	Disabled bool `json:"disabled,omitempty"`
	// FailureThreshold is how many failed polls in a row switch to Replicas. Default 3.
	FailureThreshold *int32 `json:"failureThreshold,omitempty"`
	// Replicas is the replica count while the metric fails. Default 2.
	Replicas *int32 `json:"replicas,omitempty"`
}
