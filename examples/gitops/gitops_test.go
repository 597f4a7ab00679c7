// Package gitops_test checks the GitOps path without exec: the official chart with the
// mastodon.sidekiq.workers `mastoscale chart-values --out-dir` writes, charts/mastoscale with
// its sealed values, and Flux's postRenderers patch, each through the real tool (helm 3,
// kustomize's library as Flux's helm-controller runs it), against what `mastoscale post-render`
// makes of the same layout.
package gitops_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/cli"
	"github.com/mastoscale/mastoscale/internal/cli/clitest"
	"github.com/mastoscale/mastoscale/internal/drift"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

type example struct{ chart, layout, release, namespace string }

var examples = []example{
	{testutil.HelmChartsChart, "layout-helm-charts.yaml", "social", "fedi"},
	{testutil.LegacyChart, "layout-chart.yaml", "mastodon", "mastodon"},
}

// TestChartValuesGitOps writes both halves with chart-values for Argo CD and for Flux (the
// goldens out/<chart>/, which the README's commands write) and renders them: the official
// chart with the workers' values, charts/mastoscale with its values, and for Flux the
// HelmRelease's patch applied with krusty, with helm 3 and helm 4. The objects must be post-render's, Deployment by
// Deployment, except for what the official chart has no value for (see differences).
func TestChartValuesGitOps(t *testing.T) {
	for _, ex := range examples {
		t.Run(ex.chart, func(t *testing.T) {
			files := map[string][]byte{}
			for _, tool := range []string{"argocd", "flux"} {
				for name, data := range chartValues(t, ex, tool) {
					files[name] = data
				}
			}
			for name, data := range files {
				testutil.Golden(t, filepath.Join("out", ex.chart, name), data)
			}
			for _, env := range []string{"MASTOSCALE_HELM3", "MASTOSCALE_HELM4"} {
				t.Run(strings.ToLower(strings.TrimPrefix(env, "MASTOSCALE_")), func(t *testing.T) {
					checkEquivalence(t, env, ex, files)
				})
			}
		})
	}
}

// checkEquivalence renders both halves with the helm env names and compares them, for Argo
// CD and for Flux, with post-render's output of the same layout.
func checkEquivalence(t *testing.T, env string, ex example, files map[string][]byte) {
	helm := testutil.Tool(t, env)
	var workers map[string]any
	require.NoError(t, yaml.Unmarshal(files["mastodon-values.yaml"], &workers))
	official := testutil.HelmTemplate(t, env, ex.chart, ex.release, ex.namespace, workers)
	autoscaling := helmMastoscale(t, helm, ex, files["mastoscale-values.yaml"])

	plain := testutil.HelmTemplate(t, env, ex.chart, ex.release, ex.namespace, nil)
	want := clitest.PostRender(t, plain, "-f", ex.layout)
	scaled := scaledDeployments(t, files["argocd-application.yaml"])
	require.Len(t, scaled, 4)

	t.Run("argocd", func(t *testing.T) {
		// Argo CD applies the chart's replicas once and then ignores them (ignoreDifferences).
		got := append(append([]byte{}, official...), autoscaling...)
		compare(t, want, got, append(differences, "spec.replicas of the scaled Deployments: ignored by Argo CD, not removed"), scaled)
	})
	t.Run("flux", func(t *testing.T) {
		got := append(fluxPostRender(t, official, files["flux-helmrelease.yaml"]), autoscaling...)
		compare(t, want, got, differences, nil)
		// Without the patch the chart's replicas stay: the comparison sees them.
		unpatched := append(append([]byte{}, official...), autoscaling...)
		report := drift.CompareObjects(normalize(t, want, nil), normalize(t, unpatched, nil))
		require.Len(t, report.Changed, len(scaled), "without the patch exactly the scaled Deployments differ")
	})
}

// differences are what the official chart has no value for, which post-render sets on the
// Deployments it clones: they are dropped from both sides before comparing.
var differences = []string{
	"spec.template.spec.terminationGracePeriodSeconds: post-render writes it (30 here, the pod's default, above Sidekiq's 25 s timeout); the charts have no value for it",
	"env DB_POOL of the Sidekiq container: post-render sets it to the worker's concurrency; the charts have no per-worker env (Mastodon 4.3+ sizes the pool from the concurrency itself)",
	"the Helm labels (helm.sh/chart, app.kubernetes.io/managed-by) charts/mastoscale puts on its own objects (KEDA objects, PodDisruptionBudgets)",
}

