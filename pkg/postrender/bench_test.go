package postrender_test

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/pkg/postrender"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
)

// benchRelease renders the official mastodon/helm-charts chart for release name with five split
// workers and adds 8 foreign documents, as Helm hands a release to a post-renderer.
func benchRelease(b *testing.B, chrt *chart.Chart, name string) []byte {
	install := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
	install.DryRun, install.ClientOnly, install.Replace = true, true, true
	install.ReleaseName, install.Namespace = name, "fedi"
	workers := []any{}
	for _, w := range []struct {
		name   string
		queues []any
	}{
		{"default", []any{"default"}}, {"ingress", []any{"ingress"}}, {"push-pull", []any{"push,6", "pull", "fasp"}},
		{"mailers", []any{"mailers"}}, {"scheduler", []any{"scheduler"}},
	} {
		workers = append(workers, map[string]any{"name": w.name, "concurrency": 25, "replicas": 1, "queues": w.queues})
	}
	values := testutil.MergeValues(testutil.ChartValues(testutil.HelmChartsChart),
		map[string]any{"mastodon": map[string]any{"sidekiq": map[string]any{"workers": workers}}})
	rel, err := install.Run(chrt, values)
	require.NoError(b, err)
	var buf bytes.Buffer
	buf.WriteString(rel.Manifest)
	for i := range 8 {
		fmt.Fprintf(&buf, `---
# Source: mastodon/templates/service-%[2]d.yaml
apiVersion: v1
kind: Service
metadata:
  name: %[1]s-svc-%[2]d
  labels:
    app.kubernetes.io/instance: %[1]s
spec:
  ports:
    - port: 3000
      targetPort: http
  selector:
    app.kubernetes.io/instance: %[1]s
`, name, i)
	}
	return buf.Bytes()
}

// BenchmarkPostRender post-renders one release and a stream of 300 releases. ns/doc should stay
// flat from one to the other: the transformer is linear.
func BenchmarkPostRender(b *testing.B) {
	chrt := officialChart(b, testutil.HelmChartsChart)
	for _, releases := range []int{1, 300} {
		var input []byte
		for i := range releases {
			input = append(input, benchRelease(b, chrt, fmt.Sprintf("social%d", i))...)
		}
		docs := strings.Count("\n"+string(input), "\n---\n") + 1
		b.Run(fmt.Sprintf("docs=%d", docs), func(b *testing.B) {
			b.SetBytes(int64(len(input)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := postrender.Run(bytes.NewReader(input), io.Discard, postrender.Options{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*docs), "ns/doc")
		})
	}
}
