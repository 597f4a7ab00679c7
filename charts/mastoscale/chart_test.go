// Package chart_test checks the charts/mastoscale Helm chart against pkg/render: for every
// layout, `helm template` of the chart with the layout's values (from chartvalues, the code
// behind `mastoscale chart-values`) must give the same objects as `mastoscale render`.
package chart_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/chartvalues"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/render"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
	"sigs.k8s.io/yaml"
)

// helmOnlyLabels are what the chart adds for Helm's bookkeeping and render does not.
var helmOnlyLabels = []string{"helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/version"}

func loadChart(t testing.TB) *chart.Chart {
	t.Helper()
	c, err := loader.Load(".")
	require.NoError(t, err)
	return c
}

// template runs `helm template x . -n namespace` with vals through the Helm library and
// returns the manifest.
func template(t testing.TB, c *chart.Chart, vals map[string]any, namespace string) (string, error) {
	t.Helper()
	rel, err := install(c, vals, namespace)
	if err != nil {
		return "", err
	}
	return rel.Manifest, nil
}

// install is `helm install --dry-run=client x . -n namespace` through the Helm library.
func install(c *chart.Chart, vals map[string]any, namespace string) (*release.Release, error) {
	install := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
	install.DryRun = true
	install.ClientOnly = true
	install.Replace = true
	install.IncludeCRDs = true
	install.ReleaseName = "x"
	install.Namespace = namespace
	return install.Run(c, vals)
}

// objects parses a manifest into objects keyed by "Kind/name".
func objects(t testing.TB, manifest string) map[string]map[string]any {
	t.Helper()
	return objectsOf(t, manifest, false)
}

// kedaObjects are the objects of a manifest but its Deployments: render makes no Deployments
// (the chart's deployments.enabled is on its way out), so the equivalence is over the rest.
func kedaObjects(t testing.TB, manifest string) map[string]map[string]any {
	t.Helper()
	return objectsOf(t, manifest, true)
}

func objectsOf(t testing.TB, manifest string, skipDeployments bool) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, doc := range releaseutil.SplitManifests(manifest) {
		var m map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(doc), &m), doc)
		if len(m) == 0 || (skipDeployments && m["kind"] == "Deployment") {
			continue
		}
		k := key(m)
		require.NotContains(t, out, k, "two objects named %s", k)
		out[k] = m
	}
	return out
}

func key(m map[string]any) string {
	meta, _ := m["metadata"].(map[string]any)
	return fmt.Sprintf("%v/%v", m["kind"], meta["name"])
}

// withoutHelmLabels drops the Helm-only labels (and the namespace, when dropNamespace) from
// an object's metadata.
func withoutHelmLabels(m map[string]any, dropNamespace bool) map[string]any {
	meta, _ := m["metadata"].(map[string]any)
	if labels, ok := meta["labels"].(map[string]any); ok {
		for _, l := range helmOnlyLabels {
			delete(labels, l)
		}
		if len(labels) == 0 {
			delete(meta, "labels")
		}
	}
	if dropNamespace {
		delete(meta, "namespace")
	}
	return m
}

// layouts are the example layouts of the repository and the chart's own test layouts.
func layouts(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{
		filepath.Join(testutil.RepoRoot(t), "examples", "*.yaml"),
		filepath.Join("testdata", "layouts", "*.yaml"),
	} {
		m, err := filepath.Glob(pattern)
		require.NoError(t, err)
		files = append(files, m...)
	}
	require.NotEmpty(t, files)
	return files
}

// want is what render.Render makes of l, keyed like objects; without deployments only the
// KEDA objects.
func want(t testing.TB, l *layout.SidekiqLayout, deployments bool) map[string]map[string]any {
	t.Helper()
	set, err := render.FromLayout(l)
	require.NoError(t, err)
	out := map[string]map[string]any{}
	for _, obj := range set.Objects() {
		m, err := render.ToMap(obj)
		require.NoError(t, err)
		if m["kind"] == "Deployment" && !deployments {
			continue
		}
		k := key(m)
		require.NotContains(t, out, k, "two objects named %s", k)
		out[k] = m
	}
	return out
}

