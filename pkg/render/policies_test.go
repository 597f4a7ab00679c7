package render_test

import (
	"testing"

	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/render"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

var _ = testutil.Update

// TestLatencyTrigger: the query per exporter (max over the worker's queues, each exporter's
// label), the threshold in seconds, metricType Value, and an activation threshold no latency
// reaches on a worker that sleeps, so the redis triggers alone wake it.
func TestLatencyTrigger(t *testing.T) {
	cases := []struct {
		name, exporter, version, minReplicas string
		wantQuery, wantActivation            string
	}{
		{"mastodon exporter, always on", "mastodon", "4.6", "1",
			`max(sidekiq_queue_latency_seconds{queue=~"push|pull"})`, ""},
		{"sidekiq-prometheus-exporter, sleeping", "sidekiq-prometheus-exporter", "4.3", "0",
			`max(sidekiq_queue_latency_seconds{name=~"push|pull"})`, "31536000"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := layout.Parse([]byte(`apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
spec:
  mastodonVersion: "` + c.version + `"
  workers:
  - name: push-pull
    queues: [{name: push}, {name: pull}]
    autoscale:
      minReplicas: ` + c.minReplicas + `
      latencyTarget: 1m30s
      latencyTrigger: {exporter: ` + c.exporter + `, serverAddress: "http://prometheus.monitoring:9090"}
  - name: rest
    queues: [{name: default}, {name: ingress}, {name: mailers}, {name: scheduler}` + fasp(c.version) + `]
`))
			require.NoError(t, err)
			set, err := render.FromLayout(l)
			require.NoError(t, err)
			triggers := set.ScaledObjects[0].Spec.Triggers
			require.Len(t, triggers, 3, "two redis triggers and the latency trigger")
			lt := triggers[2]
			assert.Equal(t, "prometheus", lt.Type)
			assert.Equal(t, autoscalingv2.ValueMetricType, lt.MetricType)
			assert.Equal(t, c.wantQuery, lt.Metadata["query"])
			assert.Equal(t, "90", lt.Metadata["threshold"])
			assert.Equal(t, "http://prometheus.monitoring:9090", lt.Metadata["serverAddress"])
			assert.Equal(t, c.wantActivation, lt.Metadata["activationThreshold"])
			assert.Nil(t, lt.AuthenticationRef)
			d, _, err := layout.Resolve(l)
			require.NoError(t, err)
			assert.Equal(t, c.wantQuery, render.LatencyQuery(d.Workers[0]))
			assert.Empty(t, render.LatencyQuery(d.Workers[1]))
		})
	}
}

// fasp is the fasp queue entry for versions that have it (4.4 on).
func fasp(version string) string {
	if version == "4.3" {
		return ""
	}
	return ", {name: fasp}"
}
