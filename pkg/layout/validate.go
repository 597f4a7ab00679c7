package layout

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Limits Validate enforces.
const (
	MinConcurrency = 1
	MaxConcurrency = 50
	// MaxScaledObjectName keeps KEDA's "keda-hpa-<name>" HPA name within 63 characters.
	MaxScaledObjectName = 63 - len("keda-hpa-")
)

// problems gathers what the field checks find, as findings at layout field paths.
type problems struct{ findings []Finding }

func (r *problems) add(s Severity, e *field.Error) {
	r.findings = append(r.findings, Finding{Severity: s, Location: Location{Layout: e.Field}, Message: e.ErrorBody()})
}

func (r *problems) errorf(path *field.Path, value any, format string, args ...any) {
	r.add(Error, field.Invalid(path, value, fmt.Sprintf(format, args...)))
}

func (r *problems) warnf(path *field.Path, value any, format string, args ...any) {
	r.add(Warning, field.Invalid(path, value, fmt.Sprintf(format, args...)))
}

// Validate checks a defaulted layout and returns every problem it finds, each with its field
// path and what to do about it.
func Validate(l *SidekiqLayout) Report {
	var r problems
	if l.APIVersion != APIVersion {
		r.add(Error, field.NotSupported(field.NewPath("apiVersion"), l.APIVersion, []string{APIVersion}))
	}
	if l.Kind != Kind {
		r.add(Error, field.NotSupported(field.NewPath("kind"), l.Kind, []string{Kind}))
	}
	if l.Metadata.Namespace != "" {
		for _, msg := range validation.IsDNS1123Label(l.Metadata.Namespace) {
			r.errorf(field.NewPath("metadata", "namespace"), l.Metadata.Namespace, "%s", msg)
		}
	}
	spec := field.NewPath("spec")
	v, versionOK := validateVersion(&r, l.Spec.MastodonVersion, spec.Child("mastodonVersion"))
	validateRelease(&r, l.Spec.Release, spec.Child("release"))
	validateRedis(&r, &l.Spec, spec.Child("redis"))
	validateCredentials(&r, &l.Spec, spec)
	validatePreset(&r, &l.Spec, v, spec.Child("preset"))
	validateWorkers(&r, &l.Spec, v, versionOK, spec.Child("workers"))
	validateDatabase(&r, l.Spec.Database, spec.Child("database"))
	validateScalerSpec(&r, l, spec.Child("scaler"))
	rules := Check(Installation{
		Version: v, VersionKnown: versionOK, Workloads: resolved(l).Workers,
		Database: l.Spec.Database, Complete: len(l.Spec.Workers) > 0, Where: layoutFields{},
	})
	return Report{Findings: append(r.findings, rules...)}
}

func validateVersion(r *problems, s string, path *field.Path) (MastodonVersion, bool) {
	v, err := ParseMastodonVersion(s)
	if err != nil {
		r.errorf(path, s, "%v", err)
		return v, false
	}
	if !v.Supported() {
		r.errorf(path, s, "Mastodon before %s is not supported", OldestKnownMastodon)
		return v, false
	}
	if !v.Known() {
		r.warnf(path, s, "queues of Mastodon %s are not known to mastoscale; assuming those of %s", v, NewestKnownMastodon)
	}
	return v, true
}

func validateRelease(r *problems, rel Release, path *field.Path) {
	if _, err := ParseChart(rel.Chart); err != nil {
		r.add(Error, field.NotSupported(path.Child("chart"), rel.Chart,
			[]string{string(ChartLegacy), string(ChartHelmCharts)}))
	}
	for _, msg := range validation.IsDNS1123Label(rel.Name) {
		r.errorf(path.Child("name"), rel.Name, "%s", msg)
	}
	for _, msg := range validation.IsDNS1123Label(rel.Fullname) {
		r.errorf(path.Child("fullname"), rel.Fullname, "%s", msg)
	}
}

