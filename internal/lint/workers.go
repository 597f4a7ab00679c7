package lint

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/postrender"
)

// checkWorker applies the manifest rules to one Sidekiq Deployment; the Mastodon rules come
// after, over all of them (checkInstallations).
func (c *checker) checkWorker(w *postrender.Worker) {
	for _, d := range postrender.DuplicateKeys(w.Node) {
		c.add(w.Object, layout.Error, RuleDuplicateKey, d.Field(),
			"line %d: key %q is written twice (also on line %d): the API server refuses the Deployment, and YAML keeps only one, so lint checked that one; remove the other", d.Line, d.Key, d.First)
	}
	if w.Sidekiq.Err != "" {
		c.add(w.Object, layout.Warning, RuleSidekiqArgs, w.CommandField(),
			"cannot read the Sidekiq command: %s; the checks of its queues and timeout are skipped", w.Sidekiq.Err)
	}
	scaled := len(c.scaledBy[w.Node]) > 0
	if scaled && w.Replicas != nil {
		c.add(w.Object, layout.Warning, RuleReplicasOnScaled, "spec.replicas",
			"the Deployment is autoscaled, and every helm upgrade or kubectl apply resets it to %s: remove spec.replicas", plural(int(*w.Replicas), "replica"))
	}
	if scaled {
		// KEDA resolves the target container's whole environment before it makes the HPA.
		for _, r := range w.Refs {
			if !r.Found && !r.Optional {
				c.missing(w.Object, r.Field, r.Kind, r.Name,
					"KEDA reads the scaled container's environment and leaves the ScaledObject not Ready until it exists")
			}
		}
	}
	if w.VersionAssumed != "" && c.opts.MastodonVersion == nil {
		c.add(w.Object, layout.Warning, RuleMastodonVersion, w.ContainerPath()+".image",
			"image %q names no Mastodon version (latest, a digest), so lint assumes %s: pass --mastodon-version if the image runs another", w.Image, w.VersionAssumed)
	}
	if e, ok := w.Env[layout.EnvRedisNamespace]; ok && !(e.Literal && e.Value == "") {
		if _, known := c.version(w); !known {
			c.add(w.Object, layout.Warning, RuleMastodonVersion, c.envField(w, layout.EnvRedisNamespace),
				"REDIS_NAMESPACE is set (%s) and the Mastodon version cannot be read from image %q or the app.kubernetes.io/version label: pass --mastodon-version so lint can tell whether it is allowed", e.From, w.Image)
		}
	}
	if e, ok := w.Env[layout.EnvDBPool]; ok && e.Literal {
		if _, err := strconv.ParseInt(strings.TrimSpace(e.Value), 10, 32); err != nil {
			c.add(w.Object, layout.Error, RuleDBPool, c.envField(w, layout.EnvDBPool),
				"DB_POOL %q (%s) is not a number: set it to %d, the threads of this worker", e.Value, e.From, w.Sidekiq.Concurrency)
		}
	}
}

// appliedWorkers are the workers that survive an apply: of an object defined twice, the last
// (the duplicate itself is reported by checkDuplicates).
func (c *checker) appliedWorkers() []*postrender.Worker {
	last := map[objectKey]*postrender.Worker{}
	for _, w := range c.m.Workers {
		last[objectKey{w.Kind, w.Namespace, w.Object.Name}] = w
	}
	var out []*postrender.Worker
	for _, w := range c.m.Workers {
		if last[objectKey{w.Kind, w.Namespace, w.Object.Name}] == w {
			out = append(out, w)
		}
	}
	return out
}

// version is the Mastodon version w runs, when known.
func (c *checker) version(w *postrender.Worker) (layout.MastodonVersion, bool) {
	if c.opts.MastodonVersion != nil {
		return *c.opts.MastodonVersion, true
	}
	v, err := layout.ParseMastodonVersion(w.Version)
	return v, err == nil
}

// envField is the path where the container's variable is set: its env entry, else the
// envFrom entry of the ConfigMap or Secret it comes from.
func (c *checker) envField(w *postrender.Worker, name string) string {
	if e, ok := w.Env[name]; ok && e.Field != "" {
		return e.Field
	}
	return w.ContainerPath() + ".env"
}

// installation is the Sidekiq workers of one Mastodon (namespace and release).
type installation struct {
	c       *checker
	workers []*postrender.Worker
}

// checkInstallations applies the Mastodon rules (layout.Check) to the workers of each
// Mastodon in the set, as the layout's validation applies them to a layout's workers.
func (c *checker) checkInstallations() {
	type group struct{ namespace, release string }
	groups := map[group]*installation{}
	var order []*installation
	for _, w := range c.appliedWorkers() {
		g := group{w.Namespace, w.Release}
		if groups[g] == nil {
			groups[g] = &installation{c: c}
			order = append(order, groups[g])
		}
		groups[g].workers = append(groups[g].workers, w)
	}
	var workloads []layout.Workload
	var all []*postrender.Worker
	for _, in := range order {
		rules := in.rules()
		rules.Database = layout.Database{} // the budget is the whole set's, below
		for _, f := range layout.Check(rules) {
			c.addFinding(f, in.order(f))
		}
		workloads = append(workloads, rules.Workloads...)
		all = append(all, in.workers...)
	}
	c.checkBudget(workloads, all)
}

func (in *installation) rules() layout.Installation {
	r := layout.Installation{Where: in}
	for _, w := range in.workers {
		if v, ok := in.c.version(w); ok && !r.VersionKnown {
			r.Version, r.VersionKnown = v, true
		}
	}
	for _, w := range in.workers {
		r.Workloads = append(r.Workloads, in.workload(w, r))
	}
	return r
}

