package postrender

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

var (
	specPath    = field.NewPath("spec")
	redisPath   = specPath.Child("redis")
	workersPath = specPath.Child("workers")
)

// release is one Mastodon release: its Sidekiq workers, by app.kubernetes.io/instance.
type release struct {
	name    string
	workers []*Worker
}

func (r *release) worker(name string) *Worker {
	for _, w := range r.workers {
		if w.Name == name {
			return w
		}
	}
	return nil
}

// inferLayout completes the user's layout (or builds one) from what release r runs. Only
// fields the user left unset are filled, so what the layout states explicitly wins; defaults
// come later, from layout.Default.
func inferLayout(m *Manifests, r *release, opts Options, f *findings) *layout.SidekiqLayout {
	first := r.workers[0]
	version, versionOK := inferVersion(opts.Layout, first, f)
	var l *layout.SidekiqLayout
	switch {
	case opts.attach() && opts.Layout != nil:
		// A layout without workers or preset states only what differs (Redis, the budget):
		// the release's own workers are autoscaled with it.
		l = layout.Clone(opts.Layout)
		l.Spec.Workers = attachLayout(r, f).Spec.Workers
	case opts.Layout != nil:
		l = layout.Clone(opts.Layout)
	case opts.Preset != "":
		if !versionOK {
			return nil
		}
		v, _ := layout.ParseMastodonVersion(version)
		p, err := layout.Preset(opts.Preset, v)
		if err != nil {
			f.add(layout.Error, layout.Location{}, "%v", err)
			return nil
		}
		l = p
	default:
		l = attachLayout(r, f)
	}
	spec := &l.Spec
	if spec.MastodonVersion == "" {
		spec.MastodonVersion = version
	}
	if spec.Release.Name == "" {
		spec.Release.Name = r.name
	}
	if spec.Release.Fullname == "" {
		spec.Release.Fullname = fullnameOf(first, r.name)
	}
	if spec.Release.Chart == "" {
		spec.Release.Chart = string(chartOf(first))
	}
	inferNamespace(l, first, f)
	inferRedis(&spec.Redis, first, f)
	for i := range spec.Workers {
		if rw := r.worker(spec.Workers[i].Name); rw != nil {
			complete(&spec.Workers[i], rw)
		}
	}
	return l
}

// attachLayout is the layout of what release r runs, each worker autoscaled but the one
// consuming the scheduler queue.
func attachLayout(r *release, f *findings) *layout.SidekiqLayout {
	l := &layout.SidekiqLayout{APIVersion: layout.APIVersion, Kind: layout.Kind, Metadata: layout.Metadata{Name: r.name}}
	for _, rw := range r.workers {
		w := layout.Worker{Name: rw.Name}
		complete(&w, rw)
		switch {
		case !w.ConsumesScheduler():
			w.Autoscale = &layout.Autoscale{}
		case len(w.Queues) > 1:
			f.add(layout.Warning, rw.Ref(),
				"worker %q consumes %q and other queues, so it must stay at one replica and is not autoscaled: split its queues with --preset %s or a layout", w.Name, layout.SchedulerQueue, layout.PresetSplit)
		}
		l.Spec.Workers = append(l.Spec.Workers, w)
	}
	return l
}

// complete fills the fields of w that its layout left unset from the running worker: what
// the worker runs now.
func complete(w *layout.Worker, rw *Worker) {
	if w.Concurrency == nil {
		w.Concurrency = ptr.To(rw.Sidekiq.Concurrency)
	}
	if w.Timeout == nil {
		w.Timeout = rw.Sidekiq.Timeout
	}
	if len(w.Queues) == 0 {
		w.Queues = rw.Sidekiq.layoutQueues()
	}
	if w.Autoscale == nil && w.Replicas == nil && w.ConsumesScheduler() {
		w.Replicas = rw.Replicas
	}
	timeout := int64(rw.Sidekiq.timeout())
	if w.Timeout != nil {
		timeout = int64(*w.Timeout)
	}
	// A grace period the chart already sets above the timeout is kept; a missing or too short
	// one is left to the layout's default.
	if w.TerminationGracePeriodSeconds == nil && rw.GracePeriod != nil && *rw.GracePeriod > timeout {
		w.TerminationGracePeriodSeconds = rw.GracePeriod
	}
}

