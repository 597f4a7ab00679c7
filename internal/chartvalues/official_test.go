package chartvalues_test

import (
	"testing"

	"github.com/mastoscale/mastoscale/internal/chartvalues"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/stretchr/testify/require"
)

// TestOfficial: the official chart's workers carry the layout's names, concurrency, queues
// ("name,weight") and replicas (a scaled worker's minReplicas), the layout's image as
// repository and tag, and what the chart cannot express comes back as limits with field paths.
func TestOfficial(t *testing.T) {
	l, err := layout.Parse([]byte(`apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
metadata: {name: mastodon}
spec:
  mastodonVersion: "4.2"
  image: registry.example:5000/mastodon:v4.2.9
  workers:
    - name: busy
      concurrency: 10
      timeout: 40
      queues: [{name: default, weight: 2}, {name: push}, {name: ingress}, {name: mailers}, {name: pull}]
      autoscale: {minReplicas: 2, maxReplicas: 5}
    - name: scheduler
      concurrency: 5
      queues: [{name: scheduler}]
`))
	require.NoError(t, err)
	v, limits, err := chartvalues.Official(l)
	require.NoError(t, err)
	image := map[string]any{"repository": "registry.example:5000/mastodon", "tag": "v4.2.9"}
	require.Equal(t, map[string]any{"mastodon": map[string]any{"sidekiq": map[string]any{"workers": []any{
		map[string]any{"name": "busy", "concurrency": 10.0, "replicas": 2.0, "queues": []any{"default,2", "push", "ingress", "mailers", "pull"}, "image": image},
		map[string]any{"name": "scheduler", "concurrency": 5.0, "replicas": 1.0, "queues": []any{"scheduler"}, "image": image},
	}}}}, v)
	require.Len(t, limits, 4)
	require.Contains(t, limits[0], "spec.workers[0].timeout 40: the chart's Sidekiq command has no -t")
	require.Contains(t, limits[1], "spec.workers[0]: the chart sets no terminationGracePeriodSeconds")
	require.Contains(t, limits[2], "spec.workers[0]: the chart sets no DB_POOL per worker")
	require.Contains(t, limits[3], "spec.workers[1]: the chart sets no DB_POOL per worker")

	names, err := chartvalues.ScaledDeployments(l)
	require.NoError(t, err)
	require.Equal(t, []string{"mastodon-sidekiq-busy"}, names)
	_, err = chartvalues.GitOpsYAML(l, "jenkins", chartvalues.Options{})
	require.ErrorContains(t, err, `--gitops "jenkins": give argocd or flux`)
}
