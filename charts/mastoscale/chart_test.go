// Package chart_test checks the charts/mastoscale Helm chart against Go: for every layout, the
// values `mastoscale chart-values` writes, read as Helm reads a values file and rendered by
// Helm, must give the objects render.FromLayout makes of the layout; and the chart must render
// exactly the values chart-values wrote, refusing every other.
package chart_test

import (
	"fmt"
	"os"
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
var helmOnlyLabels = []string{"helm.sh/chart", "app.kubernetes.io/managed-by"}

// sealRefused is what the chart says of values chart-values did not write as they are.
const (
	sealMissing = "seal: missing: these values were not written by `mastoscale chart-values`"
	sealEdited  = "seal: does not match: these values were edited"
	regenerate  = "mastoscale chart-values -f layout.yaml > values.yaml"
)

func loadChart(t testing.TB) *chart.Chart {
	t.Helper()
	c, err := loader.Load(".")
	require.NoError(t, err)
	return c
}

// install is `helm install --dry-run=client x . -n namespace` through the Helm library.
func install(c *chart.Chart, vals map[string]any, namespace string) (*release.Release, error) {
	install := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
	install.DryRun = true
	install.ClientOnly = true
	install.Replace = true
	install.ReleaseName = "x"
	install.Namespace = namespace
	return install.Run(c, vals)
}

// valuesFile is the values file chart-values writes for l.
func valuesFile(t testing.TB, l *layout.SidekiqLayout) []byte {
	t.Helper()
	data, err := chartvalues.YAML(l, chartvalues.Options{})
	require.NoError(t, err)
	return data
}

// helmValues reads a values file as `helm -f` does.
func helmValues(t testing.TB, data []byte) map[string]any {
	t.Helper()
	v, err := chartutil.ReadValues(data)
	require.NoError(t, err)
	return v.AsMap()
}

// namespaceOf is the namespace the chart is installed into for layout l.
func namespaceOf(l *layout.SidekiqLayout) string {
	if l.Metadata.Namespace == "" {
		return "default"
	}
	return l.Metadata.Namespace
}

// objects parses a manifest into objects keyed by "Kind/name".
func objects(t testing.TB, manifest string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, doc := range releaseutil.SplitManifests(manifest) {
		var m map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(doc), &m), doc)
		if len(m) == 0 {
			continue
		}
		k := key(m)
		require.NotContains(t, out, k, "two objects named %s", k)
		out[k] = m
	}
	return out
}

// rendered is what the chart rendered, as render would write it: without the Helm-only
// labels, and without the namespace when the layout names none (render then leaves it out).
func rendered(t testing.TB, manifest string, l *layout.SidekiqLayout) map[string]map[string]any {
	t.Helper()
	got := objects(t, manifest)
	for _, m := range got {
		meta, _ := m["metadata"].(map[string]any)
		if labels, ok := meta["labels"].(map[string]any); ok {
			for _, k := range helmOnlyLabels {
				delete(labels, k)
			}
			if len(labels) == 0 {
				delete(meta, "labels")
			}
		}
		if l.Metadata.Namespace == "" {
			delete(meta, "namespace")
		}
	}
	return got
}

func key(m map[string]any) string {
	meta, _ := m["metadata"].(map[string]any)
	return fmt.Sprintf("%v/%v", m["kind"], meta["name"])
}

// want is what render.FromLayout makes of l, keyed like objects.
func want(t testing.TB, l *layout.SidekiqLayout) map[string]map[string]any {
	t.Helper()
	set, err := render.FromLayout(l)
	require.NoError(t, err)
	out := map[string]map[string]any{}
	for _, obj := range set.Objects() {
		m, err := render.ToMap(obj)
		require.NoError(t, err)
		k := key(m)
		require.NotContains(t, out, k, "two objects named %s", k)
		out[k] = m
	}
	return out
}

// assertSameObjects compares the chart's objects with render's, object for object.
func assertSameObjects(t testing.TB, exp, got map[string]map[string]any, msgAndArgs ...any) {
	t.Helper()
	if !assert.Equal(t, sortedKeys(exp), sortedKeys(got), msgAndArgs...) {
		return
	}
	for k, w := range exp {
		assert.Equal(t, w, got[k], append([]any{k}, msgAndArgs...)...)
	}
}

// layoutFiles are the example layouts of the repository and the chart's own test layouts.
func layoutFiles(t *testing.T) []string {
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

func caseName(file string) string {
	return filepath.Join(filepath.Base(filepath.Dir(file)), strings.TrimSuffix(filepath.Base(file), ".yaml"))
}

// TestChartMatchesRender is the equivalence of output: for every example and test layout,
// the chart rendering chart-values' file gives render.FromLayout's objects.
func TestChartMatchesRender(t *testing.T) {
	c := loadChart(t)
	for _, file := range layoutFiles(t) {
		t.Run(caseName(file), func(t *testing.T) {
			l, err := layout.Load(file)
			require.NoError(t, err)
			rel, err := install(c, helmValues(t, valuesFile(t, l)), namespaceOf(l))
			require.NoError(t, err)
			assertSameObjects(t, want(t, l), rendered(t, rel.Manifest, l))
		})
	}
}

// TestGolden keeps, for each of the chart's test layouts, the values file chart-values writes
// (testdata/values) and the chart's manifest (testdata/golden), for review.
func TestGolden(t *testing.T) {
	c := loadChart(t)
	files, err := filepath.Glob(filepath.Join("testdata", "layouts", "*.yaml"))
	require.NoError(t, err)
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			l, err := layout.Load(file)
			require.NoError(t, err)
			data := valuesFile(t, l)
			testutil.Golden(t, filepath.Join("testdata", "values", name+".yaml"), data)
			rel, err := install(c, helmValues(t, data), namespaceOf(l))
			require.NoError(t, err)
			testutil.Golden(t, filepath.Join("testdata", "golden", name+".yaml"), []byte(rel.Manifest))
		})
	}
}