// TestChartMatchesRender is the equivalence: chart values from chartvalues, rendered by Helm,
// are the objects render.Render makes of the layout, in both modes.
func TestChartMatchesRender(t *testing.T) {
	c := loadChart(t)
	for _, file := range layouts(t) {
		l, err := layout.Load(file)
		require.NoError(t, err)
		for _, deployments := range []bool{true, false} {
			name := filepath.Join(filepath.Base(filepath.Dir(file)), filepath.Base(file))
			t.Run(fmt.Sprintf("%s/deployments=%v", name, deployments), func(t *testing.T) {
				vals, err := chartvalues.Values(l, chartvalues.Options{Deployments: deployments})
				require.NoError(t, err)
				ns := l.Metadata.Namespace
				if ns == "" {
					ns = "default"
				}
				manifest, err := template(t, c, vals, ns)
				require.NoError(t, err)
				got := kedaObjects(t, manifest)
				for k, m := range got {
					got[k] = withoutHelmLabels(m, l.Metadata.Namespace == "")
				}
				exp := want(t, l, deployments)
				assert.Equal(t, sortedKeys(exp), sortedKeys(got), "objects")
				for k, w := range exp {
					if g, ok := got[k]; ok {
						assert.Equal(t, w, g, k)
					}
				}
			})
		}
	}
}

// TestDefaultValuesAreSplitPreset: the chart's values.yaml is the layout `mastoscale render`
// uses without flags.
func TestDefaultValuesAreSplitPreset(t *testing.T) {
	l, err := layout.Preset(layout.PresetSplit, layout.DefaultMastodonVersion)
	require.NoError(t, err)
	manifest, err := template(t, loadChart(t), map[string]any{"deployments": map[string]any{"enabled": true}}, "default")
	require.NoError(t, err)
	got := kedaObjects(t, manifest)
	for k, m := range got {
		got[k] = withoutHelmLabels(m, true)
	}
	assert.Equal(t, want(t, l, true), got)
}

// TestGolden keeps the output of `helm template x . -f testdata/values/<case>.yaml` for
// review; with the real helm binary available it checks the binary prints the same.
func TestGolden(t *testing.T) {
	c := loadChart(t)
	files, err := filepath.Glob(filepath.Join("testdata", "values", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			vals, err := chartutil.ReadValuesFile(file)
			require.NoError(t, err)
			manifest, err := template(t, c, vals.AsMap(), "default")
			require.NoError(t, err)
			testutil.Golden(t, filepath.Join("testdata", "golden", name+".yaml"), []byte(manifest))
		})
	}
}

// TestHelmBinaries runs the real helm 3 and helm 4 that users run: `helm template` prints
// the golden objects, `helm lint --strict` passes, and a second scheduler worker fails
// `helm template` with a message naming the worker.
func TestHelmBinaries(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "values", "*.yaml"))
	require.NoError(t, err)
	for _, env := range []string{"MASTOSCALE_HELM3", "MASTOSCALE_HELM4"} {
		t.Run(env, func(t *testing.T) {
			helm := testutil.Tool(t, env)
			for _, file := range files {
				name := strings.TrimSuffix(filepath.Base(file), ".yaml")
				t.Run("template/"+name, func(t *testing.T) {
					out, err := exec.Command(helm, "template", "x", ".", "-f", file).CombinedOutput()
					require.NoError(t, err, "%s", out)
					golden, err := os.ReadFile(filepath.Join("testdata", "golden", name+".yaml"))
					require.NoError(t, err)
					assert.Equal(t, objects(t, string(golden)), objects(t, string(out)))
				})
				t.Run("lint/"+name, func(t *testing.T) {
					out, err := exec.Command(helm, "lint", "--strict", ".", "-f", file).CombinedOutput()
					assert.NoError(t, err, "%s", out)
				})
			}
			t.Run("second scheduler worker", func(t *testing.T) {
				values := filepath.Join(t.TempDir(), "values.yaml")
				require.NoError(t, os.WriteFile(values, []byte(`workers:
  - {name: scheduler, replicas: 1, queues: [{name: scheduler}]}
  - {name: cron, queues: [{name: scheduler}, {name: pull}]}
`), 0o644))
				out, err := exec.Command(helm, "template", "x", ".", "-f", values).CombinedOutput()
				require.Error(t, err)
				assert.Contains(t, string(out), `workers[1].queues[0].name: Invalid value: "scheduler": worker "cron" consumes "scheduler", which worker "scheduler" already consumes`)
			})
		})
	}
}

