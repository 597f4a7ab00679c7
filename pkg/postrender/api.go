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
	// release runs; it is used when Layout is nil.
	Preset string
}

// Result is what Transform found besides the objects.
type Result struct {
	// Findings are warnings and notes (every edit of a running worker among them), and every
	// error when Transform fails.
	Findings []layout.Finding
}

// Transform returns the objects of a Mastodon release with autoscaled Sidekiq: nodes are the
// objects in order (a ResourceList's items, say), the result the same with the release's
// Sidekiq Deployments edited or replaced and the KEDA objects added. Nodes it does not own are
// returned as they are. When it fails, the error names every problem and Result.Findings
// carries each with its location; the returned nodes are then nil.
func Transform(nodes []*yaml.RNode, opts Options) ([]*yaml.RNode, *Result, error) {
	e, res, err := transformObjects(nodes, opts)
	if err != nil {
		return nil, res, err
	}
	return e.apply(nodes), res, nil
}
