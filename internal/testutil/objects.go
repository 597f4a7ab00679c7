package testutil

import (
	"testing"

	"github.com/mastoscale/mastoscale/internal/drift"
)

// AssertSameObjects checks that two manifest streams hold the same Kubernetes objects, compared
// with drift (order and formatting do not count), where a field set to null counts as absent, as
// it does for the API server: Helm 4 drops a chart's `annotations:` left empty when it passes
// manifests through a post-renderer plugin, Helm 3 and mastoscale keep it.
func AssertSameObjects(t testing.TB, want, got []byte) {
	t.Helper()
	parse := func(what string, data []byte) []drift.Object {
		objs, err := drift.Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		for _, o := range objs {
			dropNulls(o.Content)
		}
		return objs
	}
	report := drift.CompareObjects(parse("want", want), parse("got", got))
	if !report.Clean() {
		t.Errorf("the objects differ (lines marked - are got's, + want's):\n%s", report.Diff())
	}
	if report.Objects == 0 {
		t.Error("no objects to compare")
	}
}

func dropNulls(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if e == nil {
				delete(v, k)
				continue
			}
			dropNulls(e)
		}
	case []any:
		for _, e := range v {
			dropNulls(e)
		}
	}
}
