package postrender

import (
	"fmt"
	"strings"

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

// Severities of a Finding.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
	SeverityInfo    = "info"
)

// Result is what Transform found besides the objects.
type Result struct {
	// Findings are warnings and notes, and every error when Transform fails.
	Findings []Finding
}

// Finding is one problem or note, with the layout field and the object it concerns.
type Finding struct {
	// Severity is SeverityError, SeverityWarning or SeverityInfo.
	Severity string
	Message  string
	// Field is the layout field path, e.g. spec.workers[2].queues[0], or "".
	Field string
	// Resource is the object of the release concerned, or nil.
	Resource *ResourceRef
}

// String renders a finding as `field: message (Kind name)`.
func (x Finding) String() string {
	var b strings.Builder
	if x.Field != "" {
		b.WriteString(x.Field + ": ")
	}
	b.WriteString(x.Message)
	if x.Resource != nil {
		fmt.Fprintf(&b, " (%s %s)", x.Resource.Kind, x.Resource.Name)
	}
	return b.String()
}

// ResourceRef identifies an object of the release.
type ResourceRef struct {
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
}

// Transform returns the documents of a Mastodon release with autoscaled Sidekiq.
//
// It edits the chart's Sidekiq Deployments in place and returns the other nodes as they are.
// When it fails, the error summarises and Result.Findings carries every finding with its field
// path; the returned nodes are then nil.
func Transform(nodes []*yaml.RNode, opts Options) ([]*yaml.RNode, *Result, error) {
	e, res, err := transformObjects(nodes, opts)
	if err != nil {
		return nil, res, err
	}
	return e.apply(nodes), res, nil
}
