// Package argocd_test builds the Argo CD example as Argo CD's repo-server does: the real
// kustomize with --enable-helm --enable-alpha-plugins --enable-exec, the real helm 3, and a
// freshly built mastoscale on PATH as the exec KRM function.
package argocd_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/cli/clitest"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// buildOptions are argocd-cm's kustomize.buildOptions (argocd-cm.yaml holds them).
var buildOptions = []string{"--enable-helm", "--enable-alpha-plugins", "--enable-exec"}

// TestArgoCD builds the example on both official charts. The output must be what
// `mastoscale post-render --preset split` makes of the same build without the transformer:
// the chart's documents other than its Sidekiq Deployment as the chart wrote them, the split
// workers cloned from that Deployment, and a ScaledObject for each autoscaled worker. The KEDA
// objects and PDBs are the golden rendered/<chart>.yaml; the chart's own output is AGPL test
// input and never committed. The attach variant gives the chart the split workers in its own
// values (examples/gitops' mastodon-values.yaml) and the function `spec: {}`: it must be what
// plain `post-render` makes of that build, with the same KEDA objects as the split.
func TestArgoCD(t *testing.T) {
	kustomize := testutil.Tool(t, "MASTOSCALE_KUSTOMIZE")
	helm := testutil.Tool(t, "MASTOSCALE_HELM3")
	bin := buildMastoscale(t)
	opts := argocdBuildOptions(t)
	require.Equal(t, buildOptions, opts, "argocd-cm.yaml's build options")
	for _, tc := range []struct{ chart, values string }{
		{testutil.HelmChartsChart, "values-helm-charts.yaml"},
		{testutil.LegacyChart, "values-chart.yaml"},
	} {
		for _, attach := range []bool{false, true} {
			name, golden, postRenderArgs := tc.chart, tc.chart+".yaml", []string{"--preset", "split"}
			if attach {
				// The same golden: attaching to the chart's split gives the function's objects.
				name, postRenderArgs = tc.chart+"/attach", nil
			}
			t.Run(name, func(t *testing.T) {
				dir := example(t, tc.chart, tc.values, attach)
				env := append(testutil.HelmHome(t), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
				args := append(append([]string{"build"}, opts...), "--helm-command", helm, dir)
				got := testutil.Exec(t, env, kustomize, args...)
				withoutTransformer(t, dir)
				plain := testutil.Exec(t, env, kustomize, args...)
				testutil.AssertSameObjects(t, clitest.PostRender(t, plain, postRenderArgs...), got)

				gotDocs, plainDocs := testutil.Documents(t, got), testutil.Documents(t, plain)
				testutil.AssertSameObjects(t, testutil.Join(notSidekiq(plainDocs)), testutil.Join(notSidekiq(gotDocs)))
				require.ElementsMatch(t, []string{"default", "ingress", "mailers", "push-pull"}, scaledWorkers(t, gotDocs))
				testutil.Golden(t, filepath.Join("rendered", golden), testutil.Join(testutil.Generated(gotDocs)))
			})
		}
	}
}

// withoutTransformer drops the function from the example's kustomization.
func withoutTransformer(t *testing.T, dir string) {
	const transformers = "transformers:\n  - sidekiq-layout.yaml\n"
	kust := filepath.Join(dir, "kustomization.yaml")
	data, err := os.ReadFile(kust)
	require.NoError(t, err)
	require.Contains(t, string(data), transformers)
	require.NoError(t, os.WriteFile(kust, bytes.Replace(data, []byte(transformers), nil, 1), 0o644))
}

// example copies this directory into a scratch one with the official chart as charts/mastodon
// and the chart's values file. With attach, the chart also gets examples/gitops' workers for
// it and the function `spec: {}`.
func example(t *testing.T, chart, values string, attach bool) string {
	dir := t.TempDir()
	for _, f := range []string{"kustomization.yaml", "sidekiq-layout.yaml", values} {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		switch {
		case f == "kustomization.yaml" && attach:
			data = bytes.Replace(data, []byte("valuesFile: values-helm-charts.yaml"), []byte("valuesFile: "+values+"\n    additionalValuesFiles: [mastodon-values.yaml]"), 1)
		case f == "kustomization.yaml":
			data = bytes.Replace(data, []byte("valuesFile: values-helm-charts.yaml"), []byte("valuesFile: "+values), 1)
		case f == "sidekiq-layout.yaml" && attach:
			require.Contains(t, string(data), "spec:\n  preset: split\n")
			data = bytes.Replace(data, []byte("spec:\n  preset: split\n"), []byte("spec: {}\n"), 1)
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), data, 0o644))
	}
	if attach {
		workers, err := os.ReadFile(filepath.Join("..", "gitops", "out", chart, "mastodon-values.yaml"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "mastodon-values.yaml"), workers, 0o644))
	}
	require.NoError(t, os.CopyFS(filepath.Join(dir, "charts", "mastodon"), os.DirFS(testutil.OfficialChart(t, chart))))
	return dir
}

// argocdBuildOptions are the build options argocd-cm.yaml gives kustomize.
func argocdBuildOptions(t *testing.T) []string {
	data, err := os.ReadFile("argocd-cm.yaml")
	require.NoError(t, err)
	var cm struct {
		Data map[string]string `json:"data"`
	}
	require.NoError(t, yaml.Unmarshal(data, &cm))
	return strings.Fields(cm.Data["kustomize.buildOptions"])
}

// notSidekiq are the documents other than Sidekiq Deployments and what mastoscale generates.
func notSidekiq(docs []testutil.Document) []testutil.Document {
	generated := testutil.Generated(docs)
	var out []testutil.Document
	for _, d := range docs {
		if d.Kind == "Deployment" && strings.Contains(d.Name, "-sidekiq-") || slices.Contains(generated, d) {
			continue
		}
		out = append(out, d)
	}
	return out
}

// scaledWorkers are the workers whose Deployment a ScaledObject scales; each Deployment must be
// in the stream.
func scaledWorkers(t *testing.T, docs []testutil.Document) []string {
	deployments := map[string]bool{}
	for _, d := range docs {
		if d.Kind == "Deployment" {
			deployments[d.Name] = true
		}
	}
	var workers []string
	for _, d := range docs {
		if d.Kind != "ScaledObject" {
			continue
		}
		var so struct {
			Spec struct {
				ScaleTargetRef struct{ Kind, Name string } `json:"scaleTargetRef"`
			} `json:"spec"`
		}
		require.NoError(t, yaml.Unmarshal([]byte(d.Text), &so))
		target := so.Spec.ScaleTargetRef.Name
		require.True(t, deployments[target], "ScaledObject %s scales %s, which is not in the build", d.Name, target)
		_, worker, _ := strings.Cut(target, "-sidekiq-")
		workers = append(workers, worker)
	}
	return workers
}

// buildMastoscale builds the binary into a directory of its own, which goes on PATH.
func buildMastoscale(t *testing.T) string {
	dir := t.TempDir()
	out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "mastoscale"), "github.com/mastoscale/mastoscale/cmd/mastoscale").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return dir
}
