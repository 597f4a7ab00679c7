package chartvalues

import (
	"encoding/json"
	"fmt"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/render"
)

// Keys of the values that are not fields of a layout's spec.
const (
	// SealKey holds the seal (see Seal).
	SealKey = "seal"
	// WarningsKey holds the layout's warnings, one line each, for the chart's NOTES.
	WarningsKey = "warnings"
	// GlobalKey is Helm's global values, which an umbrella chart passes to every subchart;
	// the seal leaves them out.
	GlobalKey = "global"
)

// Values returns the sealed chart values of layout l, as Helm holds them after reading the
// file YAML writes (numbers are float64). It refuses a layout that layout.Resolve refuses,
// with every problem. The layout's metadata.namespace is not a value: install the release
// into it.
func Values(l *layout.SidekiqLayout) (map[string]any, error) {
	resolved, report, err := layout.Resolve(l)
	if err != nil {
		return nil, err
	}
	spec := layout.Default(layout.Clone(l)).Spec
	spec.Preset = "" // Default built the preset's workers: the chart gets those
	data, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("encoding layout spec: %w", err)
	}
	if err := helmKeepsNumbers(data); err != nil {
		return nil, err
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("encoding layout spec: %w", err)
	}
	if err := addRendered(v, resolved); err != nil {
		return nil, err
	}
	if warnings := report.Warnings(); len(warnings) > 0 {
		lines := make([]any, len(warnings))
		for i, w := range warnings {
			lines[i] = w.String()
		}
		v[WarningsKey] = lines
	}
	seal, err := Seal(v)
	if err != nil {
		return nil, err
	}
	v[SealKey] = seal
	return v, nil
}

// addRendered writes into the values what the chart would otherwise have to compute by
// re-implementing a rule: every queue's listLength (the queue's own, else its worker's), each
// latency trigger's query, threshold and activationThreshold, the triggers of the workers on
// mastoscale's scaler and the scaler's own objects, exactly as pkg/render makes them.
func addRendered(v map[string]any, l *layout.Layout) error {
	if err := addScaler(v, l); err != nil {
		return err
	}
	workers, _ := v["workers"].([]any)
	for i, w := range l.Workers {
		if !w.Autoscaled {
			continue
		}
		vw := workers[i].(map[string]any)
		for j, q := range w.Queues {
			vw["queues"].([]any)[j].(map[string]any)["listLength"] = float64(q.ListLength)
		}
		if w.Scaling.LatencyExporter == "" && !w.UsesSidekiqScaler() {
			continue
		}
		so, err := render.ScaledObjectFor(l, w, l.DeploymentName(w))
		if err != nil {
			return err
		}
		if w.UsesSidekiqScaler() {
			if vw["autoscale"].(map[string]any)["externalTriggers"], err = asValues(so.Spec.Triggers); err != nil {
				return err
			}
			continue
		}
		trigger := so.Spec.Triggers[len(so.Spec.Triggers)-1].Metadata
		lt := vw["autoscale"].(map[string]any)["latencyTrigger"].(map[string]any)
		for _, key := range []string{"query", "threshold", "activationThreshold"} {
			if value, ok := trigger[key]; ok {
				lt[key] = value
			}
		}
	}
	return nil
}

// addScaler writes the scaler's rendered objects (render.ScalerObjectsFor) into
// scaler.objects, without a namespace: the chart puts them in the release's.
func addScaler(v map[string]any, l *layout.Layout) error {
	s := render.ScalerObjectsFor(l)
	if s == nil {
		return nil
	}
	var objects []any
	for _, obj := range s.Objects() {
		m, err := render.ToMap(obj)
		if err != nil {
			return err
		}
		delete(m["metadata"].(map[string]any), "namespace")
		objects = append(objects, m)
	}
	v["scaler"].(map[string]any)["objects"] = objects
	return nil
}

// asValues is x as Helm holds it after reading a values file: JSON types, numbers float64.
func asValues(x any) (any, error) {
	data, err := json.Marshal(x)
	if err != nil {
		return nil, fmt.Errorf("encoding values: %w", err)
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("encoding values: %w", err)
	}
	return out, nil
}