// TestNotes: the notes tell the user how to watch the HPAs KEDA makes, in the release
// namespace, and show layout.Validate's warnings, which do not stop an install.
func TestNotes(t *testing.T) {
	c := loadChart(t)
	cases := map[string]map[string]any{
		"attach":      {},
		"deployments": {"deployments": map[string]any{"enabled": true}},
		"warnings": {"mastodonVersion": "4.7", "workers": []any{
			map[string]any{"name": "big", "concurrency": 40, "queues": []any{map[string]any{"name": "default"}, map[string]any{"name": "push"}},
				"autoscale": map[string]any{"fallback": map[string]any{"replicas": 9}}},
			map[string]any{"name": "push", "queues": []any{map[string]any{"name": "push"}}, "autoscale": map[string]any{}},
		}},
	}
	for name, vals := range cases {
		t.Run(name, func(t *testing.T) {
			rel, err := install(c, vals, "mastodon")
			require.NoError(t, err)
			testutil.Golden(t, filepath.Join("testdata", "golden", "NOTES-"+name+".txt"), []byte(rel.Info.Notes))
			assert.Contains(t, rel.Info.Notes, "kubectl get hpa -n mastodon -w")
			assert.Contains(t, rel.Info.Notes, "kubectl get scaledobject -n mastodon")
		})
	}
}

// TestMinReplicasZero guards Helm's zero-value trap: minReplicas 0 must not become 1.
func TestMinReplicasZero(t *testing.T) {
	vals := map[string]any{"workers": []any{
		map[string]any{"name": "mailers", "queues": []any{map[string]any{"name": "mailers"}}, "autoscale": map[string]any{"minReplicas": 0}},
		map[string]any{"name": "idle", "queues": []any{map[string]any{"name": "pull"}}, "replicas": 0},
	}, "deployments": map[string]any{"enabled": false}}
	manifest, err := template(t, loadChart(t), vals, "default")
	require.NoError(t, err)
	got := objects(t, manifest)
	so := got["ScaledObject/mastodon-sidekiq-mailers"]
	require.NotNil(t, so, "ScaledObject of mailers in:\n%s", manifest)
	spec := so["spec"].(map[string]any)
	assert.Equal(t, float64(0), spec["minReplicaCount"])
	assert.Equal(t, float64(4), spec["maxReplicaCount"])
}

