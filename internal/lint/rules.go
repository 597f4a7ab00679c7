package lint

import (
	"fmt"
	"github.com/mastoscale/mastoscale/internal/rnode"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/postrender"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

const (
	// defaultGracePeriod is the pod's terminationGracePeriodSeconds when unset.
	defaultGracePeriod = 30
	// defaultConcurrency is Sidekiq's thread count without -c (Sidekiq 7's default, and
	// Mastodon's config/sidekiq.yml for years).
	defaultConcurrency = 5
	// defaultMaxReplicaCount is KEDA's maxReplicaCount when a ScaledObject leaves it unset.
	defaultMaxReplicaCount = 100
	// poolBefore43 is the database pool of a Sidekiq process before Mastodon 4.3 when neither
	// DB_POOL nor MAX_THREADS is set (config/database.yml).
	poolBefore43 = 5
)

// redisListTriggers are the KEDA trigger types that read a Redis list named by listName.
var redisListTriggers = []string{"redis", "redis-sentinel", "redis-cluster"}

type objectKey struct{ kind, namespace, name string }

// autoscaler is a ScaledObject or an HPA, and the Deployment it scales.
type autoscaler struct {
	obj         *postrender.Object
	targetKind  string
	targetName  string
	maxReplicas int32
	target      *postrender.Object // nil when not in the set
	worker      *postrender.Worker // nil when the target does not run Sidekiq
}

// located is a finding and the position of its object in the input, for sorting.
type located struct {
	Finding
	order int
}

type checker struct {
	m        *postrender.Manifest
	files    []string
	opts     Options
	findings []located

	byKey   map[objectKey]*postrender.Object
	byName  map[objectKey][]*postrender.Object // namespace left empty
	workers map[*yaml.RNode]*postrender.Worker
	// scalers are the autoscalers in input order; scaledBy the autoscalers of each target.
	scalers  []*autoscaler
	scaledBy map[*yaml.RNode][]*autoscaler
	// missingAt is the finding of each missing object; missingMore counts its other references.
	missingAt   map[objectKey]int
	missingMore map[int]int
}

func newChecker(m *postrender.Manifest, files []string, opts Options) *checker {
	c := &checker{
		m: m, files: files, opts: opts,
		byKey:    map[objectKey]*postrender.Object{},
		byName:   map[objectKey][]*postrender.Object{},
		workers:  map[*yaml.RNode]*postrender.Worker{},
		scaledBy: map[*yaml.RNode][]*autoscaler{},

		missingAt:   map[objectKey]int{},
		missingMore: map[int]int{},
	}
	for _, o := range m.Objects {
		c.byKey[objectKey{o.Kind, o.Namespace, o.Name}] = o
		k := objectKey{kind: o.Kind, name: o.Name}
		c.byName[k] = append(c.byName[k], o)
	}
	for _, w := range m.Workers {
		c.workers[w.Node] = w
	}
	return c
}

// find looks an object up by kind, namespace and name. An object without a namespace is taken
// to be in the namespace of the object that refers to it (helm template and kubectl apply -n
// leave namespaces out), and a reference without one matches the only object of that name.
func (c *checker) find(kind, namespace, name string) *postrender.Object {
	if o := c.byKey[objectKey{kind, namespace, name}]; o != nil {
		return o
	}
	if namespace != "" {
		return c.byKey[objectKey{kind, "", name}]
	}
	if all := c.byName[objectKey{kind: kind, name: name}]; len(all) == 1 {
		return all[0]
	}
	return nil
}

func (c *checker) add(o *postrender.Object, severity, rule, field, format string, args ...any) {
	f := located{Finding{Field: field, Severity: severity, Rule: rule, Message: fmt.Sprintf(format, args...)}, len(c.files)}
	if o != nil {
		f.File, f.Kind, f.Name, f.Namespace, f.order = c.files[o.Index], o.Kind, o.Name, o.Namespace, o.Index
	}
	c.findings = append(c.findings, f)
}

// where names an object for messages: `Deployment/x (in file.yaml)`.
func (c *checker) where(o *postrender.Object) string {
	return fmt.Sprintf("%s/%s (in %s)", o.Kind, o.Name, c.files[o.Index])
}

func (c *checker) run() {
	c.checkDuplicates()
	c.readAutoscalers()
	c.checkTargets()
	c.checkScheduler()
	for _, w := range c.m.Workers {
		c.checkWorker(w)
	}
	for _, a := range c.scalers {
		if a.obj.Kind == "ScaledObject" {
			c.checkTriggers(a)
		}
	}
	c.checkTriggerAuthentications()
	c.checkBudget()
	c.finishMissing()
}

// checkDuplicates: an object defined twice is applied twice, and only the last one stays; the
// other checks see the last one too.
func (c *checker) checkDuplicates() {
	first := map[objectKey]*postrender.Object{}
	for _, o := range c.m.Objects {
		k := objectKey{o.Kind, o.Namespace, o.Name}
		if prev := first[k]; prev != nil {
			c.add(o, SeverityError, RuleDuplicateObject, "metadata.name",
				"%s/%s is defined twice (also in %s): only the one applied last survives; lint the objects of one installation at a time", o.Kind, o.Name, c.files[prev.Index])
			continue
		}
		first[k] = o
	}
}

func (c *checker) readAutoscalers() {
	scaledObjects := map[objectKey]bool{}
	for _, o := range c.m.ScaledObjects {
		scaledObjects[objectKey{namespace: o.Namespace, name: o.Name}] = true
		a := &autoscaler{
			obj:         o,
			targetKind:  rnode.Scalar(o.Node, "spec", "scaleTargetRef", "kind"),
			targetName:  rnode.Scalar(o.Node, "spec", "scaleTargetRef", "name"),
			maxReplicas: defaultMaxReplicaCount,
		}
		if n, ok := intAt(o.Node, "spec", "maxReplicaCount"); ok {
			a.maxReplicas = int32(n)
		}
		c.scalers = append(c.scalers, a)
	}
	for _, o := range c.m.HPAs {
		// KEDA's own HPA (keda-hpa-<scaledobject>) shows up when manifests come from a
		// cluster: it is the ScaledObject, not a second autoscaler.
		if strings.HasPrefix(o.Name, "keda-hpa-") && scaledObjects[objectKey{namespace: o.Namespace, name: strings.TrimPrefix(o.Name, "keda-hpa-")}] {
			continue
		}
		if ownedByScaledObject(o.Node) {
			continue
		}
		a := &autoscaler{
			obj:        o,
			targetKind: rnode.Scalar(o.Node, "spec", "scaleTargetRef", "kind"),
			targetName: rnode.Scalar(o.Node, "spec", "scaleTargetRef", "name"),
		}
		if n, ok := intAt(o.Node, "spec", "maxReplicas"); ok {
			a.maxReplicas = int32(n)
		}
		c.scalers = append(c.scalers, a)
	}
	for _, a := range c.scalers {
		if a.targetKind == "" {
			a.targetKind = "Deployment" // KEDA's default
		}
		if a.targetName == "" {
			continue
		}
		a.target = c.find(a.targetKind, a.obj.Namespace, a.targetName)
		if a.target != nil {
			a.worker = c.workers[a.target.Node]
			c.scaledBy[a.target.Node] = append(c.scaledBy[a.target.Node], a)
		}
	}
}

func ownedByScaledObject(n *yaml.RNode) bool {
	owners, _ := n.Pipe(yaml.Lookup("metadata", "ownerReferences"))
	if owners == nil {
		return false
	}
	elems, _ := owners.Elements()
	return slices.ContainsFunc(elems, func(e *yaml.RNode) bool { return rnode.Scalar(e, "kind") == "ScaledObject" })
}

// checkTargets: every autoscaler's target exists, is scaled by it alone, and does not consume
// the scheduler queue.
func (c *checker) checkTargets() {
	for _, a := range c.scalers {
		const f = "spec.scaleTargetRef.name"
		switch {
		case a.targetName == "":
			c.add(a.obj, SeverityError, RuleScaleTargetMissing, f, "names no target: set the Deployment to scale")
			continue
		case a.target == nil:
			c.add(a.obj, SeverityError, RuleScaleTargetMissing, f,
				"%s %q is not in the files linted: fix the name, or lint the Deployment together with its %s", a.targetKind, a.targetName, a.obj.Kind)
			continue
		}
		var others []string
		for _, b := range c.scaledBy[a.target.Node] {
			if b != a {
				others = append(others, c.where(b.obj))
			}
		}
		if len(others) > 0 {
			c.add(a.obj, SeverityError, RuleScaleTargetConflict, f,
				"%s/%s is also scaled by %s: two autoscalers fight over its replicas (KEDA's webhook rejects this): keep one, with a trigger per queue",
				a.targetKind, a.targetName, strings.Join(others, ", "))
		}
		if a.worker != nil && consumes(a.worker, layout.SchedulerQueue) {
			c.add(a.obj, SeverityError, RuleSchedulerAutoscaled, f,
				"Deployment %s consumes the scheduler queue, which exactly one Sidekiq process may consume (sidekiq-scheduler enqueues every periodic job once per process): delete this %s and run scheduler in one Deployment with replicas 1 and strategy Recreate",
				a.targetName, a.obj.Kind)
		}
	}
}

func consumes(w *postrender.Worker, queue string) bool {
	return slices.ContainsFunc(w.Queues, func(q postrender.Queue) bool { return q.Name == queue })
}

// checkScheduler: at most one process per Mastodon (namespace and release) consumes scheduler.
func (c *checker) checkScheduler() {
	type group struct{ namespace, release string }
	consumers := map[group][]*postrender.Worker{}
	var order []group
	for _, w := range c.m.Workers {
		if !consumes(w, layout.SchedulerQueue) {
			continue
		}
		g := group{w.Namespace, w.Release}
		if consumers[g] == nil {
			order = append(order, g)
		}
		consumers[g] = append(consumers[g], w)
		if w.Replicas != nil && *w.Replicas > 1 {
			c.add(&w.Object, SeverityError, RuleSchedulerShared, "spec.replicas",
				"%d replicas each consume the scheduler queue, so every periodic job runs %d times: set replicas to 1 (and strategy Recreate), and move the other queues to a Deployment that can scale",
				*w.Replicas, *w.Replicas)
		}
	}
	for _, g := range order {
		ws := consumers[g]
		if len(ws) < 2 {
			continue
		}
		for _, w := range ws {
			var others []string
			for _, o := range ws {
				if o != w {
					others = append(others, c.where(&o.Object))
				}
			}
			c.add(&w.Object, SeverityError, RuleSchedulerShared, argsField(w),
				"the scheduler queue is also consumed by %s, so every periodic job runs once per process: keep -q scheduler in exactly one Deployment",
				strings.Join(others, ", "))
		}
	}
}

// argsField is the path of the container field holding Sidekiq's arguments.
func argsField(w *postrender.Worker) string {
	base := containerPath(w)
	if slices.Contains(rnode.Strings(w.Container, "command"), "sidekiq") {
		return base + ".command"
	}
	return base + ".args"
}

func containerPath(w *postrender.Worker) string {
	return fmt.Sprintf("spec.template.spec.containers[%d]", w.ContainerIndex)
}

// version is the Mastodon version w runs, when known.
func (c *checker) version(w *postrender.Worker) (layout.MastodonVersion, bool) {
	if c.opts.MastodonVersion != nil {
		return *c.opts.MastodonVersion, true
	}
	v, err := layout.ParseMastodonVersion(w.Version)
	return v, err == nil
}

func (c *checker) autoscaled(w *postrender.Worker) bool { return len(c.scaledBy[w.Node]) > 0 }

func (c *checker) checkWorker(w *postrender.Worker) {
	if w.ArgsError != "" {
		c.add(&w.Object, SeverityWarning, RuleSidekiqArgs, argsField(w),
			"cannot read the Sidekiq command: %s; the checks of its queues and timeout are skipped",
			w.ArgsError)
	}
	scaled := c.autoscaled(w)
	if scaled && w.Replicas != nil {
		c.add(&w.Object, SeverityWarning, RuleReplicasOnScaled, "spec.replicas",
			"the Deployment is autoscaled, and every helm upgrade or kubectl apply resets it to %s: remove spec.replicas", plural(int(*w.Replicas), "replica"))
	}
	if scaled {
		// KEDA resolves the target container's whole environment before it makes the HPA.
		for _, r := range w.Refs {
			if !r.Found && !r.Optional {
				c.missing(&w.Object, r.Field, r.Kind, r.Name,
					"KEDA reads the scaled container's environment and leaves the ScaledObject not Ready until it exists")
			}
		}
	}
	c.checkRedisNamespaceEnv(w)
	c.checkDBPool(w)
	c.checkGracePeriod(w, scaled)
}

// checkRedisNamespaceEnv: Mastodon 4.4 refuses to boot with REDIS_NAMESPACE set.
func (c *checker) checkRedisNamespaceEnv(w *postrender.Worker) {
	e, ok := w.Env[layout.EnvRedisNamespace]
	if !ok || (e.Literal && e.Value == "") {
		return
	}
	v, known := c.version(w)
	switch {
	case !known:
		c.add(&w.Object, SeverityWarning, RuleMastodonVersion, c.envField(w, layout.EnvRedisNamespace),
			"REDIS_NAMESPACE is set (%s) and the Mastodon version cannot be read from image %q or the app.kubernetes.io/version label: pass --mastodon-version so lint can tell whether it is allowed", e.From, w.Image)
	case !v.AllowsRedisNamespace():
		c.add(&w.Object, SeverityError, RuleRedisNamespace, c.envField(w, layout.EnvRedisNamespace),
			"REDIS_NAMESPACE is set (%s), and Mastodon %s refuses to boot with it (removed in 4.4): migrate the keys and remove it", e.From, v)
	}
}

// envField is the path where the container's variable name is set: its env entry, else the
// envFrom entry of the ConfigMap or Secret it comes from.
func (c *checker) envField(w *postrender.Worker, name string) string {
	base := containerPath(w)
	if env, _ := w.Container.Pipe(yaml.Lookup("env")); env != nil {
		elems, _ := env.Elements()
		for i := len(elems) - 1; i >= 0; i-- {
			if rnode.Scalar(elems[i], "name") == name {
				return fmt.Sprintf("%s.env[%d]", base, i)
			}
		}
	}
	e := w.Env[name]
	for _, r := range w.Refs {
		if e.From == r.Kind+" "+r.Name {
			return r.Field
		}
	}
	return base + ".env"
}

func (c *checker) checkDBPool(w *postrender.Worker) {
	if w.Concurrency == nil {
		return
	}
	conc := int64(*w.Concurrency)
	e, ok := w.Env[layout.EnvDBPool]
	if ok {
		if !e.Literal {
			return // from a Secret: unknown
		}
		pool, err := strconv.ParseInt(strings.TrimSpace(e.Value), 10, 32)
		switch {
		case err != nil:
			c.add(&w.Object, SeverityError, RuleDBPool, c.envField(w, layout.EnvDBPool),
				"DB_POOL %q (%s) is not a number: set it to %d, the -c of this worker", e.Value, e.From, conc)
		case pool < conc:
			c.add(&w.Object, SeverityError, RuleDBPool, c.envField(w, layout.EnvDBPool),
				"DB_POOL is %d (%s) but Sidekiq runs -c %d threads: %d threads wait for a database connection; set DB_POOL to %d or remove it (Mastodon 4.3+ then sizes the pool to -c)",
				pool, e.From, conc, conc-pool, conc)
		}
		return
	}
	v, known := c.version(w)
	if !known || !v.Less(layout.MastodonVersion{Major: 4, Minor: 3}) {
		return // since 4.3 the pool follows -c
	}
	pool, from := int64(poolBefore43), "the default"
	if mt, ok := w.Env["MAX_THREADS"]; ok && mt.Literal {
		if n, err := strconv.ParseInt(strings.TrimSpace(mt.Value), 10, 32); err == nil {
			pool, from = n, "MAX_THREADS ("+mt.From+")"
		}
	}
	if pool < conc {
		c.add(&w.Object, SeverityError, RuleDBPool, containerPath(w)+".env",
			"DB_POOL is not set, and Mastodon %s (before 4.3) sizes a Sidekiq process's pool from %s, %d, below -c %d: set DB_POOL to %d", v, from, pool, conc, conc)
	}
}

// checkGracePeriod: on TERM Sidekiq stops fetching, waits -t seconds, then pushes unfinished
// jobs back to Redis; a pod killed before that loses them. Autoscaled Deployments stop pods on
// every scale-in, so there it is an error; elsewhere only rollouts do, so it is a warning.
func (c *checker) checkGracePeriod(w *postrender.Worker, scaled bool) {
	if w.ArgsError != "" {
		return
	}
	timeout := int64(layout.SidekiqDefaultTimeout)
	timeoutFrom := "Sidekiq's default timeout"
	if w.Timeout != nil {
		timeout, timeoutFrom = int64(*w.Timeout), "-t"
	}
	grace := int64(defaultGracePeriod)
	graceFrom := "the default terminationGracePeriodSeconds"
	if w.GracePeriod != nil {
		grace, graceFrom = *w.GracePeriod, "terminationGracePeriodSeconds"
	}
	if grace > timeout {
		return
	}
	severity, when := SeverityWarning, "every rollout"
	if scaled {
		severity, when = SeverityError, "every scale-in of this autoscaled Deployment"
	}
	c.add(&w.Object, severity, RuleGracePeriod, "spec.template.spec.terminationGracePeriodSeconds",
		"%s is %d s, not above %s of %d s: %s kills Sidekiq before it pushes unfinished jobs back to Redis, and they are lost; set it to at least %d",
		graceFrom, grace, timeoutFrom, timeout, when, timeout+5)
}

// checkTriggers checks a ScaledObject's triggers against the Deployment it scales.
func (c *checker) checkTriggers(a *autoscaler) {
	triggers, _ := a.obj.Node.Pipe(yaml.Lookup("spec", "triggers"))
	var elems []*yaml.RNode
	if triggers != nil {
		elems, _ = triggers.Elements()
	}
	w := a.worker
	covered := map[string]bool{}
	hasListTrigger := false
	authSeen := map[string]bool{}
	for i, t := range elems {
		tp := fmt.Sprintf("spec.triggers[%d]", i)
		meta := stringMap(t, "metadata")
		c.checkPasswords(a.obj, tp, meta)
		if name := rnode.Scalar(t, "authenticationRef", "name"); name != "" && !authSeen[name] {
			authSeen[name] = true
			kind := rnode.Scalar(t, "authenticationRef", "kind")
			if kind == "" {
				kind = "TriggerAuthentication"
			}
			ns := a.obj.Namespace
			if kind == "ClusterTriggerAuthentication" {
				ns = ""
			}
			if c.find(kind, ns, name) == nil {
				c.missing(a.obj, tp+".authenticationRef.name", kind, name, "the trigger cannot authenticate until it exists")
			}
		}
		if !slices.Contains(redisListTriggers, rnode.Scalar(t, "type")) || w == nil {
			continue
		}
		hasListTrigger = true
		listName, ok := meta["listName"]
		if !ok || listName == "" {
			c.add(a.obj, SeverityError, RuleTriggerQueues, tp+".metadata.listName",
				"a %s trigger needs a listName: queue:<name> of a queue Deployment %s consumes", rnode.Scalar(t, "type"), w.Name)
			continue
		}
		prefix, queue, ok := splitListName(listName)
		if !ok {
			c.add(a.obj, SeverityError, RuleTriggerQueues, tp+".metadata.listName",
				"%q is not a Sidekiq queue list: Sidekiq keeps queue <name> in the list queue:<name>", listName)
			continue
		}
		covered[queue] = true
		c.checkListPrefix(a.obj, w, tp+".metadata.listName", listName, prefix, queue)
		if w.ArgsError == "" && !consumes(w, queue) {
			c.add(a.obj, SeverityError, RuleTriggerQueues, tp+".metadata.listName",
				"Deployment %s does not consume queue %q (its queues: %s): this trigger scales it on a backlog it never works off; point the trigger at one of its queues or remove it",
				w.Name, queue, queueList(w))
		}
	}
	if !hasListTrigger || w.ArgsError != "" {
		return
	}
	for _, q := range w.Queues {
		if !covered[q.Name] {
			c.add(a.obj, SeverityError, RuleTriggerQueues, "spec.triggers",
				"Deployment %s consumes queue %q, but no redis trigger reads it: a backlog there never scales the Deployment up; add a trigger with listName %s",
				w.Name, q.Name, layout.ListName(c.knownNamespace(w), q.Name))
		}
	}
}

func queueList(w *postrender.Worker) string {
	names := make([]string, len(w.Queues))
	for i, q := range w.Queues {
		names[i] = q.Name
	}
	return strings.Join(names, ", ")
}

func splitListName(l string) (prefix, queue string, ok bool) {
	if q, ok := strings.CutPrefix(l, "queue:"); ok {
		return "", q, q != ""
	}
	prefix, queue, ok = strings.Cut(l, ":queue:")
	return prefix, queue, ok && queue != ""
}

// redisNamespace tells the REDIS_NAMESPACE of w's container: set (and its value), known to be
// unset, or unknown (it may come from a ConfigMap, or a Secret, that is not in the set).
// Secrets loaded whole with envFrom are assumed to hold secrets, not REDIS_NAMESPACE.
func redisNamespace(w *postrender.Worker) (ns string, known bool) {
	if e, ok := w.Env[layout.EnvRedisNamespace]; ok {
		return e.Value, e.Literal
	}
	for _, r := range w.Refs {
		if r.Kind == "ConfigMap" && !r.Found {
			return "", false
		}
	}
	return "", true
}

func (c *checker) knownNamespace(w *postrender.Worker) string {
	ns, _ := redisNamespace(w)
	v, known := c.version(w)
	if known && !v.AllowsRedisNamespace() {
		return ""
	}
	return ns
}

func (c *checker) checkListPrefix(so *postrender.Object, w *postrender.Worker, field, listName, prefix, queue string) {
	ns, nsKnown := redisNamespace(w)
	v, vKnown := c.version(w)
	switch {
	case prefix != "" && vKnown && !v.AllowsRedisNamespace():
		c.add(so, SeverityError, RuleRedisNamespace, field,
			"%q carries the namespace %q, but Mastodon %s has no REDIS_NAMESPACE (removed in 4.4): the list is queue:%s",
			listName, prefix, v, queue)
	case prefix != "" && !vKnown:
		c.add(so, SeverityWarning, RuleMastodonVersion, field,
			"%q carries a namespace, allowed only up to Mastodon 4.3, and the version cannot be read from image %q or the app.kubernetes.io/version label: pass --mastodon-version",
			listName, w.Image)
	case !nsKnown || prefix == ns:
	case ns == "":
		c.add(so, SeverityError, RuleRedisNamespace, field,
			"%q carries the namespace %q, but Deployment %s sets no REDIS_NAMESPACE, so Sidekiq's list is queue:%s and this trigger always reads 0",
			listName, prefix, w.Name, queue)
	default:
		c.add(so, SeverityError, RuleRedisNamespace, field,
			"Deployment %s sets REDIS_NAMESPACE=%s (%s), so Sidekiq's list is %s, not %q: this trigger always reads 0",
			w.Name, ns, w.Env[layout.EnvRedisNamespace].From, layout.ListName(ns, queue), listName)
	}
}

// passwordKeys are trigger metadata keys that carry a password in clear.
var passwordKeys = []string{"password", "sentinelpassword"}

// checkPasswords: a password in trigger metadata ends up in Git and in the ScaledObject any
// reader of the namespace can get; it belongs in a Secret read by a TriggerAuthentication.
func (c *checker) checkPasswords(so *postrender.Object, tp string, meta map[string]string) {
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := meta[k]
		if v == "" {
			continue
		}
		if slices.Contains(passwordKeys, strings.ToLower(k)) {
			c.add(so, SeverityError, RulePasswordInMetadata, tp+".metadata."+k,
				"a password is written in the trigger's metadata: put it in a Secret and reference it with a TriggerAuthentication (secretTargetRef parameter %q)", strings.TrimSuffix(strings.ToLower(k), "password")+"password")
			continue
		}
		for _, part := range strings.Split(v, ",") {
			if hasCredentials(strings.TrimSpace(part)) {
				c.add(so, SeverityError, RulePasswordInMetadata, tp+".metadata."+k,
					"the address carries a password: write host:port here and move the password to a Secret referenced by a TriggerAuthentication (secretTargetRef parameter \"password\")")
				break
			}
		}
	}
}

