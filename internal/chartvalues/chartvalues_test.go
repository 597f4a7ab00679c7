package chartvalues_test

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/mastoscale/mastoscale/internal/chartvalues"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/render"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
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
      autoscale: {minReplicas: 0, cooldownPeriod: 0, behaviorPreset: balanced}
    - name: scheduler
      queues: [{name: scheduler}]
      replicas: 1
`

// latency has a latency goal sized by throughput and a latency trigger on a sleeping worker.
const latency = `apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
spec:
  workers:
    - name: all
      concurrency: 10
      queues: [{name: default}, {name: push, listLength: 40}, {name: ingress}, {name: mailers}, {name: pull}, {name: fasp}]
      autoscale:
        minReplicas: 0
        latencyTarget: 1m30s
        throughputPerThread: "0.5"
        latencyTrigger: {serverAddress: "http://prometheus:9090"}
    - name: scheduler
      queues: [{name: scheduler}]
`

func parse(t testing.TB, doc string) *layout.SidekiqLayout {
	t.Helper()
	l, err := layout.Parse([]byte(doc))
	require.NoError(t, err)
	return l
}

func TestYAML(t *testing.T) {
	out, err := chartvalues.YAML(parse(t, seed), chartvalues.Options{Command: "mastoscale chart-values -f seed.yaml"})
	require.NoError(t, err)
	testutil.Golden(t, filepath.Join("testdata", "seed.yaml"), out)
}

// readBack reads a values file as Helm does: YAML through sigs.k8s.io/yaml.
func readBack(t testing.TB, l *layout.SidekiqLayout) map[string]any {
	t.Helper()
	out, err := chartvalues.YAML(l, chartvalues.Options{})
	require.NoError(t, err)
	var v map[string]any
	require.NoError(t, yaml.Unmarshal(out, &v))
	return v
}

// TestValuesAreTheDefaultedSpec: without what chart-values adds, the values are exactly the
// layout's spec after layout.Default, and as a layout they render the same objects.
func TestValuesAreTheDefaultedSpec(t *testing.T) {
	for name, doc := range map[string]string{"seed": seed, "latency": latency} {
		t.Run(name, func(t *testing.T) {
			l := parse(t, doc)
			v := readBack(t, l)
			assert.Equal(t, mustSeal(t, v), v[chartvalues.SealKey])
			delete(v, chartvalues.SealKey)
			delete(v, chartvalues.WarningsKey)
			for _, w := range v["workers"].([]any) {
				a, _ := w.(map[string]any)["autoscale"].(map[string]any)
				if lt, ok := a["latencyTrigger"].(map[string]any); ok {
					for _, k := range []string{"query", "threshold", "activationThreshold"} {
						delete(lt, k)
					}
				}
			}
			data, err := json.Marshal(map[string]any{"apiVersion": layout.APIVersion, "kind": layout.Kind, "metadata": l.Metadata, "spec": v})
			require.NoError(t, err)
			back, err := layout.Parse(data)
			require.NoError(t, err, "the values are a layout's spec")
			defaulted := layout.Default(layout.Clone(l))
			filled := fillQueueListLengths(defaulted)
			assert.Equal(t, filled.Spec, back.Spec)
			want, err := render.FromLayout(l)
			require.NoError(t, err)
			got, err := render.FromLayout(back)
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
}

// fillQueueListLengths gives every queue of an autoscaled worker its listLength, as
// chart-values does.
func fillQueueListLengths(l *layout.SidekiqLayout) *layout.SidekiqLayout {
	for i := range l.Spec.Workers {
		w := &l.Spec.Workers[i]
		if w.Autoscale == nil {
			continue
		}
		for j := range w.Queues {
			w.Queues[j].ListLength = ptr.To(w.ListLengthFor(w.Queues[j]))
		}
	}
	return l
}

func mustSeal(t testing.TB, v map[string]any) string {
	t.Helper()
	s, err := chartvalues.Seal(v)
	require.NoError(t, err)
	return s
}

// TestValuesCarryWhatTheChartCannotCompute: the latency trigger's query, threshold and
// activationThreshold are render's, and the listLength sized from the latency goal is filled in.
func TestValuesCarryWhatTheChartCannotCompute(t *testing.T) {
	v := readBack(t, parse(t, latency))
	w := v["workers"].([]any)[0].(map[string]any)
	a := w["autoscale"].(map[string]any)
	assert.Equal(t, float64(450), a["listLength"], "10 threads x 0.5 jobs/s x 90 s")
	assert.Equal(t, "1m30s", a["latencyTarget"], "the spec's own field stays")
	lt := a["latencyTrigger"].(map[string]any)
	assert.Equal(t, "mastodon", lt["exporter"])
	assert.Equal(t, "90", lt["threshold"])
	assert.Equal(t, `max(sidekiq_queue_latency_seconds{queue=~"default|push|ingress|mailers|pull|fasp"})`, lt["query"])
	assert.Equal(t, "31536000", lt["activationThreshold"])
	queues := w["queues"].([]any)
	assert.Equal(t, float64(450), queues[0].(map[string]any)["listLength"], "the worker's")
	assert.Equal(t, float64(40), queues[1].(map[string]any)["listLength"], "the queue's own")
}

// TestZerosSurvive: zeros are values, written as 0, not dropped as unset.
func TestZerosSurvive(t *testing.T) {
	v := readBack(t, parse(t, seed))
	assert.Equal(t, float64(0), v["redis"].(map[string]any)["databaseIndex"])
	a := v["workers"].([]any)[0].(map[string]any)["autoscale"].(map[string]any)
	assert.Equal(t, float64(0), a["minReplicas"])
	assert.Equal(t, float64(0), a["cooldownPeriod"])
}

// TestSeal: the seal is over everything but itself and Helm's global values, and `--set`'s
// int64 numbers seal like a file's float64 ones.
func TestSeal(t *testing.T) {
	v := readBack(t, parse(t, seed))
	seal := v[chartvalues.SealKey]
	v["global"] = map[string]any{"x": true}
	v[chartvalues.SealKey] = "other"
	assert.Equal(t, seal, mustSeal(t, v))
	v["redis"].(map[string]any)["databaseIndex"] = int64(0)
	v["workers"].([]any)[0].(map[string]any)["concurrency"] = int64(25)
	assert.Equal(t, seal, mustSeal(t, v), "int64 encodes as float64 does")
	v["workers"].([]any)[0].(map[string]any)["concurrency"] = int64(26)
	assert.NotEqual(t, seal, mustSeal(t, v))
}

func TestValuesRefuseInvalidLayout(t *testing.T) {
	l := parse(t, seed)
	l.Spec.Redis.Password = "hunter2"
	l.Spec.Workers[1].Replicas = nil
	l.Spec.Workers[1].Autoscale = &layout.Autoscale{}
	_, want, _ := layout.Resolve(l)
	_, err := chartvalues.YAML(l, chartvalues.Options{})
	require.Error(t, err)
	require.Len(t, want.Errors(), 2)
	for _, f := range want.Errors() {
		assert.Contains(t, err.Error(), f.String())
	}
}

// TestValuesRefuseNumbersHelmCannotHold: Helm reads numbers as float64, so an integer above
// 2^53 would render as another number.
// A number Helm cannot hold exactly never reaches the values: the layout's bounds refuse it
// first (pkg/layout bounds.go), and helmKeepsNumbers (numbers_test.go) guards whatever a future
// field lets through.
func TestValuesRefuseNumbersHelmCannotHold(t *testing.T) {
	l := parse(t, seed)
	l.Spec.Workers[0].Autoscale.ListLength = ptr.To[int64](1<<53 + 1)
	_, err := chartvalues.Values(l)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "spec.workers[0].autoscale.listLength: Invalid value: 9007199254740993: must be at most")
}

func BenchmarkYAML(b *testing.B) {
	l := parse(b, seed)
	b.ReportAllocs()
	for b.Loop() {
		out, err := chartvalues.YAML(l, chartvalues.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(out)))
	}
}