// workload describes what Deployment w runs for the Mastodon rules.
func (in *installation) workload(w *postrender.Worker, r layout.Installation) layout.Workload {
	wl := layout.Workload{
		Name: w.Object.Name, Concurrency: w.Sidekiq.Concurrency, ConcurrencyFrom: w.Sidekiq.ConcurrencyFrom,
		GracePeriod: defaultGracePeriod, Replicas: 1,
	}
	if w.Sidekiq.Err == "" {
		wl.Timeout = layout.SidekiqDefaultTimeout
		if w.Sidekiq.Timeout != nil {
			wl.Timeout = *w.Sidekiq.Timeout
		}
		for _, q := range w.Sidekiq.Queues {
			wl.Queues = append(wl.Queues, layout.WorkloadQueue{Name: q.Name})
		}
	}
	if w.GracePeriod != nil {
		wl.GracePeriod = *w.GracePeriod
	}
	if w.Replicas != nil {
		wl.Replicas = *w.Replicas
	}
	if scalers := in.c.scaledBy[w.Node]; len(scalers) > 0 {
		wl.Autoscaled, wl.Scaling.MinReplicas = true, scalers[0].minReplicas
		for _, a := range scalers {
			wl.Scaling.MaxReplicas = max(wl.Scaling.MaxReplicas, a.maxReplicas)
		}
	}
	if e, ok := w.Env[layout.EnvRedisNamespace]; ok && e.Literal {
		wl.RedisNamespace = e.Value
	}
	wl.DBPool, wl.DBPoolFrom = dbPool(w, r)
	return wl
}

// dbPool is the database pool of w's processes, or 0 when it follows -c (Mastodon 4.3+) or
// cannot be known (a Secret).
func dbPool(w *postrender.Worker, r layout.Installation) (int32, string) {
	if e, ok := w.Env[layout.EnvDBPool]; ok {
		n, err := strconv.ParseInt(strings.TrimSpace(e.Value), 10, 32)
		if !e.Literal || err != nil {
			return 0, ""
		}
		return int32(n), "DB_POOL in " + e.From
	}
	if !r.VersionKnown || !r.Version.Less(layout.MastodonVersion{Major: 4, Minor: 3}) {
		return 0, ""
	}
	if mt, ok := w.Env["MAX_THREADS"]; ok && mt.Literal {
		if n, err := strconv.ParseInt(strings.TrimSpace(mt.Value), 10, 32); err == nil {
			return int32(n), fmt.Sprintf("DB_POOL unset, so Mastodon %s takes MAX_THREADS from %s", r.Version, mt.From)
		}
	}
	return poolBefore43, fmt.Sprintf("DB_POOL unset, so Mastodon %s (before 4.3) uses its default", r.Version)
}

// order places a finding of the rules by the object it names.
func (in *installation) order(f layout.Finding) int {
	for _, o := range in.c.m.Objects {
		if o.Kind == f.Kind && o.Name == f.Name && o.Namespace == f.Namespace && in.c.files[o.Index] == f.File {
			return o.Index
		}
	}
	return len(in.c.files)
}

// Worker locates a part of a worker in the manifests: its Deployment, or the autoscaler that
// scales it.
func (in *installation) Worker(i int, part layout.Part, index int) layout.Location {
	w := in.workers[i]
	c := in.c
	field := w.CommandField()
	switch part {
	case layout.PartConcurrency:
		if w.Sidekiq.ConcurrencyFlag == nil {
			field = c.envField(w, postrender.EnvSidekiqConcurrency)
		}
	case layout.PartGracePeriod:
		field = "spec.template.spec.terminationGracePeriodSeconds"
	case layout.PartReplicas:
		field = "spec.replicas"
	case layout.PartRedisNamespace:
		field = c.envField(w, layout.EnvRedisNamespace)
	case layout.PartDBPool:
		field = c.envField(w, layout.EnvDBPool)
	case layout.PartAutoscaler, layout.PartMinReplicas, layout.PartMaxReplicas:
		if scalers := c.scaledBy[w.Node]; len(scalers) > 0 {
			return c.locate(scalers[0].obj, autoscalerField(scalers[0], part))
		}
	case layout.PartWorker:
		field = ""
	}
	return c.locate(w.Object, field)
}

func autoscalerField(a *autoscaler, part layout.Part) string {
	hpa := a.obj.Kind == "HorizontalPodAutoscaler"
	switch {
	case part == layout.PartMinReplicas && hpa:
		return "spec.minReplicas"
	case part == layout.PartMinReplicas:
		return "spec.minReplicaCount"
	case part == layout.PartMaxReplicas && hpa:
		return "spec.maxReplicas"
	case part == layout.PartMaxReplicas:
		return "spec.maxReplicaCount"
	}
	return "spec.scaleTargetRef.name"
}

// Workers is not used: lint's installations are never complete.
func (in *installation) Workers() layout.Location { return layout.Location{} }

// Budget locates the connection limit: the layout or the flag that gave it.
func (in *installation) Budget() layout.Location {
	if b := in.c.opts.Budget; b != nil {
		return layout.Location{File: b.File, Field: b.Field}
	}
	return layout.Location{}
}

// checkBudget applies the connection budget rule to every Sidekiq worker of the set at once.
func (c *checker) checkBudget(workloads []layout.Workload, workers []*postrender.Worker) {
	b := c.opts.Budget
	if b == nil || b.MaxConnections <= 0 || len(workloads) == 0 {
		return
	}
	in := layout.Installation{
		Workloads: workloads, Database: layout.Database{MaxConnections: b.MaxConnections, Reserved: b.Reserved},
		Where: &installation{c: c, workers: workers},
	}
	for _, f := range layout.Check(in) {
		if f.Rule == layout.RuleConnectionBudget {
			c.addFinding(f, len(c.files))
		}
	}
}
