package krm_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/mastoscale/mastoscale/internal/krm"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// officialWorkers are the official charts' mastodon.sidekiq.workers for a split release, so
// attach mode has workers to scale.
var officialWorkers = map[string]any{"mastodon": map[string]any{"sidekiq": map[string]any{"workers": []any{
	map[string]any{"name": "default", "concurrency": 25, "replicas": 2, "queues": []any{"default,8", "ingress,4", "mailers,2"}},
	map[string]any{"name": "push-pull", "concurrency": 15, "replicas": 1, "queues": []any{"push,6", "pull", "fasp"}},
	map[string]any{"name": "scheduler", "concurrency": 5, "replicas": 1, "queues": []any{"scheduler"}},
}}}}

// TestOfficialChartItemsKept runs the function on ResourceLists built from real renders of
// both official charts (the real helm binary on ../shared/charts), splitting with a preset and
// attaching to the chart's own workers, and checks that every item it does not own comes back
// byte for byte, comments included.
func TestOfficialChartItemsKept(t *testing.T) {
	for _, chart := range []struct {
		dir  string
		name layout.Chart
	}{{testutil.LegacyChart, layout.ChartLegacy}, {testutil.HelmChartsChart, layout.ChartHelmCharts}} {
		for _, mode := range []struct {
			name   string
			values map[string]any
			spec   string
		}{
			{"split", nil, "preset: split"},
			{"attach", officialWorkers, "{}"},
		} {
			t.Run(chart.dir+"/"+mode.name, func(t *testing.T) {
				dir := t.TempDir()
				manifests := filepath.Join(dir, "release.yaml")
				render := testutil.HelmTemplate(t, "MASTOSCALE_HELM3", chart.dir, "social", "fedi", mode.values)
				require.NoError(t, os.WriteFile(manifests, render, 0o644))
				config := filepath.Join(dir, "layout.yaml")
				doc := fmt.Sprintf("apiVersion: %s\nkind: %s\nmetadata:\n  name: social\nspec:\n  release: {name: social, chart: %s}\n  %s\n",
					layout.APIVersion, layout.Kind, chart.name, mode.spec)
				if mode.spec == "{}" {
					doc = fmt.Sprintf("apiVersion: %s\nkind: %s\nmetadata:\n  name: social\nspec:\n  release: {name: social, chart: %s}\n",
						layout.APIVersion, layout.Kind, chart.name)
				}
				require.NoError(t, os.WriteFile(config, []byte(doc), 0o644))
				rl := resourceList(t, config, manifests)
				out, results, err := krm.Run(rl)
				require.NoError(t, err)
				require.Zero(t, results.ExitCode(), results.Error())
				assert.Contains(t, string(out), "kind: ScaledObject")
				foreign := 0
				for _, item := range itemTexts(t, rl) {
					if !item.owned {
						foreign++
					}
				}
				require.Greater(t, foreign, 5, "the release has foreign items")
				assertForeignItemsKept(t, rl, out)
			})
		}
	}
}
