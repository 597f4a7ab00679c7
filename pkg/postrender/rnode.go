package postrender

import "sigs.k8s.io/kustomize/kyaml/yaml"

// scalarAt returns the scalar value at path, or "" when it is absent, null or not a scalar.
func scalarAt(n *yaml.RNode, path ...string) string {
	v, err := n.Pipe(yaml.Lookup(path...))
	if err != nil || v == nil || v.YNode().Kind != yaml.ScalarNode || v.YNode().Tag == yaml.NodeTagNull {
		return ""
	}
	return v.YNode().Value
}

// stringsAt returns the scalars of the sequence in field, or nil when there is none.
func stringsAt(n *yaml.RNode, field string) []string {
	v := n.Field(field)
	if v == nil || v.Value.YNode().Kind != yaml.SequenceNode {
		return nil
	}
	var out []string
	for _, e := range v.Value.YNode().Content {
		out = append(out, e.Value)
	}
	return out
}