// inferVersion reads the Mastodon version from the layout, else the image tag, else the
// app.kubernetes.io/version label.
func inferVersion(user *layout.SidekiqLayout, w *Worker, f *findings) (string, bool) {
	if user != nil && user.Spec.MastodonVersion != "" {
		return user.Spec.MastodonVersion, true
	}
	if w.Version != "" {
		return w.Version, true
	}
	f.addLayout(layout.Error, specPath.Child("mastodonVersion"), w.Ref(),
		"cannot tell the Mastodon version from image %q or the app.kubernetes.io/version label: set spec.mastodonVersion", w.Image)
	return "", false
}

// fullnameOf reads the chart's fullname from the Deployment name `<fullname>-sidekiq-<worker>`,
// which also covers fullnameOverride.
func fullnameOf(w *Worker, release string) string {
	if full, ok := strings.CutSuffix(w.Object.Name, "-sidekiq-"+w.Name); ok && full != "" {
		return full
	}
	return layout.Fullname(release)
}

// chartOf tells the charts apart: the legacy chart loads its Secret with envFrom, the new one
// references every secret key one by one.
func chartOf(w *Worker) layout.Chart {
	for _, e := range elements(w.ContainerNode, "envFrom") {
		if scalarAt(e, "secretRef", "name") != "" {
			return layout.ChartLegacy
		}
	}
	return layout.ChartHelmCharts
}

// inferNamespace puts new objects beside the Deployments they scale.
func inferNamespace(l *layout.SidekiqLayout, w *Worker, f *findings) {
	ns := w.Namespace
	switch {
	case l.Metadata.Namespace == ns:
	case ns == "":
		f.addLayout(layout.Warning, field.NewPath("metadata", "namespace"), w.Ref(),
			"the release's objects name no namespace (Helm installs them in the release's); the new objects follow them and %q is ignored", l.Metadata.Namespace)
		// Only the scaler's address needs the namespace in a name: KEDA's operator dials the
		// scaler's Service from its own. Install the release into the layout's namespace.
		if s := l.Spec.Scaler; s != nil && s.Image != "" && s.Address == "" {
			s.Address = layout.ScalerAddress(l.Spec.Release.Fullname, l.Metadata.Namespace)
		}
	case l.Metadata.Namespace != "":
		f.addLayout(layout.Error, field.NewPath("metadata", "namespace"), w.Ref(),
			"the Sidekiq Deployments are in namespace %q, and a ScaledObject must be in its Deployment's: set it to %q or remove it", ns, ns)
	}
	l.Metadata.Namespace = ns
}

// inferRedis fills Sidekiq's Redis as Mastodon picks it: the SIDEKIQ_REDIS_* variables when
// SIDEKIQ_REDIS_HOST is set, else REDIS_*.
func inferRedis(red *layout.Redis, w *Worker, f *findings) {
	env := w.Env
	prefix := "REDIS_"
	if _, ok := env[layout.EnvSidekiqRedisHost]; ok {
		prefix = "SIDEKIQ_REDIS_"
	}
	if red.Namespace == "" {
		if ns, ok := env[layout.EnvRedisNamespace]; ok && ns.Literal {
			red.Namespace = ns.Value
		}
	}
	if red.Host == "" && red.Address == "" && red.Sentinel == nil {
		inferRedisHost(red, w, prefix, f)
	}
	if red.Auth == nil {
		inferRedisAuth(red, w, prefix, f)
	}
}

