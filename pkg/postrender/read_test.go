package postrender_test

import (
	"os"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/postrender"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

var _ = testutil.Update

func readNodes(t *testing.T, data string) []*yaml.RNode {
	t.Helper()
	nodes, err := (&kio.ByteReader{Reader: strings.NewReader(data), OmitReaderAnnotations: true}).Read()
	require.NoError(t, err)
	return nodes
}

// TestReadReleaseHandWritten reads what `mastoscale lint` gets: a Deployment without the
// charts' labels, its ConfigMap, a ScaledObject, a TriggerAuthentication, an HPA and a hook.
func TestReadReleaseHandWritten(t *testing.T) {
	nodes := readNodes(t, `
apiVersion: v1
kind: ConfigMap
metadata: {name: env, namespace: social}
data: {REDIS_NAMESPACE: masto5, DB_POOL: "10"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: sidekiq-main, namespace: social, labels: {app.kubernetes.io/version: v4.3.9}}
spec:
  replicas: 2
  template:
    spec:
      terminationGracePeriodSeconds: 40
      containers:
        - name: sidecar
          image: busybox
        - name: sidekiq
          image: ghcr.io/mastodon/mastodon:latest
          command: [bundle, exec, sidekiq]
          args: [-c, "12", -t, "30", -q, "default,8", -q, push]
          envFrom:
            - configMapRef: {name: env}
            - secretRef: {name: elsewhere, optional: true}
          env:
            - name: REDIS_PASSWORD
              valueFrom: {secretKeyRef: {name: redis, key: password}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: social}
spec:
  template:
    spec:
      containers: [{name: web, image: x, command: [bundle, exec, puma]}]
---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: sidekiq-main, namespace: social}
spec: {scaleTargetRef: {name: sidekiq-main}}
---
apiVersion: keda.sh/v1alpha1
kind: TriggerAuthentication
metadata: {name: auth, namespace: social}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: social}
---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: hook, namespace: social, annotations: {helm.sh/hook: pre-install}}
`)
	m := postrender.Read(nodes)
	require.Len(t, m.Workers, 1, "web runs puma, not sidekiq")
	w := m.Workers[0]
	assert.Equal(t, "sidekiq-main", w.Name)
	assert.False(t, w.Labelled)
	assert.Equal(t, 1, w.Index)
	assert.Equal(t, 1, w.Container)
	assert.Equal(t, int32(12), w.Sidekiq.Concurrency)
	assert.Equal(t, "-c", w.Sidekiq.ConcurrencyFrom)
	assert.Equal(t, int32(30), *w.Sidekiq.Timeout)
	assert.Equal(t, []postrender.Queue{{Name: "default", Weight: ptr(int32(8))}, {Name: "push"}}, w.Sidekiq.Queues)
	assert.Equal(t, int32(2), *w.Replicas)
	assert.Equal(t, int64(40), *w.GracePeriod)
	assert.Equal(t, "4.3", w.Version, "the image tag says latest; the label tells")
	assert.Empty(t, w.Sidekiq.Err)
	assert.Equal(t, postrender.EnvVar{Value: "masto5", Literal: true, From: "ConfigMap env", Field: "spec.template.spec.containers[1].envFrom[0].configMapRef.name"}, w.Env["REDIS_NAMESPACE"])
	assert.Equal(t, "10", w.Env["DB_POOL"].Value)
	assert.Equal(t, &layout.SecretKeyRef{Name: "redis", Key: "password"}, w.Env["REDIS_PASSWORD"].Secret)
	assert.Equal(t, []postrender.Ref{
		{Kind: "ConfigMap", Name: "env", Field: "spec.template.spec.containers[1].envFrom[0].configMapRef.name", Found: true},
		{Kind: "Secret", Name: "elsewhere", Field: "spec.template.spec.containers[1].envFrom[1].secretRef.name", Optional: true},
		{Kind: "Secret", Name: "redis", Field: "spec.template.spec.containers[1].env[0].valueFrom.secretKeyRef.name"},
	}, w.Refs)

	require.Len(t, m.ScaledObjects, 1, "hooks are left out")
	assert.Equal(t, "sidekiq-main", m.ScaledObjects[0].Name)
	assert.Equal(t, 3, m.ScaledObjects[0].Index)
	require.Len(t, m.TriggerAuthentications, 1)
	require.Len(t, m.HPAs, 1)
	require.Len(t, m.ConfigMaps, 1)
	assert.Len(t, m.Objects, 7, "every object, the hook included")
}

// TestReadReleaseChart reads a chart's release the way the transformer does: the worker
// names are the chart's, the version comes from the image tag.
func TestReadReleaseChart(t *testing.T) {
	data, err := os.ReadFile("testdata/cases/error-attach-chart-default/input.yaml")
	require.NoError(t, err)
	nodes, err := postrender.Parse(data)
	require.NoError(t, err)
	m := postrender.Read(nodes)
	require.Len(t, m.Workers, 1)
	w := m.Workers[0]
	assert.Equal(t, "all-queues", w.Name)
	assert.Equal(t, "mastodon-sidekiq-all-queues", w.Object.Name)
	assert.True(t, w.Labelled)
	assert.Equal(t, "mastodon", w.Release)
	assert.Equal(t, "4.6", w.Version)
	var queues []string
	for _, q := range w.Sidekiq.Queues {
		queues = append(queues, q.Name)
	}
	assert.Contains(t, queues, layout.SchedulerQueue)
	assert.Contains(t, w.Env, layout.EnvRedisHost, "read through the chart's env ConfigMap")
}

func ptr[T any](v T) *T { return &v }