func hasCredentials(s string) bool {
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return strings.Contains(s, "@")
		}
		if u.User == nil {
			return false
		}
		_, has := u.User.Password()
		return has
	}
	userinfo, _, found := strings.Cut(s, "@")
	return found && strings.Contains(userinfo, ":")
}

// missing reports a reference to an object that is not in the set, once per object: later
// references are counted in the first one's message.
func (c *checker) missing(from *postrender.Object, field, kind, name, consequence string) {
	key := objectKey{kind, from.Namespace, name}
	if i, ok := c.missingAt[key]; ok {
		c.missingMore[i]++
		return
	}
	c.missingAt[key] = len(c.findings)
	c.add(from, SeverityWarning, RuleMissingReference, field,
		"%s %q is not in the files linted: %s (ignore this if it is made elsewhere)", kind, name, consequence)
}

// finishMissing appends to each missing-reference finding how many other references it stands for.
func (c *checker) finishMissing() {
	for i, n := range c.missingMore {
		c.findings[i].Message += fmt.Sprintf("; %s to it in the files", plural(n, "other reference"))
	}
}

// checkTriggerAuthentications: the Secrets they read are in the set.
func (c *checker) checkTriggerAuthentications() {
	for _, ta := range c.m.TriggerAuthentications {
		refs, _ := ta.Node.Pipe(yaml.Lookup("spec", "secretTargetRef"))
		if refs == nil {
			continue
		}
		elems, _ := refs.Elements()
		ns := ta.Namespace
		if ta.Kind == "ClusterTriggerAuthentication" {
			ns = "" // in KEDA's cluster object namespace
		}
		for i, r := range elems {
			name := rnode.Scalar(r, "name")
			if name == "" || c.find("Secret", ns, name) != nil {
				continue
			}
			c.missing(ta, fmt.Sprintf("spec.secretTargetRef[%d].name", i), "Secret", name,
				"the triggers using this "+ta.Kind+" cannot authenticate until it exists")
		}
	}
}

