package postrender

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// findings gathers what a step found.
type findings []Finding

func (f *findings) add(severity string, path *field.Path, resource *ResourceRef, format string, args ...any) {
	var p string
	if path != nil {
		p = path.String()
	}
	*f = append(*f, Finding{Severity: severity, Field: p, Resource: resource, Message: fmt.Sprintf(format, args...)})
}

func (f *findings) addReport(errs field.ErrorList, severity string) {
	for _, e := range errs {
		*f = append(*f, Finding{Severity: severity, Field: e.Field, Message: e.ErrorBody()})
	}
}

func (f findings) hasErrors() bool {
	return slices.ContainsFunc(f, func(x Finding) bool { return x.Severity == SeverityError })
}

var (
	specPath    = field.NewPath("spec")
	redisPath   = specPath.Child("redis")
	workersPath = specPath.Child("workers")
)

// inferLayout completes the user's layout (or builds one) from what release r runs. Only
// fields the user left unset are filled, so what the layout states explicitly wins; defaults
// come later, from layout.Default.
func inferLayout(s *stream, r *release, opts Options, f *findings) *layout.SidekiqLayout {
	first := r.workers[0]
	env := s.environment(first)
	version, versionOK := inferVersion(opts.Layout, first, f)

	var l *layout.SidekiqLayout
	switch {
	case opts.Layout != nil:
		l = layout.Clone(opts.Layout)
	case opts.Preset != "":
		if !versionOK {
			return nil
		}
		v, _ := layout.ParseMastodonVersion(version)
		p, err := layout.Preset(opts.Preset, v)
		if err != nil {
			f.add(SeverityError, nil, nil, "%v", err)
			return nil
		}
		l = p
	default:
		l = &layout.SidekiqLayout{APIVersion: layout.APIVersion, Kind: layout.Kind, Metadata: layout.Metadata{Name: r.name}}
		for _, rw := range r.workers {
			w := rw.layoutWorker()
			switch {
			case !w.ConsumesScheduler():
				w.Autoscale = &layout.Autoscale{}
			case len(w.Queues) > 1:
				f.add(SeverityWarning, nil, rw.doc.ref(),
					"worker %q consumes %q and other queues, so it must stay at one replica and is not autoscaled: split its queues with --preset %s or a layout", w.Name, layout.SchedulerQueue, layout.PresetSplit)
			}
			l.Spec.Workers = append(l.Spec.Workers, w)
		}
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
	if spec.Image == "" {
		spec.Image = scalarAt(first.container, "image")
	}
	inferNamespace(l, first, f)
	inferRedis(&spec.Redis, env, first, f)
	for i := range spec.Workers {
		w := &spec.Workers[i]
		if rw := r.worker(w.Name); rw != nil {
			rw.complete(w)
		}
	}
	return l
}

// layoutWorker is the worker rw runs, as a layout would state it.
func (rw *runningWorker) layoutWorker() layout.Worker {
	w := layout.Worker{Name: rw.name}
	rw.complete(&w)
	return w
}

// complete fills the fields of w that its layout left unset from the running worker.
func (rw *runningWorker) complete(w *layout.Worker) {
	if w.Concurrency == nil {
		w.Concurrency = rw.sidekiq.concurrency
	}
	if w.Timeout == nil {
		w.Timeout = rw.sidekiq.timeout
	}
	if len(w.Queues) == 0 {
		for _, q := range rw.sidekiq.queues {
			w.Queues = append(w.Queues, layout.Queue{Name: q.name, Weight: q.weight})
		}
	}
	if w.Autoscale == nil && w.Replicas == nil && w.ConsumesScheduler() {
		w.Replicas = rw.replicas
	}
	timeout := int64(layout.SidekiqDefaultTimeout)
	if w.Timeout != nil {
		timeout = int64(*w.Timeout)
	}
	// A grace period the chart already sets above the timeout is kept; a missing or too short
	// one is left to the layout's default.
	if w.TerminationGracePeriodSeconds == nil && rw.grace != nil && *rw.grace > timeout {
		w.TerminationGracePeriodSeconds = rw.grace
	}
}

func (r *release) worker(name string) *runningWorker {
	for _, w := range r.workers {
		if w.name == name {
			return w
		}
	}
	return nil
}

// inferVersion reads the Mastodon version from the layout, else the image tag, else the
// app.kubernetes.io/version label.
func inferVersion(user *layout.SidekiqLayout, w *runningWorker, f *findings) (string, bool) {
	if user != nil && user.Spec.MastodonVersion != "" {
		return user.Spec.MastodonVersion, true
	}
	image := scalarAt(w.container, "image")
	if at := strings.IndexByte(image, '@'); at >= 0 {
		image = image[:at]
	}
	if colon := strings.LastIndexByte(image, ':'); colon >= 0 && !strings.Contains(image[colon:], "/") {
		if v, err := layout.ParseMastodonVersion(image[colon+1:]); err == nil {
			return v.String(), true
		}
	}
	if label := w.doc.labels["app.kubernetes.io/version"]; label != "" {
		if v, err := layout.ParseMastodonVersion(label); err == nil {
			return v.String(), true
		}
	}
	f.add(SeverityError, specPath.Child("mastodonVersion"), w.doc.ref(),
		"cannot tell the Mastodon version from image %q or the app.kubernetes.io/version label: set spec.mastodonVersion", image)
	return "", false
}

// fullnameOf reads the chart's fullname from the Deployment name `<fullname>-sidekiq-<worker>`,
// which also covers fullnameOverride.
func fullnameOf(w *runningWorker, release string) string {
	if full, ok := strings.CutSuffix(w.doc.name, "-sidekiq-"+w.name); ok && full != "" {
		return full
	}
	return layout.Fullname(release)
}

// chartOf tells the charts apart: the legacy chart loads its Secret with envFrom, the new one
// references every secret key one by one.
func chartOf(w *runningWorker) layout.Chart {
	envFrom, _ := w.container.Pipe(yaml.Lookup("envFrom"))
	if envFrom != nil {
		elems, _ := envFrom.Elements()
		for _, e := range elems {
			if scalarAt(e, "secretRef", "name") != "" {
				return layout.ChartLegacy
			}
		}
	}
	return layout.ChartHelmCharts
}

// inferNamespace puts new objects beside the Deployments they scale.
func inferNamespace(l *layout.SidekiqLayout, w *runningWorker, f *findings) {
	ns := w.doc.namespace
	switch {
	case l.Metadata.Namespace == ns:
	case ns == "":
		f.add(SeverityWarning, field.NewPath("metadata", "namespace"), w.doc.ref(),
			"the release's objects name no namespace (Helm installs them in the release's); the new objects follow them and %q is ignored", l.Metadata.Namespace)
	case l.Metadata.Namespace != "":
		f.add(SeverityError, field.NewPath("metadata", "namespace"), w.doc.ref(),
			"the Sidekiq Deployments are in namespace %q, and a ScaledObject must be in its Deployment's: set it to %q or remove it", ns, ns)
	}
	l.Metadata.Namespace = ns
}

// inferRedis fills Sidekiq's Redis as Mastodon picks it: the SIDEKIQ_REDIS_* variables when
// SIDEKIQ_REDIS_HOST is set, else REDIS_*.
func inferRedis(red *layout.Redis, env map[string]envSource, w *runningWorker, f *findings) {
	prefix := "REDIS_"
	if _, ok := env[layout.EnvSidekiqRedisHost]; ok {
		prefix = "SIDEKIQ_REDIS_"
	}
	ref := w.doc.ref()
	if red.Namespace == "" {
		if ns, ok := env[layout.EnvRedisNamespace]; ok && ns.literal {
			red.Namespace = ns.value
		}
	}
	if red.Host == "" && red.Address == "" && red.Sentinel == nil {
		for _, other := range []string{"SIDEKIQ_REDIS_URL", "SIDEKIQ_REDIS_SENTINELS", "REDIS_URL", "REDIS_SENTINELS"} {
			if _, ok := env[other]; ok && (prefix == "REDIS_" || strings.HasPrefix(other, prefix)) {
				f.add(SeverityError, redisPath.Child("host"), ref,
					"Sidekiq reaches Redis through %s, which the post-renderer does not read: set spec.redis.host (or address, or sentinel) and spec.redis.auth", other)
				return
			}
		}
		host, ok := env[prefix+"HOST"]
		switch {
		case !ok || host.value == "" && host.literal:
			f.add(SeverityError, redisPath.Child("host"), ref,
				"cannot infer Sidekiq's Redis: the Sidekiq container's environment (its env and ConfigMaps) sets neither %s nor %s: set spec.redis.host",
				layout.EnvSidekiqRedisHost, layout.EnvRedisHost)
		case !host.literal:
			f.add(SeverityError, redisPath.Child("host"), ref,
				"%sHOST comes from %s, which the post-renderer cannot read: set spec.redis.host", prefix, host.from)
		default:
			red.Host = host.value
			if port, ok := env[prefix+"PORT"]; ok && port.literal && port.value != "" {
				n, err := strconv.ParseInt(port.value, 10, 32)
				if err != nil {
					f.add(SeverityError, redisPath.Child("port"), ref, "%sPORT %q in %s is not a number: set spec.redis.port", prefix, port.value, port.from)
				} else {
					red.Port = ptr.To(int32(n))
				}
			}
			if db, ok := env[prefix+"DB"]; ok && db.literal && db.value != "" {
				if n, err := strconv.ParseInt(db.value, 10, 32); err == nil {
					red.DatabaseIndex = ptr.To(int32(n))
				}
			}
			if user, ok := env[prefix+"USER"]; ok && user.literal && red.Username == "" {
				red.Username = user.value
			}
		}
	}
	if red.Auth == nil {
		pw, ok := env[prefix+"PASSWORD"]
		switch {
		case !ok:
			red.Auth = &layout.RedisAuth{Disabled: true}
			f.add(SeverityInfo, redisPath.Child("auth"), ref,
				"the Sidekiq environment has no %sPASSWORD, so Redis is taken to need none and no TriggerAuthentication is made; set spec.redis.auth if it does", prefix)
		case pw.secret == nil:
			f.add(SeverityError, redisPath.Child("auth", "secretName"), ref,
				"%sPASSWORD is a literal value in %s; KEDA reads passwords from Secrets: put it in one and set spec.redis.auth.secretName and passwordKey", prefix, pw.from)
		default:
			red.Auth = &layout.RedisAuth{SecretName: pw.secret.Name, PasswordKey: pw.secret.Key}
		}
	}
}
