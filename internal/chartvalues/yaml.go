package chartvalues

import (
	"bytes"
	"fmt"
	"reflect"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"sigs.k8s.io/yaml"
)

// Options say how the values file names the command that regenerates it.
type Options struct {
	// Command regenerates the file, e.g. "mastoscale chart-values -f layout.yaml"; empty
	// says that.
	Command string
}

// order is the order of the top-level keys in the values file: the spec's, then the rest.
var order = []string{"mastodonVersion", "release", "image", "redis", "database", "workers", "scaler", WarningsKey, SealKey}

// YAML returns the values file of layout l: a comment saying how to install and regenerate
// it, then Values as YAML. It checks that the file reads back (as Helm reads it) into exactly
// the values that were sealed.
func YAML(l *layout.SidekiqLayout, o Options) ([]byte, error) {
	v, err := Values(l)
	if err != nil {
		return nil, err
	}
	var body bytes.Buffer
	for _, k := range order {
		x, ok := v[k]
		if !ok {
			continue
		}
		switch k {
		case WarningsKey:
			body.WriteString("# The layout's warnings; the chart's NOTES show them.\n")
		case SealKey:
			body.WriteString("# sha256 of the values above as JSON: the chart renders nothing if they were edited.\n")
		}
		part, err := yaml.Marshal(map[string]any{k: x})
		if err != nil {
			return nil, fmt.Errorf("encoding values: %w", err)
		}
		body.Write(part)
	}
	var back map[string]any
	if err := yaml.Unmarshal(body.Bytes(), &back); err != nil || !reflect.DeepEqual(back, v) {
		return nil, fmt.Errorf("encoding values: the YAML does not read back as the sealed values (%v)", err)
	}
	return append(header(l, o), body.Bytes()...), nil
}

func header(l *layout.SidekiqLayout, o Options) []byte {
	ns := l.Metadata.Namespace
	if ns == "" {
		ns = "<namespace>"
	}
	name := l.Metadata.Name
	if name == "" {
		name = "mastodon"
	}
	cmd := o.Command
	if cmd == "" {
		cmd = "mastoscale chart-values -f layout.yaml"
	}
	return fmt.Appendf(nil, `# Values for charts/mastoscale, written by mastoscale chart-values from SidekiqLayout %q.
# Do not edit: every rule was checked when they were written, and the chart refuses values
# that do not match their seal. Change the layout and regenerate:
#   %s > values.yaml
# Install into the layout's namespace:
#   helm upgrade --install %s-autoscaling charts/mastoscale -n %s -f values.yaml
`, name, cmd, name, ns)
}
