package testutil

import (
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/drift"
	"sigs.k8s.io/yaml"
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

// Document is one document of a manifest stream, with what identifies it.
type Document struct {
	APIVersion, Kind, Name string
	// Text is the document as written, without its separator, ending in a newline.
	Text string
}

// Documents splits a stream (as helm, kustomize or mastoscale write it) into its documents.
func Documents(t testing.TB, stream []byte) []Document {
	t.Helper()
	var docs []Document
	for _, text := range strings.Split("\n"+string(stream), "\n---\n") {
		if strings.TrimSpace(text) == "" {
			continue
		}
		var m struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(text), &m); err != nil {
			t.Fatalf("a document of the stream: %v\n%s", err, text)
		}
		if m.Kind == "" {
			continue // only comments
		}
		docs = append(docs, Document{m.APIVersion, m.Kind, m.Metadata.Name, strings.TrimPrefix(strings.TrimSuffix(text, "\n"), "\n") + "\n"})
	}
	return docs
}

// Join writes documents back as one stream, each after a `---` line.
func Join(docs []Document) []byte {
	var b strings.Builder
	for _, d := range docs {
		b.WriteString("---\n" + d.Text)
	}
	return []byte(b.String())
}

// Generated are the documents mastoscale adds to a release, which its goldens may hold (the
// official charts' own output is AGPL test input, never committed): KEDA objects and
// PodDisruptionBudgets.
func Generated(docs []Document) []Document {
	var out []Document
	for _, d := range docs {
		if strings.HasPrefix(d.APIVersion, "keda.sh/") || d.Kind == "PodDisruptionBudget" {
			out = append(out, d)
		}
	}
	return out
}