func validateRedis(r *problems, s *Spec, path *field.Path) {
	red := &s.Redis
	const noSecrets = "a layout never holds secrets: put the password in a Secret and reference it with spec.redis.auth.secretName and passwordKey"
	if red.Password != "" {
		r.add(Error, field.Forbidden(path.Child("password"), noSecrets))
	}
	if red.Sentinel != nil && red.Sentinel.Password != "" {
		r.add(Error, field.Forbidden(path.Child("sentinel", "password"), noSecrets))
	}
	targets := 0
	for _, set := range []bool{red.Host != "", red.Address != "", red.Sentinel != nil} {
		if set {
			targets++
		}
	}
	switch {
	case targets == 0:
		r.add(Error, field.Required(path.Child("host"),
			"the chart bundles no Redis: set spec.redis.host (Sidekiq's REDIS_HOST or SIDEKIQ_REDIS_HOST), spec.redis.address or spec.redis.sentinel"))
	case targets > 1:
		r.errorf(path, "", "set only one of host, address and sentinel")
	}
	if red.Port != nil && (*red.Port < 1 || *red.Port > 65535) {
		r.errorf(path.Child("port"), *red.Port, "must be a TCP port, 1 to 65535")
	}
	if red.Address != "" {
		validateAddress(r, red.Address, path.Child("address"), noSecrets)
	}
	if red.DatabaseIndex != nil && *red.DatabaseIndex < 0 {
		r.errorf(path.Child("databaseIndex"), *red.DatabaseIndex, "must be 0 or more")
	}
	if red.Sentinel != nil {
		validateSentinel(r, red.Sentinel, path.Child("sentinel"), noSecrets)
	}
	if a := red.Auth; a != nil && !a.Disabled {
		ap := path.Child("auth")
		if a.SecretName == "" {
			r.add(Error, field.Required(ap.Child("secretName"), "name the Secret holding the Redis password, or set auth.disabled: true for a Redis without one"))
		} else {
			for _, msg := range validation.IsDNS1123Subdomain(a.SecretName) {
				r.errorf(ap.Child("secretName"), a.SecretName, "%s", msg)
			}
		}
	}
	if a := red.Auth; a != nil && a.TriggerAuthenticationName != "" {
		for _, msg := range validation.IsDNS1123Subdomain(a.TriggerAuthenticationName) {
			r.errorf(path.Child("auth", "triggerAuthenticationName"), a.TriggerAuthenticationName, "%s", msg)
		}
	}
	if red.Namespace != "" {
		np := path.Child("namespace")
		if strings.ContainsAny(red.Namespace, ": \t") {
			r.errorf(np, red.Namespace, "REDIS_NAMESPACE is a bare prefix: drop the colon and spaces")
		}
	}
}

// validateAddress checks a host:port and refuses one that carries credentials.
func validateAddress(r *problems, addr string, path *field.Path, noSecrets string) {
	if strings.Contains(addr, "://") {
		u, err := url.Parse(addr)
		if err == nil && u.User != nil {
			if _, has := u.User.Password(); has {
				r.add(Error, field.Forbidden(path, noSecrets))
				return
			}
		}
		r.errorf(path, addr, "write host:port without a scheme; TLS is spec.redis.tls")
		return
	}
	if strings.Contains(addr, "@") {
		r.add(Error, field.Forbidden(path, noSecrets))
		return
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		r.errorf(path, addr, "write host:port, e.g. redis-master:6379")
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		r.errorf(path, addr, "the port must be 1 to 65535")
	}
}

func validateWorkers(r *problems, s *Spec, v MastodonVersion, versionOK bool, path *field.Path) {
	if len(s.Workers) == 0 {
		r.add(Error, field.Required(path, "list at least one worker; every queue needs a consumer"))
		return
	}
	names := map[string]bool{}
	for i := range s.Workers {
		w := &s.Workers[i]
		wp := path.Index(i)
		validateWorkerName(r, s, w.Name, wp.Child("name"))
		if names[w.Name] && w.Name != "" {
			r.add(Error, field.Duplicate(wp.Child("name"), w.Name))
		}
		names[w.Name] = true
		validateConcurrency(r, w, wp.Child("concurrency"))
		if len(w.Queues) == 0 {
			r.add(Error, field.Required(wp.Child("queues"), "list the queues this worker consumes"))
		}
		seen := map[string]bool{}
		for j, q := range w.Queues {
			qp := wp.Child("queues").Index(j)
			if q.Name == "" {
				r.add(Error, field.Required(qp.Child("name"), "name the queue"))
				continue
			}
			if seen[q.Name] {
				r.add(Error, field.Duplicate(qp.Child("name"), q.Name))
			}
			seen[q.Name] = true
			if versionOK {
				if _, ok := LookupQueue(v, q.Name); !ok {
					r.add(Error, field.NotSupported(qp.Child("name"), q.Name, QueueNames(v)))
				}
			}
			if q.Weight != nil && *q.Weight < 1 {
				r.errorf(qp.Child("weight"), *q.Weight, "must be at least 1; leave it out for an unweighted queue")
			}
			if q.ListLength != nil {
				if w.Autoscale == nil {
					r.errorf(qp.Child("listLength"), *q.ListLength, "only autoscaled workers have triggers: add an autoscale block or remove listLength")
				} else if *q.ListLength < 1 {
					r.errorf(qp.Child("listLength"), *q.ListLength, "must be at least 1: it is the backlog one replica carries")
				}
			}
		}
		validateScaling(r, w, v, versionOK, wp)
		validateDisruption(r, w, wp.Child("disruption"))
		validateBounds(r, w, wp)
	}
}

func validateWorkerName(r *problems, s *Spec, name string, path *field.Path) {
	if name == "" {
		r.add(Error, field.Required(path, "name the worker, e.g. \"ingress\""))
		return
	}
	for _, msg := range validation.IsDNS1123Label(name) {
		r.errorf(path, name, "%s", msg)
	}
	full := SidekiqDeploymentName(s.Release.Fullname, name)
	if len(full) > MaxScaledObjectName {
		r.errorf(path, name, "the Deployment and ScaledObject name %q is %d characters; KEDA allows %d (its HPA is keda-hpa-<name>): shorten the worker or release name", full, len(full), MaxScaledObjectName)
	}
}