// chartValues runs `mastoscale chart-values -f LAYOUT --out-dir DIR --gitops TOOL` and returns
// the files it wrote, with DIR written as the README's out/<chart>.
func chartValues(t *testing.T, ex example, tool string) map[string][]byte {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	args := []string{"chart-values", "-f", ex.layout, "--out-dir", dir, "--gitops", tool}
	code := cli.Run(args, cli.Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	require.Equal(t, 0, code, errOut.String())
	require.Empty(t, errOut.String(), "the split preset needs nothing the official chart cannot express")
	files := map[string][]byte{}
	for _, path := range strings.Fields(out.String()) {
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		files[filepath.Base(path)] = bytes.ReplaceAll(data, []byte(dir), []byte(filepath.Join("out", ex.chart)))
	}
	require.Len(t, files, 3)
	return files
}

// helmMastoscale is `helm template` of charts/mastoscale with the values chart-values wrote.
func helmMastoscale(t *testing.T, helm string, ex example, values []byte) []byte {
	file := filepath.Join(t.TempDir(), "values.yaml")
	require.NoError(t, os.WriteFile(file, values, 0o644))
	chart := filepath.Join(testutil.RepoRoot(t), "charts", "mastoscale")
	return testutil.Exec(t, testutil.HelmHome(t), helm, "template", ex.release+"-autoscaling", chart, "-n", ex.namespace, "-f", file)
}

// fluxPostRender applies the HelmRelease's postRenderers kustomize patches to the chart's
// output with kustomize's library, as helm-controller does: the manifests as a resource of a
// kustomization in memory holding the patches.
func fluxPostRender(t *testing.T, manifests, helmRelease []byte) []byte {
	var hr struct {
		Spec struct {
			PostRenderers []struct {
				Kustomize struct {
					Patches []any `json:"patches"`
				} `json:"kustomize"`
			} `json:"postRenderers"`
		} `json:"spec"`
	}
	require.NoError(t, yaml.Unmarshal(helmRelease, &hr))
	require.Len(t, hr.Spec.PostRenderers, 1)
	kustomization, err := yaml.Marshal(map[string]any{
		"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
		"resources": []string{"resources.yaml"}, "patches": hr.Spec.PostRenderers[0].Kustomize.Patches,
	})
	require.NoError(t, err)
	fs := filesys.MakeFsInMemory()
	require.NoError(t, fs.WriteFile("/work/resources.yaml", manifests))
	require.NoError(t, fs.WriteFile("/work/kustomization.yaml", kustomization))
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, "/work")
	require.NoError(t, err)
	out, err := m.AsYaml()
	require.NoError(t, err)
	return out
}

// scaledDeployments are the Deployments the Argo CD Application ignores the replicas of.
func scaledDeployments(t *testing.T, application []byte) []string {
	var app struct {
		Spec struct {
			IgnoreDifferences []struct {
				Name         string   `json:"name"`
				JSONPointers []string `json:"jsonPointers"`
			} `json:"ignoreDifferences"`
			SyncPolicy struct {
				SyncOptions []string `json:"syncOptions"`
			} `json:"syncPolicy"`
		} `json:"spec"`
	}
	require.NoError(t, yaml.Unmarshal(application, &app))
	require.Equal(t, []string{"RespectIgnoreDifferences=true"}, app.Spec.SyncPolicy.SyncOptions)
	var names []string
	for _, d := range app.Spec.IgnoreDifferences {
		require.Equal(t, []string{"/spec/replicas"}, d.JSONPointers)
		names = append(names, d.Name)
	}
	return names
}

// compare checks got against want object by object after dropping the listed differences
// from both; ignoreReplicas names Deployments whose spec.replicas is dropped too.
func compare(t *testing.T, want, got []byte, listed []string, ignoreReplicas []string) {
	t.Helper()
	t.Logf("differences allowed:\n  %s", strings.Join(listed, "\n  "))
	w, g := normalize(t, want, ignoreReplicas), normalize(t, got, ignoreReplicas)
	report := drift.CompareObjects(w, g)
	require.True(t, report.Clean(), "the objects differ (lines marked - are got's, + want's):\n%s", report.Diff())
	require.Equal(t, len(w), report.Objects)
}

func normalize(t *testing.T, stream []byte, ignoreReplicas []string) []drift.Object {
	objs, err := drift.Parse(stream)
	require.NoError(t, err)
	for _, o := range objs {
		dropDifferences(o.Content, ignoreReplicas)
	}
	// Parse the objects again so their identities leave the namespace out too.
	var b bytes.Buffer
	for _, o := range objs {
		data, err := yaml.Marshal(o.Content)
		require.NoError(t, err)
		b.WriteString("---\n")
		b.Write(data)
	}
	objs, err = drift.Parse(b.Bytes())
	require.NoError(t, err)
	return objs
}

func dropDifferences(m map[string]any, ignoreReplicas []string) {
	meta, _ := m["metadata"].(map[string]any)
	// Both releases install into the layout's namespace: charts/mastoscale writes it, the
	// official chart and post-render leave it to Helm.
	delete(meta, "namespace")
	if labels, ok := meta["labels"].(map[string]any); ok && (strings.HasPrefix(m["apiVersion"].(string), "keda.sh/") || m["kind"] == "PodDisruptionBudget") {
		delete(labels, "helm.sh/chart")
		delete(labels, "app.kubernetes.io/managed-by")
		if len(labels) == 0 {
			delete(meta, "labels")
		}
	}
	if m["kind"] != "Deployment" || !strings.Contains(meta["name"].(string), "-sidekiq-") {
		return
	}
	spec := m["spec"].(map[string]any)
	for _, n := range ignoreReplicas {
		if meta["name"] == n {
			delete(spec, "replicas")
		}
	}
	pod := spec["template"].(map[string]any)["spec"].(map[string]any)
	delete(pod, "terminationGracePeriodSeconds")
	for _, c := range pod["containers"].([]any) {
		c := c.(map[string]any)
		env, _ := c["env"].([]any)
		var kept []any
		for _, e := range env {
			if e.(map[string]any)["name"] != "DB_POOL" {
				kept = append(kept, e)
			}
		}
		if len(kept) == 0 {
			delete(c, "env")
		} else {
			c["env"] = kept
		}
	}
}
