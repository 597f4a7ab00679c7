package postrender

import (
	"github.com/mastoscale/mastoscale/pkg/layout"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Options configure Transform.
type Options struct {
	// Layout is the layout the user asked for, as written (undefaulted: Transform must tell the
	// fields the user set from those it infers from the release). Nil attaches autoscaling to
	// the workers the release already runs, with everything inferred.
	Layout *layout.SidekiqLayout
	// Preset names a built-in layout (layout.Presets) to build for the Mastodon version the
	// release runs; it is used when Layout is nil. A Layout may name one too (spec.preset).
	Preset string
}

// attach tells that the release's own workers are to be autoscaled: no layout and no preset,
// or a layout that lists no workers and names no preset.
func (o Options) attach() bool {
	if o.Layout == nil {
		return o.Preset == ""
	}
	return len(o.Layout.Spec.Workers) == 0 && o.Layout.Spec.Preset == ""
}

// Result is what Transform found besides the objects.
type Result struct {
	// Findings are warnings and notes (every edit of a running worker among them), and every
	// error when Transform fails.
	Findings []layout.Finding
}

// Edits say what becomes of the objects Transform owns (the release's Sidekiq Deployments and
// KEDA objects): each is replaced by the nodes given, none to remove it. Objects without an
// entry are not the transformer's and stay exactly as they are.
type Edits map[*yaml.RNode][]*yaml.RNode

// Apply returns nodes with the edits made, in order.
func (e Edits) Apply(nodes []*yaml.RNode) []*yaml.RNode { return edits(e).apply(nodes) }

// Transform plans the transformation of a Mastodon release into one with autoscaled Sidekiq:
// nodes are the objects in order (a ResourceList's items, say); the edits replace the
// release's Sidekiq Deployments with the layout's and add the KEDA objects. When it fails, the
// error names every problem and Result.Findings carries each with its location.
func Transform(nodes []*yaml.RNode, opts Options) (Edits, *Result, error) {
	e, res, err := transformObjects(nodes, opts)
	return Edits(e), res, err
}