// TestRejected: what Core's validation refuses, the chart refuses too, by the schema or by a
// `fail` that names the field and the worker.
func TestRejected(t *testing.T) {
	worker := func(name string, extra map[string]any, queues ...string) map[string]any {
		qs := []any{}
		for _, q := range queues {
			qs = append(qs, map[string]any{"name": q})
		}
		w := map[string]any{"name": name, "queues": qs}
		for k, v := range extra {
			w[k] = v
		}
		return w
	}
	cases := []struct {
		name string
		vals map[string]any
		want []string
	}{
		{"second scheduler worker", map[string]any{"workers": []any{
			worker("scheduler", nil, "scheduler"),
			worker("cron", nil, "scheduler", "pull"),
		}}, []string{`workers[1].queues[0].name`, `worker "cron" consumes "scheduler", which worker "scheduler" already consumes`}},
		{"autoscaled scheduler", map[string]any{"workers": []any{
			worker("all", map[string]any{"autoscale": map[string]any{}}, "default", "scheduler"),
		}}, []string{`workers[0].autoscale`, `worker "all" consumes "scheduler", which must run in exactly one process`}},
		{"scheduler with two replicas", map[string]any{"workers": []any{
			worker("scheduler", map[string]any{"replicas": 2}, "scheduler"),
		}}, []string{`workers[0].replicas: Invalid value: 2: worker "scheduler" consumes "scheduler"`}},
		{"every problem at once", map[string]any{"workers": []any{
			worker("a", map[string]any{"replicas": 1, "autoscale": map[string]any{"minReplicas": 5, "maxReplicas": 2}, "timeout": 30, "terminationGracePeriodSeconds": 30}, "default", "default"),
		}}, []string{"invalid values (4)", "workers[0].replicas", "workers[0].terminationGracePeriodSeconds", "workers[0].autoscale.maxReplicas: Invalid value: 2: must be at least minReplicas (5)", "workers[0].queues[1].name: Duplicate value"}},
		{"queue of a later release", map[string]any{"mastodonVersion": "4.3", "workers": []any{worker("x", nil, "fasp")}},
			[]string{`workers[0].queues[0].name: Unsupported value: "fasp"`}},
		{"REDIS_NAMESPACE on 4.4", map[string]any{"mastodonVersion": "4.4", "redis": map[string]any{"namespace": "masto"}},
			[]string{"redis.namespace", "removed in Mastodon 4.4"}},
		{"no redis for mastodon/helm-charts", map[string]any{"release": map[string]any{"chart": "mastodon/helm-charts"}},
			[]string{"redis.host: Required value"}},
		{"queue nobody consumes, with deployments", map[string]any{"deployments": map[string]any{"enabled": true},
			"workers": []any{worker("scheduler", nil, "scheduler")}}, []string{`queue "default" is consumed by no worker`}},
		{"over the connection budget", map[string]any{"deployments": map[string]any{"enabled": true},
			"database": map[string]any{"maxConnections": 100, "reserved": 30}}, []string{"database.maxConnections: Invalid value: 100: at max replicas Sidekiq uses 405 connections"}},
		{"Mastodon's exporter before 4.4", map[string]any{"mastodonVersion": "4.3", "workers": []any{
			worker("x", map[string]any{"autoscale": map[string]any{"latencyTrigger": map[string]any{"serverAddress": "http://p:9090", "targetSeconds": 30}}}, "default"),
		}}, []string{`workers[0].autoscale.latencyTrigger.exporter: Invalid value: "mastodon": Mastodon's built-in Prometheus exporter exists from 4.4 on`}},
		{"unknown behavior preset", map[string]any{"workers": []any{
			worker("x", map[string]any{"autoscale": map[string]any{"behaviorPreset": "fast"}}, "default"),
		}}, []string{"behaviorPreset"}},
		{"latency trigger without its target", map[string]any{"workers": []any{
			worker("x", map[string]any{"autoscale": map[string]any{"latencyTrigger": map[string]any{"serverAddress": "http://p:9090"}}}, "default"),
		}}, []string{"targetSeconds"}},
		// The schema: types, ranges, patterns, enums and no password anywhere.
		{"literal password", map[string]any{"redis": map[string]any{"password": "hunter2"}}, []string{"password"}},
		{"sentinel password", map[string]any{"redis": map[string]any{"sentinel": map[string]any{"master": "m", "addresses": []any{"s:26379"}, "password": "x"}}}, []string{"password"}},
		{"concurrency 51", map[string]any{"workers": []any{worker("a", map[string]any{"concurrency": 51}, "default")}}, []string{"concurrency"}},
		{"concurrency 0", map[string]any{"workers": []any{worker("a", map[string]any{"concurrency": 0}, "default")}}, []string{"concurrency"}},
		{"worker name not a DNS label", map[string]any{"workers": []any{worker("Push_Pull", nil, "push")}}, []string{"name"}},
		{"unknown queue", map[string]any{"workers": []any{worker("a", nil, "mailer")}}, []string{"mailer"}},
		{"unknown chart", map[string]any{"release": map[string]any{"chart": "bitnami/mastodon"}}, []string{"chart"}},
		{"address with credentials", map[string]any{"redis": map[string]any{"address": "user:pw@redis:6379"}}, []string{"address"}},
		{"negative minReplicas", map[string]any{"workers": []any{worker("a", map[string]any{"autoscale": map[string]any{"minReplicas": -1}}, "default")}}, []string{"minReplicas"}},
		{"unknown field", map[string]any{"workers": []any{worker("a", map[string]any{"queue": "default"}, "default")}}, []string{"queue"}},
		{"no workers", map[string]any{"workers": []any{}}, []string{"workers"}},
		{"bad policy type", map[string]any{"workers": []any{worker("a", map[string]any{"autoscale": map[string]any{"behavior": map[string]any{
			"scaleDown": map[string]any{"policies": []any{map[string]any{"type": "Jobs", "value": 1, "periodSeconds": 60}}}}}}, "default")}}, []string{"type"}},
	}
	c := loadChart(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := template(t, c, tc.vals, "default")
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

// TestLint: `helm lint` finds nothing above INFO, with the default values and each golden case.
func TestLint(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "values", "*.yaml"))
	require.NoError(t, err)
	for _, file := range append([]string{""}, files...) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			vals := map[string]any{}
			if file != "" {
				v, err := chartutil.ReadValuesFile(file)
				require.NoError(t, err)
				vals = v.AsMap()
			}
			res := lint.All(".", vals, "default", false)
			var problems []string
			for _, m := range res.Messages {
				if m.Severity > support.InfoSev {
					problems = append(problems, m.Error())
				}
			}
			assert.Empty(t, problems)
		})
	}
}

func sortedKeys(m map[string]map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// BenchmarkHelmTemplate is `helm template` of the default values (the split preset) with the
// Deployments, through the Helm library; bytes are manifest bytes.
func BenchmarkHelmTemplate(b *testing.B) {
	c := loadChart(b)
	vals := map[string]any{"deployments": map[string]any{"enabled": true}}
	manifest, err := template(b, c, vals, "default")
	require.NoError(b, err)
	b.SetBytes(int64(len(manifest)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := template(b, c, vals, "default"); err != nil {
			b.Fatal(err)
		}
	}
}
