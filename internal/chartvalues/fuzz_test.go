package chartvalues_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/chartvalues"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"sigs.k8s.io/yaml"
)

// FuzzYAML: for any layout document, chart-values writes values exactly when layout.Resolve
// accepts the layout (or names a number Helm cannot hold), and what it writes reads back, as
// Helm reads it, into values that carry their own seal.
func FuzzYAML(f *testing.F) {
	f.Add(seed)
	f.Add(latency)
	examples, err := filepath.Glob(filepath.Join(testutil.RepoRoot(f), "examples", "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range examples {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
	f.Fuzz(func(t *testing.T, doc string) {
		l, err := layout.Parse([]byte(doc))
		if err != nil {
			return
		}
		_, _, verdict := layout.Resolve(l)
		out, err := chartvalues.YAML(l, chartvalues.Options{})
		switch {
		case err != nil && strings.Contains(err.Error(), "Helm reads every number of a values file as a float64"):
			return
		case (err == nil) != (verdict == nil):
			t.Fatalf("chart-values: %v; layout.Resolve: %v", err, verdict)
		case err != nil:
			return
		}
		var back map[string]any
		if err := yaml.Unmarshal(out, &back); err != nil {
			t.Fatalf("values do not parse: %v\n%s", err, out)
		}
		seal, err := chartvalues.Seal(back)
		if err != nil || seal != back[chartvalues.SealKey] {
			t.Fatalf("seal %v, values say %v (%v)\n%s", seal, back[chartvalues.SealKey], err, out)
		}
	})
}