func validateConcurrency(r *problems, w *Worker, path *field.Path) {
	if w.Concurrency == nil {
		return
	}
	c := *w.Concurrency
	// Fewer than one thread is a Mastodon rule (Check); more than MaxConcurrency is mastoscale's limit.
	if c > MaxConcurrency {
		r.errorf(path, c, "must be %d to %d threads", MinConcurrency, MaxConcurrency)
	}
}

func validateScaling(r *problems, w *Worker, v MastodonVersion, versionOK bool, wp *field.Path) {
	if w.Replicas != nil && w.Autoscale != nil {
		r.errorf(wp.Child("replicas"), *w.Replicas, "a worker has fixed replicas or autoscale, not both: remove one")
	}
	if w.Replicas != nil && *w.Replicas < 0 {
		r.errorf(wp.Child("replicas"), *w.Replicas, "must be 0 or more")
	}
	if w.Timeout != nil && *w.Timeout < 1 {
		r.errorf(wp.Child("timeout"), *w.Timeout, "must be at least 1 second")
	}
	a := w.Autoscale
	if a == nil {
		return
	}
	ap := wp.Child("autoscale")
	if a.MinReplicas != nil && *a.MinReplicas < 0 {
		r.errorf(ap.Child("minReplicas"), *a.MinReplicas, "must be 0 or more")
	}
	if a.MaxReplicas != nil && *a.MaxReplicas < 1 {
		r.errorf(ap.Child("maxReplicas"), *a.MaxReplicas, "must be at least 1")
	}
	if a.MinReplicas != nil && a.MaxReplicas != nil && *a.MinReplicas > *a.MaxReplicas {
		r.errorf(ap.Child("maxReplicas"), *a.MaxReplicas, "must be at least minReplicas (%d)", *a.MinReplicas)
	}
	if a.ListLength != nil && *a.ListLength < 1 {
		r.errorf(ap.Child("listLength"), *a.ListLength, "must be at least 1: it is the backlog one replica carries")
	}
	if a.LatencyTarget != nil && a.LatencyTarget.Duration <= 0 {
		r.errorf(ap.Child("latencyTarget"), a.LatencyTarget.Duration.String(), "must be a positive duration, e.g. \"30s\"")
	}
	if a.ThroughputPerThread != nil && *a.ThroughputPerThread <= 0 {
		r.errorf(ap.Child("throughputPerThread"), float64(*a.ThroughputPerThread), "must be a positive number of jobs per second per thread, e.g. 2")
	}
	// With a latency trigger (Prometheus, or the Sidekiq scaler's), latencyTarget alone is its
	// threshold and sizes nothing.
	latencyMeasured := a.LatencyTrigger != nil || a.Scaler == ScalerSidekiq
	if (a.LatencyTarget == nil) != (a.ThroughputPerThread == nil) && (!latencyMeasured || a.LatencyTarget == nil) {
		missing := "throughputPerThread"
		if a.LatencyTarget == nil {
			missing = "latencyTarget"
		}
		r.add(Warning, field.Required(ap.Child(missing), "set latencyTarget and throughputPerThread together: one alone cannot size listLength"))
	}
	if a.ActivationListLength != nil && *a.ActivationListLength < 0 {
		r.errorf(ap.Child("activationListLength"), *a.ActivationListLength, "must be 0 or more")
	}
	if a.PollingInterval != nil && *a.PollingInterval < 1 {
		r.errorf(ap.Child("pollingInterval"), *a.PollingInterval, "must be at least 1 second")
	}
	if a.CooldownPeriod != nil && *a.CooldownPeriod < 0 {
		r.errorf(ap.Child("cooldownPeriod"), *a.CooldownPeriod, "must be 0 or more seconds")
	}
	validateAutoscaleTail(r, w, v, versionOK, wp)
}

func validateDatabase(r *problems, d Database, path *field.Path) {
	if d.MaxConnections < 0 {
		r.errorf(path.Child("maxConnections"), d.MaxConnections, "must be 0 (no check) or more")
	}
	if d.Reserved < 0 {
		r.errorf(path.Child("reserved"), d.Reserved, "must be 0 or more")
	}
	if d.MaxConnections > 0 && d.Reserved >= d.MaxConnections {
		r.errorf(path.Child("reserved"), d.Reserved, "leaves no connections for Sidekiq under maxConnections (%d)", d.MaxConnections)
	}
}

// validatePreset checks spec.preset. Default expands a known preset into the workers, so
// here the workers are the preset's, unless the layout listed its own too.
func validatePreset(r *problems, s *Spec, v MastodonVersion, path *field.Path) {
	if s.Preset == "" {
		return
	}
	p, err := Preset(s.Preset, v)
	if err != nil {
		r.add(Error, field.NotSupported(path, s.Preset, Presets))
		return
	}
	names := func(ws []Worker) []string {
		out := make([]string, len(ws))
		for i, w := range ws {
			out[i] = w.Name
		}
		return out
	}
	if !slices.Equal(names(s.Workers), names(p.Spec.Workers)) {
		r.errorf(path, s.Preset, "a layout has a preset or workers, not both: remove spec.preset or spec.workers")
	}
}
