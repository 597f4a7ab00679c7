//go:build e2e

package e2e

import (
	"fmt"
	"sort"
	"strings"

	"github.com/mastoscale/mastoscale/test/e2e/rig"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The rig applies two versions of each golden: the documents as rendered (dry run: schema,
// CEL and admission webhooks), and a test copy the operator can act on. The copy differs only
// where the rig is not a cluster:
//   - every redis trigger reads the rig's redis-server on 127.0.0.1 (cluster DNS does not
//     resolve here), in a database of its own per golden, without TLS, as its default user;
//   - a trigger with credentials reads the password-protected redis-server, and the Secret key
//     its TriggerAuthentication (or passwordFromEnv) names holds that server's password;
//   - every ConfigMap/Secret the Deployments and TriggerAuthentications reference but the
//     golden does not contain is created as a placeholder, because KEDA resolves the whole
//     environment of the scale target and stays Ready=False if one is missing; so is the
//     Deployment a ScaledObject targets when the golden holds only KEDA objects.

const placeholderLabel = "mastoscale.dev/e2e-placeholder"

// soPlan is one ScaledObject of a golden, with what the rig expects KEDA to make of it.
type soPlan struct {
	Golden    string
	Namespace string
	Name      string
	Original  *unstructured.Unstructured // as rendered (namespace rewritten)
	Driven    bool                       // every trigger is a redis trigger the rig can serve
	Why       string                     // why not driven
	Triggers  []*triggerPlan
}

type triggerPlan struct {
	Index      int
	ListName   string
	ListLength string // target AverageValue (or Value)
	MetricType string // AverageValue (default) or Value
	MetricName string // s<i>-redis-<listName normalised>
	Redis      *rig.Redis
	DB         int
}

// key identifies a Redis list across the rig.
func (t *triggerPlan) key() string { return fmt.Sprintf("%s/%d/%s", t.Redis.Addr, t.DB, t.ListName) }

type copyPlan struct {
	Namespace    string
	Rendered     []*unstructured.Unstructured // namespace rewritten, otherwise untouched
	Copy         []*unstructured.Unstructured // what the operator acts on, in apply order
	Placeholders int
	SOs          []*soPlan
}

// driven reports whether the ScaledObject name is one the rig drives.
func (p *copyPlan) driven(name string) bool {
	for _, so := range p.SOs {
		if so.Name == name {
			return so.Driven
		}
	}
	return false
}

// normalizeMetric is KEDA's util.NormalizeString.
func normalizeMetric(s string) string {
	return strings.NewReplacer("/", "-", ".", "-", ":", "-", "%", "-", "(", "-", ")", "-").Replace(s)
}

var redisConnKeys = []string{
	"address", "addressFromEnv", "host", "hostFromEnv", "port", "portFromEnv",
	"addresses", "addressesFromEnv", "hosts", "hostsFromEnv", "ports", "portsFromEnv",
	"enableTLS", "unsafeSsl", "databaseIndex", "username", "usernameFromEnv",
}

func planCopy(g *golden, ns string, db int, r *rig.Rig) (*copyPlan, error) {
	p := &copyPlan{Namespace: ns}
	byKind := map[string]map[string]*unstructured.Unstructured{}
	for _, o := range g.Objects {
		rendered := o.DeepCopy()
		rendered.SetNamespace(ns)
		p.Rendered = append(p.Rendered, rendered)
		c := rendered.DeepCopy()
		if byKind[c.GetKind()] == nil {
			byKind[c.GetKind()] = map[string]*unstructured.Unstructured{}
		}
		byKind[c.GetKind()][c.GetName()] = c
	}
	// overrides[kind/name][key] = value the copy must hold.
	overrides := map[string]map[string]string{}
	setOverride := func(kind, name, key, value string) {
		k := kind + "/" + name
		if overrides[k] == nil {
			overrides[k] = map[string]string{}
		}
		overrides[k][key] = value
	}
	// required[kind/name] = keys the rig must make sure exist.
	required := map[string]map[string]bool{}
	need := func(kind, name, key string) {
		k := kind + "/" + name
		if required[k] == nil {
			required[k] = map[string]bool{}
		}
		if key != "" {
			required[k][key] = true
		}
	}

	soNames := sortedKeys(byKind["ScaledObject"])
	for _, name := range soNames {
		so := byKind["ScaledObject"][name]
		plan := &soPlan{Golden: g.Path, Namespace: ns, Name: name, Original: so.DeepCopy(), Driven: true}
		p.SOs = append(p.SOs, plan)
		triggers, _, _ := unstructured.NestedSlice(so.Object, "spec", "triggers")
		target, _, _ := unstructured.NestedString(so.Object, "spec", "scaleTargetRef", "name")
		targetKind, _, _ := unstructured.NestedString(so.Object, "spec", "scaleTargetRef", "kind")
		dep := byKind["Deployment"][target]
		if targetKind != "" && targetKind != "Deployment" {
			dep = nil
		}
		for i, raw := range triggers {
			tr, ok := raw.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s: trigger %d is not a map", name, i)
			}
			typ, _ := tr["type"].(string)
			if typ != "redis" {
				plan.Driven, plan.Why = false, fmt.Sprintf("trigger %d is %q, the rig serves plain redis only", i, typ)
				continue
			}
			md, _ := tr["metadata"].(map[string]any)
			if md == nil {
				md = map[string]any{}
				tr["metadata"] = md
			}
			tp := &triggerPlan{Index: i, DB: db, ListLength: "5", MetricType: "AverageValue", Redis: r.Redis}
			tp.ListName, _ = md["listName"].(string)
			if v, ok := md["listLength"].(string); ok && v != "" {
				tp.ListLength = v
			}
			if v, ok := tr["metricType"].(string); ok && v != "" {
				tp.MetricType = v
			}
			tp.MetricName = fmt.Sprintf("s%d-%s", i, normalizeMetric("redis-"+tp.ListName))

			// Credentials: route to the password-protected server and plant its password.
			authed := false
			if ref, ok := tr["authenticationRef"].(map[string]any); ok {
				authed = true
				refName, _ := ref["name"].(string)
				if k, _ := ref["kind"].(string); k != "" && k != "TriggerAuthentication" {
					plan.Driven, plan.Why = false, fmt.Sprintf("trigger %d uses a %s", i, k)
				} else if ta := byKind["TriggerAuthentication"][refName]; ta == nil {
					plan.Driven, plan.Why = false, fmt.Sprintf("trigger %d: TriggerAuthentication %q is not in the golden", i, refName)
				} else {
					refs, _, _ := unstructured.NestedSlice(ta.Object, "spec", "secretTargetRef")
					for _, rr := range refs {
						m, _ := rr.(map[string]any)
						param, _ := m["parameter"].(string)
						sname, _ := m["name"].(string)
						skey, _ := m["key"].(string)
						switch param {
						case "password":
							setOverride("Secret", sname, skey, r.RedisAuth.Password)
						case "username":
							setOverride("Secret", sname, skey, "default")
						}
					}
				}
			}
			if envName, ok := md["passwordFromEnv"].(string); ok && envName != "" {
				authed = true
				if !plantEnvValue(dep, envName, r.RedisAuth.Password, setOverride) {
					plan.Driven, plan.Why = false, fmt.Sprintf("trigger %d: passwordFromEnv %s not found in the target's env", i, envName)
				}
			}
			if authed {
				tp.Redis = r.RedisAuth
			}
			for _, k := range redisConnKeys {
				delete(md, k)
			}
			md["address"] = tp.Redis.Addr
			md["databaseIndex"] = fmt.Sprint(db)
			plan.Triggers = append(plan.Triggers, tp)
		}
		if len(triggers) == 0 {
			plan.Driven, plan.Why = false, "no triggers"
		}
		if err := unstructured.SetNestedSlice(so.Object, triggers, "spec", "triggers"); err != nil {
			return nil, err
		}
	}

	// References of the Deployments' pod templates and of the TriggerAuthentications.
	for _, dep := range byKind["Deployment"] {
		for _, path := range [][]string{{"spec", "template", "spec", "containers"}, {"spec", "template", "spec", "initContainers"}} {
			cs, _, _ := unstructured.NestedSlice(dep.Object, path...)
			for _, c := range cs {
				cm, _ := c.(map[string]any)
				envs, _ := cm["env"].([]any)
				for _, e := range envs {
					em, _ := e.(map[string]any)
					vf, _ := em["valueFrom"].(map[string]any)
					for kind, field := range map[string]string{"Secret": "secretKeyRef", "ConfigMap": "configMapKeyRef"} {
						if ref, ok := vf[field].(map[string]any); ok && ref["optional"] != true {
							n, _ := ref["name"].(string)
							k, _ := ref["key"].(string)
							need(kind, n, k)
						}
					}
				}
				froms, _ := cm["envFrom"].([]any)
				for _, f := range froms {
					fm, _ := f.(map[string]any)
					for kind, field := range map[string]string{"Secret": "secretRef", "ConfigMap": "configMapRef"} {
						if ref, ok := fm[field].(map[string]any); ok && ref["optional"] != true {
							n, _ := ref["name"].(string)
							need(kind, n, "")
						}
					}
				}
			}
		}
	}
	for _, ta := range byKind["TriggerAuthentication"] {
		for kind, field := range map[string]string{"Secret": "secretTargetRef", "ConfigMap": "configMapTargetRef"} {
			refs, _, _ := unstructured.NestedSlice(ta.Object, "spec", field)
			for _, rr := range refs {
				m, _ := rr.(map[string]any)
				n, _ := m["name"].(string)
				k, _ := m["key"].(string)
				need(kind, n, k)
			}
		}
	}
	for k, kv := range overrides {
		for key := range kv {
			kind, name, _ := strings.Cut(k, "/")
			need(kind, name, key)
		}
	}
	for _, k := range sortedKeys(required) {
		kind, name, _ := strings.Cut(k, "/")
		if name == "" {
			continue
		}
		obj := byKind[kind][name]
		if obj == nil {
			obj = &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": kind}}
			obj.SetName(name)
			obj.SetNamespace(ns)
			obj.SetLabels(map[string]string{placeholderLabel: "true"})
			for key := range required[k] {
				setData(obj, key, "placeholder")
			}
			if byKind[kind] == nil {
				byKind[kind] = map[string]*unstructured.Unstructured{}
			}
			byKind[kind][name] = obj
			p.Placeholders++
		}
	}
	for k, kv := range overrides {
		kind, name, _ := strings.Cut(k, "/")
		for key, val := range kv {
			setData(byKind[kind][name], key, val)
		}
	}
	// A ScaledObject whose Deployment the golden does not hold (render's and the chart's KEDA
	// objects: the Mastodon chart runs the Deployments) gets a placeholder Deployment, since
	// KEDA is not Ready without its scale target.
	for _, name := range sortedKeys(byKind["ScaledObject"]) {
		target, _, _ := unstructured.NestedString(byKind["ScaledObject"][name].Object, "spec", "scaleTargetRef", "name")
		if target == "" || byKind["Deployment"][target] != nil {
			continue
		}
		if byKind["Deployment"] == nil {
			byKind["Deployment"] = map[string]*unstructured.Unstructured{}
		}
		byKind["Deployment"][target] = placeholderDeployment(target, ns)
		p.Placeholders++
	}
	// Apply order: what is referenced before what references it.
	for _, kind := range []string{"ConfigMap", "Secret", "Deployment", "TriggerAuthentication", "ScaledObject", "PodDisruptionBudget"} {
		for _, name := range sortedKeys(byKind[kind]) {
			p.Copy = append(p.Copy, byKind[kind][name])
		}
	}
	return p, nil
}

// placeholderDeployment is a Deployment named name that runs nothing of interest.
func placeholderDeployment(name, ns string) *unstructured.Unstructured {
	labels := map[string]any{placeholderLabel: "true", "app.kubernetes.io/component": name}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": name, "namespace": ns, "labels": labels},
		"spec": map[string]any{
			"replicas": int64(1),
			"selector": map[string]any{"matchLabels": labels},
			"template": map[string]any{
				"metadata": map[string]any{"labels": labels},
				"spec":     map[string]any{"containers": []any{map[string]any{"name": "placeholder", "image": "registry.k8s.io/pause:3.10"}}},
			},
		},
	}}
	return obj
}