func inferRedisHost(red *layout.Redis, w *Worker, prefix string, f *findings) {
	env := w.Env
	for _, other := range []string{"SIDEKIQ_REDIS_URL", "SIDEKIQ_REDIS_SENTINELS", "REDIS_URL", "REDIS_SENTINELS"} {
		if _, ok := env[other]; ok && (prefix == "REDIS_" || strings.HasPrefix(other, prefix)) {
			f.addLayout(layout.Error, redisPath.Child("host"), w.Ref(),
				"Sidekiq reaches Redis through %s, which the post-renderer does not read: set spec.redis.host (or address, or sentinel) and spec.redis.auth", other)
			return
		}
	}
	host, ok := env[prefix+"HOST"]
	switch {
	case !ok || host.Value == "" && host.Literal:
		f.addLayout(layout.Error, redisPath.Child("host"), w.Ref(),
			"cannot infer Sidekiq's Redis: the Sidekiq container's environment (its env and ConfigMaps) sets neither %s nor %s%s: set spec.redis.host",
			layout.EnvSidekiqRedisHost, layout.EnvRedisHost, missingRefs(w))
		return
	case !host.Literal:
		f.addLayout(layout.Error, redisPath.Child("host"), w.Ref(),
			"%sHOST comes from %s, which the post-renderer cannot read: set spec.redis.host", prefix, host.From)
		return
	}
	if layout.HasUserInfo(host.Value) {
		f.addLayout(layout.Error, redisPath.Child("host"), w.Ref(),
			"%sHOST in %s holds user information (user:password@), which would be copied into every ScaledObject: set the chart's redis.hostname to the bare host (Sidekiq reads the password from %sPASSWORD), or set spec.redis.host", prefix, host.From, prefix)
		return
	}
	red.Host = host.Value
	if port, ok := env[prefix+"PORT"]; ok && port.Literal && port.Value != "" {
		n, err := strconv.ParseInt(port.Value, 10, 32)
		if err != nil {
			f.addLayout(layout.Error, redisPath.Child("port"), w.Ref(), "%sPORT %q in %s is not a number: set spec.redis.port", prefix, port.Value, port.From)
		} else {
			red.Port = ptr.To(int32(n))
		}
	}
	if db, ok := env[prefix+"DB"]; ok && db.Literal && db.Value != "" {
		if n, err := strconv.ParseInt(db.Value, 10, 32); err == nil {
			red.DatabaseIndex = ptr.To(int32(n))
		}
	}
	if user, ok := env[prefix+"USER"]; ok && user.Literal && red.Username == "" {
		if strings.ContainsAny(user.Value, ":@/") {
			f.addLayout(layout.Error, redisPath.Child("username"), w.Ref(),
				"%sUSER in %s is not a bare Redis user name (it holds ':', '@' or '/'): it would be copied into every ScaledObject; set spec.redis.username", prefix, user.From)
			return
		}
		red.Username = user.Value
	}
}

func inferRedisAuth(red *layout.Redis, w *Worker, prefix string, f *findings) {
	pw, ok := w.Env[prefix+"PASSWORD"]
	switch {
	case !ok:
		red.Auth = &layout.RedisAuth{Disabled: true}
		f.addLayout(layout.Info, redisPath.Child("auth"), w.Ref(),
			"the Sidekiq environment has no %sPASSWORD, so Redis is taken to need none and no TriggerAuthentication is made; set spec.redis.auth if it does", prefix)
	case pw.Secret == nil:
		f.addLayout(layout.Error, redisPath.Child("auth", "secretName"), w.Ref(),
			"%sPASSWORD is a literal value in %s; KEDA reads passwords from Secrets: put it in one and set spec.redis.auth.secretName and passwordKey", prefix, pw.From)
	default:
		red.Auth = &layout.RedisAuth{SecretName: pw.Secret.Name, PasswordKey: pw.Secret.Key}
	}
}

// missingRefs names the ConfigMaps the container reads that the manifests do not hold in its
// namespace, and where one of that name is instead, for the message of a variable not found.
func missingRefs(w *Worker) string {
	var out []string
	for _, r := range w.Refs {
		switch {
		case r.Found || r.Kind != "ConfigMap":
		case r.Elsewhere != nil:
			out = append(out, fmt.Sprintf("ConfigMap %s (%s) is in namespace %s, not in the Deployment's namespace %s, so the pod cannot read it", r.Name, r.Field, nsName(*r.Elsewhere), nsName(w.Namespace)))
		default:
			out = append(out, fmt.Sprintf("ConfigMap %s (%s) is not in the manifests", r.Name, r.Field))
		}
	}
	if len(out) == 0 {
		return ""
	}
	return " (" + strings.Join(out, "; ") + ")"
}

func nsName(ns string) string {
	if ns == "" {
		return `"" (the release's)`
	}
	return ns
}
