package render

import (
	"bytes"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// ToMap converts a typed object to its YAML/JSON map without the noise Go marshalling adds
// to objects that were never on a server: `status` (the server's to write), every `null`
// (`creationTimestamp: null`, a gRPC probe's `service: null`), an empty `strategy`, container
// `resources: {}`, and KEDA's empty `scalingModifiers`.
func ToMap(obj runtime.Object) (map[string]any, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encoding %T: %w", obj, err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("encoding %T: %w", obj, err)
	}
	clean(m)
	return m, nil
}

func clean(m map[string]any) {
	delete(m, "status")
	pruneNulls(m)
	spec, _ := m["spec"].(map[string]any)
	if spec == nil {
		return
	}
	deleteEmpty(spec, "strategy")
	if adv, ok := spec["advanced"].(map[string]any); ok {
		deleteEmpty(adv, "scalingModifiers")
		deleteEmpty(spec, "advanced")
	}
	tmpl, _ := spec["template"].(map[string]any)
	if tmpl == nil {
		return
	}
	if ps, ok := tmpl["spec"].(map[string]any); ok {
		for _, key := range []string{"containers", "initContainers"} {
			cs, _ := ps[key].([]any)
			for _, c := range cs {
				if cm, ok := c.(map[string]any); ok {
					deleteEmpty(cm, "resources")
				}
			}
		}
	}
}

func deleteEmpty(m map[string]any, key string) {
	if v, ok := m[key].(map[string]any); ok && len(v) == 0 {
		delete(m, key)
	}
}

// pruneNulls deletes every null value of the maps in v, at any depth.
func pruneNulls(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if x == nil {
				delete(v, k)
				continue
			}
			pruneNulls(x)
		}
	case []any:
		for _, x := range v {
			pruneNulls(x)
		}
	}
}

// YAML writes objects as a stream of YAML documents separated by `---`.
func YAML(objs []runtime.Object) ([]byte, error) {
	var buf bytes.Buffer
	for i, obj := range objs {
		m, err := ToMap(obj)
		if err != nil {
			return nil, err
		}
		doc, err := yaml.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("encoding %T: %w", obj, err)
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(doc)
	}
	return buf.Bytes(), nil
}

// JSON writes objects as a Kubernetes v1 List, which kubectl accepts as one document.
func JSON(objs []runtime.Object) ([]byte, error) {
	items := make([]any, 0, len(objs))
	for _, obj := range objs {
		m, err := ToMap(obj)
		if err != nil {
			return nil, err
		}
		items = append(items, m)
	}
	out, err := json.MarshalIndent(map[string]any{"apiVersion": "v1", "kind": "List", "items": items}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding list: %w", err)
	}
	return append(out, '\n'), nil
}