// plantEnvValue makes env var envName of the Deployment's containers resolve to value.
func plantEnvValue(dep *unstructured.Unstructured, envName, value string, set func(kind, name, key, value string)) bool {
	if dep == nil {
		return false
	}
	found := false
	cs, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	for ci, c := range cs {
		cm, _ := c.(map[string]any)
		envs, _ := cm["env"].([]any)
		for ei, e := range envs {
			em, _ := e.(map[string]any)
			if em["name"] != envName {
				continue
			}
			found = true
			if vf, ok := em["valueFrom"].(map[string]any); ok {
				if ref, ok := vf["secretKeyRef"].(map[string]any); ok {
					n, _ := ref["name"].(string)
					k, _ := ref["key"].(string)
					set("Secret", n, k, value)
				} else if ref, ok := vf["configMapKeyRef"].(map[string]any); ok {
					n, _ := ref["name"].(string)
					k, _ := ref["key"].(string)
					set("ConfigMap", n, k, value)
				}
			} else {
				em["value"] = value
				envs[ei] = em
			}
		}
		if !found {
			froms, _ := cm["envFrom"].([]any)
			for _, f := range froms {
				fm, _ := f.(map[string]any)
				if ref, ok := fm["secretRef"].(map[string]any); ok {
					n, _ := ref["name"].(string)
					set("Secret", n, envName, value)
					found = true
				}
			}
		}
		cs[ci] = cm
	}
	_ = unstructured.SetNestedSlice(dep.Object, cs, "spec", "template", "spec", "containers")
	return found
}

// setData sets key in a ConfigMap's data or a Secret's stringData.
func setData(obj *unstructured.Unstructured, key, value string) {
	field := "data"
	if obj.GetKind() == "Secret" {
		field = "stringData"
		// stringData wins over data on write; drop the rendered value so the two cannot disagree.
		unstructured.RemoveNestedField(obj.Object, "data", key)
	}
	_ = unstructured.SetNestedField(obj.Object, value, field, key)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
