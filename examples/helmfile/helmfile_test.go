// Package helmfile_test renders the Helmfile examples with the real helmfile and helm binaries.
package helmfile_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/cli/clitest"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// release is one release of the examples, as helm renders it without helmfile.
type release struct {
	name, namespace, chart, values string
}

// TestHelmfile runs `helmfile template` (helmfile v1.8.0) on each example with its helm: each
// release must come out as the objects `mastoscale post-render --preset split` makes of
// `helm template` of the same chart and values. The objects mastoscale writes (the KEDA
// objects) are the golden rendered/<helm>.yaml, which the platform rig applies; the rest is the
// official charts' own output (AGPL test input, not ours to commit).
func TestHelmfile(t *testing.T) {
	helmfile := testutil.Tool(t, "MASTOSCALE_HELMFILE")
	releases := []release{
		{"social", "fedi", testutil.OfficialChart(t, testutil.HelmChartsChart), "values-helm-charts.yaml"},
		{"mastodon", "mastodon", testutil.OfficialChart(t, testutil.LegacyChart), "values-chart.yaml"},
	}
	bin := filepath.Join(t.TempDir(), "mastoscale")
	build := exec.Command("go", "build", "-o", bin, "github.com/mastoscale/mastoscale/cmd/mastoscale")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	for _, tt := range []struct{ name, helmEnv, file string }{
		{"helm3", "MASTOSCALE_HELM3", "helmfile.yaml.gotmpl"},
		{"helm4", "MASTOSCALE_HELM4", "helmfile-helm4.yaml.gotmpl"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			helm := testutil.Tool(t, tt.helmEnv)
			env := helmHome(t)
			if tt.name == "helm3" {
				env = append(env, "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
			} else {
				installPlugin(t, helm, bin, env)
			}
			env = append(env, "MASTODON_HELM_CHARTS="+releases[0].chart, "MASTODON_CHART="+releases[1].chart)
			got := testutil.Exec(t, env, helmfile, "--helm-binary", helm, "--file", tt.file, "template", "--skip-deps")

			var want []byte
			for _, r := range releases {
				plain := testutil.Exec(t, env, helm, "template", r.name, r.chart, "--namespace", r.namespace, "--values", r.values)
				want = append(want, clitest.PostRender(t, plain, "--preset", "split")...)
			}
			testutil.AssertSameObjects(t, want, got)
			testutil.Golden(t, filepath.Join("rendered", tt.name+".yaml"), kedaObjects(t, got))
		})
	}
}

// kedaObjects are the keda.sh documents of a stream, as written.
func kedaObjects(t *testing.T, stream []byte) []byte {
	t.Helper()
	var out []byte
	for _, doc := range strings.Split(string(stream), "\n---\n") {
		doc = strings.TrimPrefix(doc, "---\n")
		var m struct {
			APIVersion string `json:"apiVersion"`
		}
		require.NoError(t, yaml.Unmarshal([]byte(doc), &m))
		if strings.HasPrefix(m.APIVersion, "keda.sh/") {
			out = append(out, "---\n"+strings.TrimSuffix(doc, "\n")+"\n"...)
		}
	}
	return out
}

// helmHome is a scratch Helm home. Helm 4.3.1 installs a local plugin into
// $HELM_DATA_HOME/plugins whatever HELM_PLUGINS says, so HELM_PLUGINS is that directory.
func helmHome(t *testing.T) []string {
	home := t.TempDir()
	data := filepath.Join(home, "data")
	return []string{"HELM_CONFIG_HOME=" + filepath.Join(home, "config"), "HELM_CACHE_HOME=" + filepath.Join(home, "cache"),
		"HELM_DATA_HOME=" + data, "HELM_PLUGINS=" + filepath.Join(data, "plugins"), "XDG_STATE_HOME=" + filepath.Join(home, "state")}
}

// installPlugin installs the plugin directory (plugin.yaml and bin/mastoscale) into the home.
func installPlugin(t *testing.T, helm, bin string, env []string) {
	dir := filepath.Join(t.TempDir(), "mastoscale")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "bin"), 0o755))
	meta, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "cmd", "mastoscale", "helm-plugin", "plugin.yaml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "plugin.yaml"), meta, 0o644))
	require.NoError(t, os.Symlink(bin, filepath.Join(dir, "bin", "mastoscale")))
	testutil.Exec(t, env, helm, "plugin", "install", dir)
}
