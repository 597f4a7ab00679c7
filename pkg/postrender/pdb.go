package postrender

import (
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/render"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/kyaml/yaml"
	k8syaml "sigs.k8s.io/yaml"
)

// budgetDocument is the PodDisruptionBudget of worker i of l (render.PodDisruptionBudgetFor),
// whose shaped Deployment is d, or nil: when the layout disables it, or when the input already
// has a budget selecting the worker's pods (Kubernetes refuses to evict a pod under two
// budgets, so a second one would block every drain). It selects what d selects, so it holds
// with the chart's nameOverride too. Our budget of an earlier run, by name, is replaced.
func budgetDocument(m *Manifests, l *layout.Layout, i int, d *yaml.RNode, p *plan, style sourceStyle, seqIndent string, f *findings) (*yaml.RNode, error) {
	w := l.Workers[i]
	name := l.DeploymentName(w)
	pdb := render.PodDisruptionBudgetFor(l, w, name)
	if pdb == nil {
		return nil, nil
	}
	pods := labels.Set(labelsAt(d, "spec", "template", "metadata", "labels"))
	var foreign *Object
	for _, o := range m.PodDisruptionBudgets {
		switch {
		case o.Namespace == l.Namespace && o.Name == name:
			p.owned[o.Node] = true
		case foreign == nil && mayShareNamespace(o.Namespace, l.Namespace) && selects(o.Node, pods):
			foreign = o
		}
	}
	if foreign != nil {
		f.addLayout(layout.Info, workersPath.Index(i).Child("disruption"), foreign.Ref(),
			"already selects the pods of worker %q, so mastoscale adds no PodDisruptionBudget of its own (a pod under two budgets cannot be evicted)", w.Name)
		return nil, nil
	}
	if sel := labelsAt(d, "spec", "selector", "matchLabels"); len(sel) > 0 {
		pdb.Spec.Selector = &metav1.LabelSelector{MatchLabels: sel}
	}
	return newDocument(pdb, "PodDisruptionBudget", name, style, seqIndent)
}

// mayShareNamespace tells whether objects in namespaces a and b may be in the same one: an
// object without a namespace goes to the release's (or kustomize's), which the stream does
// not tell.
func mayShareNamespace(a, b string) bool { return a == b || a == "" || b == "" }

// labelsAt is the string map at path, or nil.
func labelsAt(n *yaml.RNode, path ...string) map[string]string {
	v, err := n.Pipe(yaml.Lookup(path...))
	if err != nil || v == nil || v.YNode().Kind != yaml.MappingNode {
		return nil
	}
	out := map[string]string{}
	_ = v.VisitFields(func(f *yaml.MapNode) error {
		out[f.Key.YNode().Value] = f.Value.YNode().Value
		return nil
	})
	return out
}

// selects reports whether the PodDisruptionBudget pdb selects pods with these labels, as the
// disruption controller reads spec.selector: empty selects every pod, absent none.
func selects(pdb *yaml.RNode, pods labels.Set) bool {
	v, err := pdb.Pipe(yaml.Lookup("spec", "selector"))
	if err != nil || v == nil || v.YNode().Tag == yaml.NodeTagNull {
		return false
	}
	s, err := v.String()
	if err != nil {
		return false
	}
	var ls metav1.LabelSelector
	if err := k8syaml.Unmarshal([]byte(s), &ls); err != nil {
		return false
	}
	sel, err := metav1.LabelSelectorAsSelector(&ls)
	return err == nil && sel.Matches(pods)
}
