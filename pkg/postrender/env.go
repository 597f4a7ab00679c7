package postrender

import (
	"strconv"
	"strings"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// environment resolves the container's environment the way the kubelet does: envFrom in
// order (later wins), then env (wins over envFrom). ConfigMaps and Secrets are looked up among
// the manifests in the Deployment's namespace; a Secret's keys are known only when it is there.
func (m *Manifests) environment(w *Worker) map[string]EnvVar {
	env := map[string]EnvVar{}
	ns := w.Namespace
	base := w.ContainerPath()
	for i, e := range elements(w.ContainerNode, "envFrom") {
		prefix := scalarAt(e, "prefix")
		p := base + ".envFrom[" + strconv.Itoa(i) + "]"
		if name := scalarAt(e, "configMapRef", "name"); name != "" {
			if cm := m.configMaps[objectKey{ns, name}]; cm != nil {
				for k, v := range cm.Node.GetDataMap() {
					env[prefix+k] = EnvVar{Value: v, Literal: true, From: "ConfigMap " + name, Field: p + ".configMapRef.name"}
				}
			}
		}
		if name := scalarAt(e, "secretRef", "name"); name != "" {
			if sec := m.secrets[objectKey{ns, name}]; sec != nil {
				for _, k := range secretKeys(sec.Node) {
					env[prefix+k] = EnvVar{Secret: &layout.SecretKeyRef{Name: name, Key: k}, From: "Secret " + name, Field: p + ".secretRef.name"}
				}
			}
		}
	}
	for i, e := range elements(w.ContainerNode, "env") {
		name := scalarAt(e, "name")
		p := base + ".env[" + strconv.Itoa(i) + "]"
		from := "env of " + w.Object.Name
		switch {
		case e.Field("valueFrom") == nil:
			env[name] = EnvVar{Value: scalarAt(e, "value"), Literal: true, From: from, Field: p}
		case scalarAt(e, "valueFrom", "secretKeyRef", "name") != "":
			env[name] = EnvVar{Secret: &layout.SecretKeyRef{
				Name: scalarAt(e, "valueFrom", "secretKeyRef", "name"),
				Key:  scalarAt(e, "valueFrom", "secretKeyRef", "key"),
			}, From: from, Field: p}
		case scalarAt(e, "valueFrom", "configMapKeyRef", "name") != "":
			cmName, key := scalarAt(e, "valueFrom", "configMapKeyRef", "name"), scalarAt(e, "valueFrom", "configMapKeyRef", "key")
			if cm := m.configMaps[objectKey{ns, cmName}]; cm != nil {
				if v, ok := cm.Node.GetDataMap()[key]; ok {
					env[name] = EnvVar{Value: v, Literal: true, From: "ConfigMap " + cmName, Field: p}
				}
			}
		}
	}
	return env
}

// RedisPrefix is the prefix of the variables Mastodon reads this worker's Sidekiq Redis from
// (layout.SidekiqRedisPrefix): a variable is set when it is not blank, or comes from a Secret
// (whose value the manifests do not tell). Every door reads Sidekiq's Redis through it.
func (w *Worker) RedisPrefix() string {
	return layout.SidekiqRedisPrefix(func(name string) bool {
		e, ok := w.Env[name]
		return ok && (!e.Literal || strings.TrimSpace(e.Value) != "")
	})
}

// envRefs lists the ConfigMaps and Secrets the worker's container reads its environment from.
func (m *Manifests) envRefs(w *Worker) []Ref {
	var refs []Ref
	add := func(kind, name, path string, optional bool) {
		index := m.configMaps
		if kind == "Secret" {
			index = m.secrets
		}
		_, found := index[objectKey{w.Namespace, name}]
		ref := Ref{Kind: kind, Name: name, Field: path, Optional: optional, Found: found}
		for k := range index {
			if ns := k.namespace; !found && k.name == name && (ref.Elsewhere == nil || ns < *ref.Elsewhere) {
				ref.Elsewhere = &ns
			}
		}
		refs = append(refs, ref)
	}
	base := w.ContainerPath()
	for i, e := range elements(w.ContainerNode, "envFrom") {
		p := base + ".envFrom[" + strconv.Itoa(i) + "]"
		for _, kind := range []string{"configMapRef", "secretRef"} {
			if name := scalarAt(e, kind, "name"); name != "" {
				add(refKind(kind), name, p+"."+kind+".name", scalarAt(e, kind, "optional") == "true")
			}
		}
	}
	for i, e := range elements(w.ContainerNode, "env") {
		p := base + ".env[" + strconv.Itoa(i) + "].valueFrom"
		for _, kind := range []string{"configMapKeyRef", "secretKeyRef"} {
			if name := scalarAt(e, "valueFrom", kind, "name"); name != "" {
				add(refKind(kind), name, p+"."+kind+".name", scalarAt(e, "valueFrom", kind, "optional") == "true")
			}
		}
	}
	return refs
}

func refKind(field string) string {
	if field == "secretRef" || field == "secretKeyRef" {
		return "Secret"
	}
	return "ConfigMap"
}

// elements returns the items of the sequence in field, or nil.
func elements(n *yaml.RNode, field string) []*yaml.RNode {
	f := n.Field(field)
	if f == nil || f.Value.YNode().Kind != yaml.SequenceNode {
		return nil
	}
	out := make([]*yaml.RNode, 0, len(f.Value.YNode().Content))
	for _, c := range f.Value.YNode().Content {
		out = append(out, yaml.NewRNode(c))
	}
	return out
}

func secretKeys(n *yaml.RNode) []string {
	var keys []string
	for _, f := range []string{"data", "stringData"} {
		m, _ := n.Pipe(yaml.Lookup(f))
		if m == nil || m.YNode().Kind != yaml.MappingNode {
			continue
		}
		fields, _ := m.Fields()
		keys = append(keys, fields...)
	}
	return keys
}
