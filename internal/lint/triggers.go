package lint

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/postrender"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// redisListTriggers are the KEDA trigger types that read a Redis list named by listName.
var redisListTriggers = []string{"redis", "redis-sentinel", "redis-cluster"}

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
		if name := scalar(t, "authenticationRef", "name"); name != "" && !authSeen[name] {
			authSeen[name] = true
			c.checkAuthenticationRef(a.obj, t, tp, name)
		}
		if !slices.Contains(redisListTriggers, scalar(t, "type")) || w == nil {
			continue
		}
		hasListTrigger = true
		listName, ok := meta["listName"]
		if !ok || listName == "" {
			c.add(a.obj, layout.Error, RuleTriggerQueues, tp+".metadata.listName",
				"a %s trigger needs a listName: queue:<name> of a queue Deployment %s consumes", scalar(t, "type"), w.Object.Name)
			continue
		}
		prefix, queue, ok := splitListName(listName)
		if !ok {
			c.add(a.obj, layout.Error, RuleTriggerQueues, tp+".metadata.listName",
				"%q is not a Sidekiq queue list: Sidekiq keeps queue <name> in the list queue:<name>", listName)
			continue
		}
		covered[queue] = true
		c.checkListPrefix(a.obj, w, tp+".metadata.listName", listName, prefix, queue)
		if w.Sidekiq.Err == "" && !w.Consumes(queue) {
			c.add(a.obj, layout.Error, RuleTriggerQueues, tp+".metadata.listName",
				"Deployment %s does not consume queue %q (its queues: %s): this trigger scales it on a backlog it never works off; point the trigger at one of its queues or remove it",
				w.Object.Name, queue, queueList(w))
		}
	}
	if !hasListTrigger || w.Sidekiq.Err != "" {
		return
	}
	for _, q := range w.Sidekiq.Queues {
		if !covered[q.Name] {
			c.add(a.obj, layout.Error, RuleTriggerQueues, "spec.triggers",
				"Deployment %s consumes queue %q, but no redis trigger reads it: a backlog there never scales the Deployment up; add a trigger with listName %s",
				w.Object.Name, q.Name, layout.ListName(c.knownNamespace(w), q.Name))
		}
	}
}

// checkAuthenticationRef: the TriggerAuthentication a trigger names is in the set.
func (c *checker) checkAuthenticationRef(so *postrender.Object, t *yaml.RNode, tp, name string) {
	kind := scalar(t, "authenticationRef", "kind")
	if kind == "" {
		kind = "TriggerAuthentication"
	}
	ns := so.Namespace
	if kind == "ClusterTriggerAuthentication" {
		ns = ""
	}
	if c.find(kind, ns, name) == nil {
		c.missing(so, tp+".authenticationRef.name", kind, name, "the trigger cannot authenticate until it exists")
	}
}

func queueList(w *postrender.Worker) string {
	names := make([]string, len(w.Sidekiq.Queues))
	for i, q := range w.Sidekiq.Queues {
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
		c.add(so, layout.Error, RuleRedisNamespace, field,
			"%q carries the namespace %q, but Mastodon %s has no REDIS_NAMESPACE (removed in 4.4): the list is queue:%s",
			listName, prefix, v, queue)
	case prefix != "" && !vKnown:
		c.add(so, layout.Warning, RuleMastodonVersion, field,
			"%q carries a namespace, allowed only up to Mastodon 4.3, and the version cannot be read from image %q or the app.kubernetes.io/version label: pass --mastodon-version",
			listName, w.Image)
	case !nsKnown || prefix == ns:
	case ns == "":
		c.add(so, layout.Error, RuleRedisNamespace, field,
			"%q carries the namespace %q, but Deployment %s sets no REDIS_NAMESPACE, so Sidekiq's list is queue:%s and this trigger always reads 0",
			listName, prefix, w.Object.Name, queue)
	default:
		c.add(so, layout.Error, RuleRedisNamespace, field,
			"Deployment %s sets REDIS_NAMESPACE=%s (%s), so Sidekiq's list is %s, not %q: this trigger always reads 0",
			w.Object.Name, ns, w.Env[layout.EnvRedisNamespace].From, layout.ListName(ns, queue), listName)
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
			c.add(so, layout.Error, RulePasswordInMetadata, tp+".metadata."+k,
				"a password is written in the trigger's metadata: put it in a Secret and reference it with a TriggerAuthentication (secretTargetRef parameter %q)", strings.TrimSuffix(strings.ToLower(k), "password")+"password")
			continue
		}
		for _, part := range strings.Split(v, ",") {
			if hasCredentials(strings.TrimSpace(part)) {
				c.add(so, layout.Error, RulePasswordInMetadata, tp+".metadata."+k,
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
			name := scalar(r, "name")
			if name == "" || c.find("Secret", ns, name) != nil {
				continue
			}
			c.missing(ta, fmt.Sprintf("spec.secretTargetRef[%d].name", i), "Secret", name,
				"the triggers using this "+ta.Kind+" cannot authenticate until it exists")
		}
	}
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
