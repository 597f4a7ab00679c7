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
			{"attach", testutil.SplitWorkers, "{}"},
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