// checkBudget: at max replicas the Sidekiq workers' threads, each holding a connection, plus the
// reserved connections fit Postgres' max_connections.
func (c *checker) checkBudget() {
	limit := c.opts.Budget
	if limit == nil || limit.MaxConnections <= 0 || len(c.m.Workers) == 0 {
		return
	}
	b := layout.Budget{Reserved: limit.Reserved, Max: limit.MaxConnections}
	var terms []string
	for _, w := range c.m.Workers {
		row := layout.BudgetRow{Worker: w.Name, Replicas: 1, Concurrency: defaultConcurrency}
		switch scalers := c.scaledBy[w.Node]; {
		case len(scalers) > 0:
			row.Replicas = 0
			for _, a := range scalers {
				row.Replicas = max(row.Replicas, a.maxReplicas)
			}
		case w.Replicas != nil:
			row.Replicas = *w.Replicas
		}
		if w.Concurrency != nil {
			row.Concurrency = *w.Concurrency
		}
		row.Connections = int64(row.Replicas) * int64(row.Concurrency)
		b.Rows = append(b.Rows, row)
		b.Sidekiq += row.Connections
		terms = append(terms, fmt.Sprintf("%s %dx%d", w.Name, row.Replicas, row.Concurrency))
	}
	b.Total = b.Sidekiq + int64(b.Reserved)
	if b.Fits() {
		return
	}
	f := located{order: len(c.files)}
	f.Finding = Finding{
		File: limit.File, Field: limit.Field, Severity: SeverityError, Rule: RuleConnectionBudget,
		Message: fmt.Sprintf("at max replicas Sidekiq holds %d Postgres connections (%s) + %d reserved = %d, %d over max_connections %d: lower maxReplicaCount or -c (with DB_POOL), raise max_connections, or put PgBouncer in front",
			b.Sidekiq, strings.Join(terms, " + "), b.Reserved, b.Total, b.Total-int64(b.Max), b.Max),
	}
	c.findings = append(c.findings, f)
}

func intAt(n *yaml.RNode, path ...string) (int64, bool) {
	v, err := strconv.ParseInt(rnode.Scalar(n, path...), 10, 32)
	return v, err == nil
}

// stringMap reads a map of scalars (a trigger's metadata).
func stringMap(n *yaml.RNode, field string) map[string]string {
	out := map[string]string{}
	m, _ := n.Pipe(yaml.Lookup(field))
	if m == nil || m.YNode().Kind != yaml.MappingNode {
		return out
	}
	content := m.YNode().Content
	for i := 0; i+1 < len(content); i += 2 {
		out[content[i].Value] = content[i+1].Value
	}
	return out
}
