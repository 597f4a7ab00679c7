package chartvalues

import (
	"encoding/json"
	"fmt"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"sigs.k8s.io/yaml"
)

// Options are the chart-only switches that have no place in a layout.
type Options struct {
	// Deployments renders the split Sidekiq Deployments too (deployments.enabled). Without
	// it the chart attaches ScaledObjects to the Deployments of an existing release.
	Deployments bool
}

// Values returns the chart values of layout l: its spec as written (undefaulted, so the
// chart's own defaults apply, which equal layout.Default) plus the chart switches. It refuses
// a layout that layout.Validate rejects, so the chart never receives what the CLI would not
// render. The layout's metadata.namespace is not a value: install the release into it.
func Values(l *layout.SidekiqLayout, o Options) (map[string]any, error) {
	defaulted, report := layout.Prepare(l)
	if report.HasErrors() {
		return nil, fmt.Errorf("invalid layout: %w", report.Err())
	}
	spec := layout.Clone(l).Spec
	if spec.Preset != "" {
		// The chart knows no presets: it gets the preset's workers.
		spec.Workers, spec.Preset = layout.Clone(defaulted).Spec.Workers, ""
	}
	for i := range spec.Workers {
		a := spec.Workers[i].Autoscale
		if a == nil || (a.LatencyTarget == nil && a.ThroughputPerThread == nil) {
			continue
		}
		// The chart does no duration arithmetic: it gets the listLength sizing derives.
		a.ListLength = defaulted.Spec.Workers[i].Autoscale.ListLength
		a.LatencyTarget, a.ThroughputPerThread = nil, nil
	}
	data, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("encoding layout spec: %w", err)
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("encoding layout spec: %w", err)
	}
	// The chart does no duration arithmetic either: the latency trigger gets its threshold
	// as latencyTrigger.targetSeconds.
	for i, w := range defaulted.Spec.Workers {
		if w.Autoscale == nil || w.Autoscale.LatencyTrigger == nil {
			continue
		}
		vw := v["workers"].([]any)[i].(map[string]any)
		va := vw["autoscale"].(map[string]any)
		va["latencyTrigger"].(map[string]any)["targetSeconds"] = w.Autoscale.LatencyTarget.Seconds()
		delete(va, "latencyTarget")
	}
	// Structs without omitempty effect leave `release: {}` and the like: drop them, the
	// chart's defaults mean the same.
	for k, x := range v {
		if m, ok := x.(map[string]any); ok && len(m) == 0 {
			delete(v, k)
		}
	}
	v["deployments"] = map[string]any{"enabled": o.Deployments}
	return v, nil
}

// YAML returns Values as a YAML document headed by a comment with the install command.
func YAML(l *layout.SidekiqLayout, o Options) ([]byte, error) {
	v, err := Values(l, o)
	if err != nil {
		return nil, err
	}
	body, err := yaml.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding values: %w", err)
	}
	ns := l.Metadata.Namespace
	if ns == "" {
		ns = "<namespace>"
	}
	name := l.Metadata.Name
	if name == "" {
		name = "mastodon"
	}
	head := fmt.Sprintf("# Values for charts/mastoscale, from SidekiqLayout %q. Install with:\n#   helm upgrade --install %s-autoscaling charts/mastoscale -n %s -f values.yaml\n", name, name, ns)
	return append([]byte(head), body...), nil
}