// TestZeros guards Helm's zero-value trap: every zero of the zeros layout renders as 0.
func TestZeros(t *testing.T) {
	l, err := layout.Load(filepath.Join("testdata", "layouts", "zeros.yaml"))
	require.NoError(t, err)
	rel, err := install(loadChart(t), helmValues(t, valuesFile(t, l)), "mastodon")
	require.NoError(t, err)
	so := objects(t, rel.Manifest)["ScaledObject/mastodon-sidekiq-mailers"]
	require.NotNil(t, so, "ScaledObject of mailers in:\n%s", rel.Manifest)
	spec := so["spec"].(map[string]any)
	assert.Equal(t, float64(0), spec["minReplicaCount"], "minReplicas: 0")
	assert.Equal(t, float64(0), spec["cooldownPeriod"], "cooldownPeriod: 0")
	assert.Equal(t, float64(0), spec["fallback"].(map[string]any)["replicas"], "fallback.replicas: 0")
	down := spec["advanced"].(map[string]any)["horizontalPodAutoscalerConfig"].(map[string]any)["behavior"].(map[string]any)["scaleDown"].(map[string]any)
	assert.Equal(t, float64(0), down["stabilizationWindowSeconds"], "stabilizationWindowSeconds: 0")
	md := spec["triggers"].([]any)[0].(map[string]any)["metadata"].(map[string]any)
	assert.Equal(t, "0", md["databaseIndex"], "databaseIndex: 0")
	assert.Equal(t, "0", md["activationListLength"], "activationListLength: 0")
}

// TestNotes: the notes show each of Go's warnings, word for word, and tell the user how to
// watch the HPAs KEDA makes in the release namespace.
func TestNotes(t *testing.T) {
	c := loadChart(t)
	for _, file := range layoutFiles(t) {
		t.Run(caseName(file), func(t *testing.T) {
			l, err := layout.Load(file)
			require.NoError(t, err)
			rel, err := install(c, helmValues(t, valuesFile(t, l)), "mastodon")
			require.NoError(t, err)
			_, report, err := layout.Resolve(l)
			require.NoError(t, err)
			assert.Equal(t, warningLines(report), noteWarnings(rel.Info.Notes))
			set, err := render.FromLayout(l)
			require.NoError(t, err)
			if len(set.ScaledObjects) == 0 {
				assert.Contains(t, rel.Info.Notes, "No worker of the layout is autoscaled, so nothing was rendered")
				return
			}
			assert.Contains(t, rel.Info.Notes, "kubectl get hpa -n mastodon -w")
			for _, so := range set.ScaledObjects {
				assert.Contains(t, rel.Info.Notes, "\n  "+so.Name+": ")
			}
		})
	}
	l, err := layout.Load(filepath.Join("testdata", "layouts", "warnings.yaml"))
	require.NoError(t, err)
	rel, err := install(c, helmValues(t, valuesFile(t, l)), "mastodon")
	require.NoError(t, err)
	testutil.Golden(t, filepath.Join("testdata", "golden", "NOTES-warnings.txt"), []byte(rel.Info.Notes))
}

// warningLines are the report's warnings as chart-values writes them.
func warningLines(r layout.Report) []string {
	var out []string
	for _, w := range r.Warnings() {
		out = append(out, w.String())
	}
	return out
}

// noteWarnings are the warnings NOTES.txt lists.
func noteWarnings(notes string) []string {
	_, after, ok := strings.Cut(notes, "\nWarnings (from mastoscale chart-values):\n")
	if !ok {
		return nil
	}
	block, _, _ := strings.Cut(after, "\n\n")
	var out []string
	for _, line := range strings.Split(strings.TrimRight(block, "\n"), "\n") {
		out = append(out, strings.TrimPrefix(line, "  "))
	}
	return out
}

// TestLint: `helm lint` (the library) finds nothing above INFO in each test layout's values,
// and refuses the chart's own empty values, which carry no seal.
func TestLint(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "values", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			assert.Empty(t, lintProblems(helmValues(t, data)))
		})
	}
	t.Run("no values", func(t *testing.T) {
		assert.Contains(t, strings.Join(lintProblems(map[string]any{}), "\n"), sealMissing)
	})
}

func lintProblems(vals map[string]any) []string {
	var problems []string
	for _, m := range lint.All(".", vals, "default", false).Messages {
		if m.Severity > support.InfoSev {
			problems = append(problems, m.Error())
		}
	}
	return problems
}

func sortedKeys(m map[string]map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// BenchmarkHelmTemplate is `helm template` of the split preset's sealed values through the
// Helm library; bytes are manifest bytes.
func BenchmarkHelmTemplate(b *testing.B) {
	l, err := layout.Preset(layout.PresetSplit, layout.DefaultMastodonVersion)
	require.NoError(b, err)
	c := loadChart(b)
	vals := helmValues(b, valuesFile(b, l))
	rel, err := install(c, vals, "default")
	require.NoError(b, err)
	b.SetBytes(int64(len(rel.Manifest)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := install(c, vals, "default"); err != nil {
			b.Fatal(err)
		}
	}
}
