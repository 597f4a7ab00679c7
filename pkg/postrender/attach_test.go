package postrender_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/postrender"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// TestAttachKeepsSizedReplicas: switching a running release to attach removes spec.replicas
// (Helm's three-way merge then drops the live Deployment to 1), so the chart's replicas become
// the ScaledObject's minReplicaCount, on both official charts rendered by the real helm; a
// layout's own minReplicas wins.
func TestAttachKeepsSizedReplicas(t *testing.T) {
	sized := map[string]any{"mastodon": map[string]any{"sidekiq": map[string]any{"workers": []any{
		map[string]any{"name": "default", "concurrency": 10, "replicas": 3, "queues": []any{"default,8", "ingress,4", "mailers,2"}},
		map[string]any{"name": "push-pull", "concurrency": 10, "replicas": 6, "queues": []any{"push,6", "pull", "fasp"}},
		map[string]any{"name": "scheduler", "concurrency": 5, "replicas": 1, "queues": []any{"scheduler"}},
	}}}}
	for _, chart := range []string{testutil.LegacyChart, testutil.HelmChartsChart} {
		t.Run(chart, func(t *testing.T) {
			input := testutil.HelmTemplate(t, "MASTOSCALE_HELM3", chart, "social", "fedi", sized)
			var out bytes.Buffer
			_, err := postrender.Run(bytes.NewReader(input), &out, postrender.Options{})
			require.NoError(t, err)
			assert.Equal(t, map[string][2]string{
				"social-mastodon-sidekiq-default":   {"3", "4"},
				"social-mastodon-sidekiq-push-pull": {"6", "6"},
			}, replicaRanges(t, out.Bytes()))

			l, err := layout.Parse([]byte(`apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
spec:
  workers:
    - {name: default, autoscale: {minReplicas: 1}}
    - {name: push-pull, autoscale: {maxReplicas: 8}}
    - {name: scheduler}
`))
			require.NoError(t, err)
			out.Reset()
			_, err = postrender.Run(bytes.NewReader(input), &out, postrender.Options{Layout: l})
			require.NoError(t, err)
			assert.Equal(t, map[string][2]string{
				"social-mastodon-sidekiq-default":   {"1", "4"},
				"social-mastodon-sidekiq-push-pull": {"6", "8"},
			}, replicaRanges(t, out.Bytes()), "the layout's minReplicas wins")
		})
	}
}

// replicaRanges maps each ScaledObject's target to its minReplicaCount and maxReplicaCount.
func replicaRanges(t *testing.T, stream []byte) map[string][2]string {
	t.Helper()
	nodes, err := kio.FromBytes(stream)
	require.NoError(t, err)
	out := map[string][2]string{}
	for _, n := range nodes {
		if n.GetKind() != "ScaledObject" {
			continue
		}
		get := func(path ...string) string {
			v, err := n.Pipe(yaml.Lookup(path...))
			require.NoError(t, err)
			return yaml.GetValue(v)
		}
		out[get("spec", "scaleTargetRef", "name")] = [2]string{get("spec", "minReplicaCount"), get("spec", "maxReplicaCount")}
	}
	return out
}

// TestAttachReadsWeightZeroAsUnset: Sidekiq runs `-q push,0` as `-q push` (weight 0 is no
// weight: 6.x parse_queue, 7.x Capsule#queues=), so attach accepts a chart worker written with
// it and keeps its command.
func TestAttachReadsWeightZeroAsUnset(t *testing.T) {
	input, err := os.ReadFile(filepath.Join("testdata", "cases", "attach-split-workers", "input.yaml"))
	require.NoError(t, err)
	require.Contains(t, string(input), `"push,6"`)
	input = bytes.ReplaceAll(input, []byte(`"push,6"`), []byte(`"push,0"`))
	var out bytes.Buffer
	res, err := postrender.Run(bytes.NewReader(input), &out, postrender.Options{})
	require.NoError(t, err, "weight 0 is Sidekiq's unset, not a mistake")
	for _, f := range res.Findings {
		assert.NotContains(t, f.Message, "weight", "weight 0 is Sidekiq's unset, not a mistake")
	}
	assert.Contains(t, out.String(), `"push,0"`, "attach keeps the chart's command")
	assert.Contains(t, replicaRanges(t, out.Bytes()), "mastodon-sidekiq-push-pull")
}
