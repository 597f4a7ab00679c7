package postrender_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/mastoscale/mastoscale/pkg/postrender"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
)

// benchRelease renders the test chart for release name with five split workers (8 documents)
// and adds 8 foreign documents: a 16-document release, as Helm hands it to a post-renderer.
func benchRelease(b *testing.B, name string) []byte {
	chrt, err := loader.Load(testChart(b))
	require.NoError(b, err)
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
	rel, err := install.Run(chrt, map[string]any{"mastodon": map[string]any{"sidekiq": map[string]any{"workers": workers}}})
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

// BenchmarkPostRender post-renders one 16-document release and a 4,800-document stream of 300
// releases. ns/doc should stay flat from one to the other: the transformer is linear.
func BenchmarkPostRender(b *testing.B) {
	for _, releases := range []int{1, 300} {
		var input []byte
		for i := range releases {
			input = append(input, benchRelease(b, fmt.Sprintf("social%d", i))...)
		}
		docs := 16 * releases
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
