package postrender_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// helmDoor is one way Helm runs mastoscale: the Helm 3 binary as an executable post-renderer,
// or the Helm 4 plugin. args are helm's flags for it; env the environment it needs.
type helmDoor struct {
	name, helmEnv string
	args          []string
	env           []string
}

// helmDoors builds mastoscale once and installs it as both Helm 3 and Helm 4 run it.
func helmDoors(t *testing.T) []helmDoor {
	t.Helper()
	helm4 := testutil.Tool(t, "MASTOSCALE_HELM4")
	testutil.Tool(t, "MASTOSCALE_HELM3")
	src := t.TempDir()
	plugin, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "cmd", "mastoscale", "helm-plugin", "plugin.yaml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(src, "plugin.yaml"), plugin, 0o644))
	bin := buildMastoscale(t, filepath.Join(src, "bin"))
	// Helm 4 installs into $HELM_DATA_HOME/plugins and loads from $HELM_PLUGINS: the same here.
	home := t.TempDir()
	env := []string{"HELM_PLUGINS=" + filepath.Join(home, "plugins"), "HELM_CACHE_HOME=" + home, "HELM_CONFIG_HOME=" + home, "HELM_DATA_HOME=" + home}
	_, stderr, err := run(t, env, helm4, "plugin", "install", src)
	require.NoError(t, err, stderr)
	return []helmDoor{
		{"helm3", "MASTOSCALE_HELM3", []string{"--post-renderer", bin, "--post-renderer-args", "post-render"}, nil},
		{"helm4", "MASTOSCALE_HELM4", []string{"--post-renderer", "mastoscale"}, env},
	}
}

// TestHelmFindingsLog: through the real Helm 3 and Helm 4 on both official charts, attach on
// the charts' default values (one worker consuming every queue) fails with what to do instead
// of succeeding with no ScaledObject, and a success's warnings, which neither Helm shows, are
// in the findings log with the chart value to change.
func TestHelmFindingsLog(t *testing.T) {
	mixed := map[string]any{"mastodon": map[string]any{"sidekiq": map[string]any{"workers": []any{
		map[string]any{"name": "default", "concurrency": 25, "replicas": 2, "queues": []any{"default,8", "ingress,4", "mailers,2", "push", "pull", "fasp"}},
		map[string]any{"name": "rest", "concurrency": 5, "replicas": 1, "queues": []any{"scheduler", "mailers"}},
	}}}}
	for _, door := range helmDoors(t) {
		for _, chart := range []string{testutil.LegacyChart, testutil.HelmChartsChart} {
			t.Run(door.name+"/"+chart, func(t *testing.T) {
				log := filepath.Join(t.TempDir(), "findings.log")
				env := append([]string{"MASTOSCALE_FINDINGS_LOG=" + log}, door.env...)
				out, stderr, err := testutil.RunHelmTemplateEnv(t, env, door.helmEnv, chart, "social", "fedi", nil, door.args...)
				require.Error(t, err, "attach on the default values must fail:\n%s", out)
				assert.Empty(t, out)
				logged, rerr := os.ReadFile(log)
				require.NoError(t, rerr, "%s", stderr)
				assert.Contains(t, string(logged), `nothing to autoscale: its workers ("all-queues") all consume "scheduler"`)
				assert.Contains(t, string(logged), "--preset split")
				if door.name == "helm3" {
					assert.Contains(t, string(stderr), "--preset split", "Helm 3 shows a failing post-renderer's stderr")
				}

				out, stderr, err = testutil.RunHelmTemplateEnv(t, env, door.helmEnv, chart, "social", "fedi", mixed, door.args...)
				require.NoError(t, err, "%s", stderr)
				assert.Equal(t, 1, strings.Count(string(out), "kind: ScaledObject"))
				logged, rerr = os.ReadFile(log)
				require.NoError(t, rerr)
				assert.Contains(t, string(logged), `warning: spec.workers[1].queues: worker "rest" consumes "scheduler" and other queues`)
				assert.Contains(t, string(logged), "chart value mastodon.sidekiq.workers[1].queues)")
			})
		}
	}
}
