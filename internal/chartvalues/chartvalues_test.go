package chartvalues_test

import (
	"path/filepath"
	"testing"

	"github.com/mastoscale/mastoscale/internal/chartvalues"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const seed = `apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
metadata: {name: mastodon, namespace: mastodon}
spec:
  redis:
    address: mastodon-redis-master:6379
    databaseIndex: 0
    auth: {secretName: mastodon-database-secrets, passwordKey: redis-password, triggerAuthenticationName: trigger-auth-redis-secret}
  workers:
    - name: worker-default
      queues: [{name: default, weight: 8}, {name: push}, {name: ingress}, {name: mailers}, {name: pull}, {name: fasp}]
      autoscale: {}
    - name: scheduler
      queues: [{name: scheduler}]
      replicas: 1
`

func TestYAML(t *testing.T) {
	l, err := layout.Parse([]byte(seed))
	require.NoError(t, err)
	for _, deployments := range []bool{false, true} {
		name := "attach"
		if deployments {
			name = "deployments"
		}
		t.Run(name, func(t *testing.T) {
			out, err := chartvalues.YAML(l, chartvalues.Options{Deployments: deployments})
			require.NoError(t, err)
			testutil.Golden(t, filepath.Join("testdata", name+".yaml"), out)
		})
	}
}

// TestValuesKeepPresence: the chart tells "unset" from "zero" and "{}" by presence, so the
// values carry the layout as written: no defaults filled in, zeros and empty blocks kept.
func TestValuesKeepPresence(t *testing.T) {
	l, err := layout.Parse([]byte(seed))
	require.NoError(t, err)
	v, err := chartvalues.Values(l, chartvalues.Options{})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"enabled": false}, v["deployments"])
	assert.NotContains(t, v, "release", "an empty block is dropped")
	assert.NotContains(t, v, "mastodonVersion", "defaults stay the chart's")
	redis := v["redis"].(map[string]any)
	assert.Equal(t, float64(0), redis["databaseIndex"])
	w := v["workers"].([]any)[0].(map[string]any)
	assert.Equal(t, map[string]any{}, w["autoscale"], "autoscale: {} means autoscaled with defaults")
	assert.NotContains(t, w, "concurrency")
}

func TestValuesRefuseInvalidLayout(t *testing.T) {
	l, err := layout.Parse([]byte(seed))
	require.NoError(t, err)
	l.Spec.Redis.Password = "hunter2"
	l.Spec.Workers[1].Replicas = nil
	l.Spec.Workers[1].Autoscale = &layout.Autoscale{}
	_, err = chartvalues.Values(l, chartvalues.Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "spec.redis.password")
	assert.Contains(t, err.Error(), "spec.workers[1].autoscale")
}

func BenchmarkYAML(b *testing.B) {
	l, err := layout.Parse([]byte(seed))
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		out, err := chartvalues.YAML(l, chartvalues.Options{Deployments: true})
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(out)))
	}
}
