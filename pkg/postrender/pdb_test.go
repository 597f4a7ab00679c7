package postrender_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/postrender"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// TestPostRenderPodDisruptionBudgets post-renders both official charts (the real helm 3) in
// split and attach mode: every Sidekiq Deployment of the output, the scheduler's single pod
// included, has one PodDisruptionBudget with maxUnavailable 1 that selects exactly its pods,
// and a second run changes nothing.
func TestPostRenderPodDisruptionBudgets(t *testing.T) {
	for _, chart := range []string{testutil.LegacyChart, testutil.HelmChartsChart} {
		for _, mode := range []struct {
			name   string
			values map[string]any
			opts   postrender.Options
		}{
			{"split", nil, postrender.Options{Preset: "split"}},
			{"attach", testutil.SplitWorkers, postrender.Options{}},
		} {
			t.Run(chart+"/"+mode.name, func(t *testing.T) {
				input := testutil.HelmTemplate(t, "MASTOSCALE_HELM3", chart, "social", "fedi", mode.values)
				out := postRender(t, input, mode.opts)
				deployments, budgets := sidekiqObjects(t, out)
				require.NotEmpty(t, deployments)
				assert.Len(t, budgets, len(deployments), "one budget per worker")
				for name, d := range deployments {
					pdb, ok := budgets[name]
					if !assert.True(t, ok, "no PodDisruptionBudget %s", name) {
						continue
					}
					assert.Equal(t, int32(1), pdb.Spec.MaxUnavailable.IntVal, name)
					assert.Equal(t, d.Spec.Selector.MatchLabels, pdb.Spec.Selector.MatchLabels, name)
					sel, err := metav1.LabelSelectorAsMap(pdb.Spec.Selector)
					require.NoError(t, err)
					for k, v := range sel {
						assert.Equal(t, v, d.Spec.Template.Labels[k], "%s selects its pods", name)
					}
				}
				assert.Contains(t, budgets, "social-mastodon-sidekiq-scheduler", "maxUnavailable 1 never blocks the drain of the single scheduler pod")
				assert.Equal(t, string(out), string(postRender(t, out, mode.opts)), "a second run changes nothing")
			})
		}
	}
}

// An input that already has a budget for a worker's pods keeps it, byte for byte, and gets
// none of ours for that worker (a pod under two budgets cannot be evicted); a worker whose
// layout disables it gets none either.
func TestPostRenderKeepsTheirPodDisruptionBudget(t *testing.T) {
	const theirs = `# Source: ours/pdb.yaml
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: sidekiq-default-budget
  namespace: fedi
spec:
  minAvailable: 1
  selector:
    matchExpressions:
      - {key: app.kubernetes.io/component, operator: In, values: [sidekiq-default]}
`
	input := testutil.HelmTemplate(t, "MASTOSCALE_HELM3", testutil.LegacyChart, "social", "fedi", nil)
	input = append(append(input, "---\n"...), theirs...)
	p, err := layout.Preset(layout.PresetSplit, layout.DefaultMastodonVersion)
	require.NoError(t, err)
	p.Spec.Preset = ""
	for i := range p.Spec.Workers {
		if p.Spec.Workers[i].Name == "mailers" {
			p.Spec.Workers[i].Disruption = &layout.Disruption{Disabled: true}
		}
	}
	var out bytes.Buffer
	res, err := postrender.Run(bytes.NewReader(input), &out, postrender.Options{Layout: p})
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(out.String(), theirs), "their budget passes byte for byte")
	deployments, budgets := sidekiqObjects(t, out.Bytes())
	assert.Len(t, budgets, len(deployments)-2)
	assert.NotContains(t, budgets, "social-mastodon-sidekiq-default")
	assert.NotContains(t, budgets, "social-mastodon-sidekiq-mailers")
	var said []string
	for _, f := range res.Findings {
		if f.Severity == layout.Info && f.Location.Name == "sidekiq-default-budget" {
			said = append(said, f.String())
		}
	}
	assert.Len(t, said, 1, "the finding names their budget")
}

func postRender(t *testing.T, input []byte, opts postrender.Options) []byte {
	t.Helper()
	var out bytes.Buffer
	_, err := postrender.Run(bytes.NewReader(input), &out, opts)
	require.NoError(t, err)
	return out.Bytes()
}

// sidekiqObjects are the Sidekiq Deployments of a stream and the PodDisruptionBudgets
// mastoscale names after them, by name.
func sidekiqObjects(t *testing.T, stream []byte) (map[string]*appsv1.Deployment, map[string]*policyv1.PodDisruptionBudget) {
	t.Helper()
	deployments, budgets := map[string]*appsv1.Deployment{}, map[string]*policyv1.PodDisruptionBudget{}
	for _, doc := range strings.Split(string(stream), "\n---\n") {
		var meta struct{ Kind string }
		require.NoError(t, yaml.Unmarshal([]byte(doc), &meta))
		switch meta.Kind {
		case "Deployment":
			var d appsv1.Deployment
			require.NoError(t, yaml.Unmarshal([]byte(doc), &d))
			if strings.HasPrefix(d.Labels[layout.LabelComponent], layout.ComponentPrefix) {
				deployments[d.Name] = &d
			}
		case "PodDisruptionBudget":
			var p policyv1.PodDisruptionBudget
			require.NoError(t, yaml.Unmarshal([]byte(doc), &p))
			if strings.HasPrefix(p.Name, "social-mastodon-sidekiq-") {
				budgets[p.Name] = &p
			}
		}
	}
	return deployments, budgets
}
