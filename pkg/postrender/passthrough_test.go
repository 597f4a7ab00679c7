package postrender_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/pkg/postrender"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// TestForeignDocumentsByteIdentical post-renders real renders of both official charts (the
// real helm binary on ../shared/charts) in split and attach mode, and checks that every
// document the post-renderer does not own is in the output exactly as it came, in order.
func TestForeignDocumentsByteIdentical(t *testing.T) {
	for _, chart := range []string{testutil.LegacyChart, testutil.HelmChartsChart} {
		for _, mode := range []struct {
			name   string
			values map[string]any
			opts   postrender.Options
		}{
			{"split", nil, postrender.Options{Preset: "split"}},
			{"attach", testutil.SplitWorkers, postrender.Options{}},
		} {
			t.Run(chart+"/"+mode.name, func(t *testing.T) {
				input := testutil.HelmTemplate(t, "MASTOSCALE_HELM3", chart, "social", "fedi", mode.values)
				var out bytes.Buffer
				_, err := postrender.Run(bytes.NewReader(input), &out, mode.opts)
				require.NoError(t, err)
				in, got := foreignDocs(t, input), foreignDocs(t, out.Bytes())
				require.NotEmpty(t, in)
				assert.Equal(t, in, got, "foreign documents must pass byte for byte")
				assert.Contains(t, out.String(), "kind: ScaledObject")
			})
		}
	}
}

// foreignDocs cuts a Helm stream at its `---` lines (independently of the post-renderer's own
// reader) and returns the documents that are neither Sidekiq Deployments, their
// PodDisruptionBudgets nor KEDA objects, as text.
func foreignDocs(t *testing.T, stream []byte) []string {
	t.Helper()
	var out []string
	for _, doc := range strings.SplitAfter(string(stream), "\n---\n") {
		doc = strings.TrimSuffix(strings.TrimPrefix(doc, "---\n"), "---\n")
		var m struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
		}
		require.NoError(t, yaml.Unmarshal([]byte(doc), &m), doc)
		sidekiq := (m.Kind == "Deployment" || m.Kind == "PodDisruptionBudget") && strings.HasPrefix(m.Metadata.Labels["app.kubernetes.io/component"], "sidekiq-")
		if sidekiq || strings.HasPrefix(m.APIVersion, "keda.sh/") || strings.TrimSpace(doc) == "" {
			continue
		}
		out = append(out, doc)
	}
	return out
}

// BenchmarkPostRenderRealChart post-renders the legacy chart's real 20-document release
// (helm template, split preset), and the same release followed by 4,680 foreign documents:
// the cost of a foreign document is reading it, not writing it again.
func BenchmarkPostRenderRealChart(b *testing.B) {
	release := testutil.HelmTemplate(b, "MASTOSCALE_HELM3", testutil.LegacyChart, "mastodon", "mastodon", nil)
	docs := strings.Count(string(release), "\n---\n") + 1
	var foreign bytes.Buffer
	for i := range 4680 {
		fmt.Fprintf(&foreign, `---
# Source: other/templates/configmap-%[1]d.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: other-%[1]d
  labels:
    app.kubernetes.io/name: other
    
  annotations:
data:
  key: "value %[1]d"
  list: |
    - a
    - b
`, i)
	}
	big := append(append([]byte{}, release...), foreign.Bytes()...)
	for _, in := range []struct {
		name string
		data []byte
		docs int
	}{{fmt.Sprintf("docs=%d", docs), release, docs}, {fmt.Sprintf("docs=%d", docs+4680), big, docs + 4680}} {
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(in.data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := postrender.Run(bytes.NewReader(in.data), &bytes.Buffer{}, postrender.Options{Preset: "split"}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*in.docs), "ns/doc")
		})
	}
}
