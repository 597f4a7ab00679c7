package render_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/render"
	"sigs.k8s.io/yaml"
)

// FuzzLayout: any layout document is parsed, validated and rendered without a panic; a layout
// Resolve accepts always renders, into YAML that parses, that carries no user information, and
// whose listLengths stay within the bound. Seeds: the examples and testdata/fuzz/FuzzLayout.
func FuzzLayout(f *testing.F) {
	examples, err := filepath.Glob(filepath.Join(testutil.RepoRoot(f), "examples", "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range examples {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := layout.Parse(data)
		if err != nil {
			return
		}
		resolved, _, verdict := layout.Resolve(l)
		set, err := render.FromLayout(l)
		if (err == nil) != (verdict == nil) {
			t.Fatalf("render: %v; layout.Resolve: %v", err, verdict)
		}
		if err != nil {
			return
		}
		out, err := render.YAML(set.Objects())
		if err != nil {
			t.Fatalf("rendering a resolved layout: %v", err)
		}
		for _, doc := range bytes.Split(out, []byte("\n---\n")) {
			var v any
			if err := yaml.Unmarshal(doc, &v); err != nil {
				t.Fatalf("output does not parse: %v\n%s", err, out)
			}
		}
		if layout.HasUserInfo(resolved.Redis.Host) || layout.HasUserInfo(resolved.Redis.Address) {
			t.Fatalf("a resolved layout carries user information in its Redis host")
		}
		for _, w := range resolved.Workers {
			if w.Autoscaled && (w.Scaling.ListLength < 1 || w.Scaling.ListLength > layout.MaxListLength) {
				t.Fatalf("worker %s: listLength %d out of bounds", w.Name, w.Scaling.ListLength)
			}
		}
	})
}
