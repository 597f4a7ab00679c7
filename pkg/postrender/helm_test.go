package postrender_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/postrender"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	helmpostrender "helm.sh/helm/v3/pkg/postrender"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

var _ helmpostrender.PostRenderer = postrender.PostRenderer{}

// officialChart loads an official chart from ../shared/charts (testutil.OfficialChart: skipped
// when absent, a failure under CI) for Helm as a library.
func officialChart(t testing.TB, name string) *chart.Chart {
	t.Helper()
	chrt, err := loader.Load(testutil.OfficialChart(t, name))
	require.NoError(t, err)
	return chrt
}

// TestHelmLibrary installs both official charts with Helm 3 as a library (dry run, client
// only), post-rendered in process; rel.Manifest is what Helm would apply. The goldens keep only
// the documents the post-renderer adds (`# Source: <chart>/mastoscale/...`), never the chart's.
func TestHelmLibrary(t *testing.T) {
	for _, chartName := range []string{testutil.LegacyChart, testutil.HelmChartsChart} {
		chrt := officialChart(t, chartName)
		for _, tc := range []struct {
			name, release string
			values        map[string]any
			opts          postrender.Options
		}{
			{"preset-split", "mastodon", nil, postrender.Options{Preset: layout.PresetSplit}},
			{"attach", "social", map[string]any{
				"mastodon": map[string]any{"sidekiq": map[string]any{"workers": []any{
					map[string]any{"name": "default", "concurrency": 25, "replicas": 3, "queues": []any{"default,8", "ingress,4", "mailers,2"}},
					map[string]any{"name": "push-pull", "concurrency": 15, "replicas": 2, "queues": []any{"push", "pull", "fasp"}},
					map[string]any{"name": "scheduler", "concurrency": 5, "replicas": 1, "queues": []any{"scheduler"}},
				}}},
			}, postrender.Options{}},
		} {
			t.Run(chartName+"/"+tc.name, func(t *testing.T) {
				install := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
				install.DryRun, install.ClientOnly, install.Replace = true, true, true
				install.ReleaseName, install.Namespace = tc.release, "fedi"
				install.PostRenderer = postrender.PostRenderer{Options: tc.opts}
				rel, err := install.Run(chrt, testutil.MergeValues(testutil.ChartValues(chartName), tc.values))
				require.NoError(t, err)
				testutil.Golden(t, filepath.Join("testdata", "helm", chartName+"-"+tc.name+".yaml"), addedDocuments(rel.Manifest))
				assertAutoscaled(t, rel.Manifest)
			})
		}
	}
}

// addedDocuments are the documents of a post-rendered manifest that the post-renderer added.
func addedDocuments(manifest string) []byte {
	var out []string
	for _, doc := range strings.Split(manifest, "\n---\n") {
		doc = strings.TrimPrefix(doc, "---\n")
		if strings.HasPrefix(doc, "# Source: mastodon/mastoscale/") {
			out = append(out, strings.TrimSuffix(doc, "\n"))
		}
	}
	return []byte(strings.Join(out, "\n---\n") + "\n")
}

// assertAutoscaled checks a post-rendered release: every ScaledObject targets a Deployment of
// the release that has no replicas, and the scheduler's Deployment keeps one.
func assertAutoscaled(t *testing.T, manifest string) {
	t.Helper()
	nodes, err := kio.FromBytes([]byte(manifest))
	require.NoError(t, err)
	deployments := map[string]*yaml.RNode{}
	var targets []string
	for _, n := range nodes {
		switch n.GetKind() {
		case "Deployment":
			deployments[n.GetName()] = n
		case "ScaledObject":
			target, err := n.Pipe(yaml.Lookup("spec", "scaleTargetRef", "name"))
			require.NoError(t, err)
			targets = append(targets, yaml.GetValue(target))
		}
	}
	require.NotEmpty(t, targets, "no ScaledObject in:\n%s", manifest)
	for _, name := range targets {
		d := deployments[name]
		require.NotNil(t, d, "ScaledObject targets %s, which the release lacks", name)
		assert.Nil(t, d.Field("spec").Value.Field("replicas"), "%s is autoscaled but renders replicas", name)
	}
	for name, d := range deployments {
		if strings.HasSuffix(name, "-sidekiq-scheduler") {
			replicas, _ := d.Pipe(yaml.Lookup("spec", "replicas"))
			assert.Equal(t, "1", yaml.GetValue(replicas))
		}
	}
}

// buildMastoscale builds the command into a temporary directory.
func buildMastoscale(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "mastoscale")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/mastoscale")
	cmd.Dir = testutil.RepoRoot(t)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

func brokenLayout(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "layout.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
spec:
  workers:
    - name: everything
      queues: [{name: default}, {name: push}, {name: pull}, {name: ingress}, {name: mailers}, {name: scheduler}, {name: fasp}]
      autoscale: {}
`), 0o644))
	return path
}

const brokenMessage = `spec.workers[0].autoscale: worker "everything" consumes "scheduler", which must run in exactly one process`

func run(t *testing.T, env []string, name string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// TestHelm3Binary runs the real helm v3 on the official mastodon/helm-charts chart with
// mastoscale as an executable post-renderer.
func TestHelm3Binary(t *testing.T) {
	bin := buildMastoscale(t, t.TempDir())
	helm := func(args ...string) (string, string, error) {
		args = append([]string{"--post-renderer", bin, "--post-renderer-args", "post-render"}, args...)
		out, stderr, err := testutil.RunHelmTemplate(t, "MASTOSCALE_HELM3", testutil.HelmChartsChart, "social", "fedi", nil, args...)
		return string(out), string(stderr), err
	}
	split := []string{"--post-renderer-args", "--preset", "--post-renderer-args", "split"}

	out, stderr, err := helm(split...)
	require.NoError(t, err, stderr)
	assertAutoscaled(t, out)
	assert.Contains(t, out, "# Source: mastodon/mastoscale/scaledobject-social-mastodon-sidekiq-default.yaml")
	assert.Contains(t, out, "host: redis.example")

	// The added documents carry a `# Source:` that --show-only selects.
	out, stderr, err = helm(append(split, "--show-only", "mastoscale/scaledobject-social-mastodon-sidekiq-ingress.yaml")...)
	require.NoError(t, err, stderr)
	assert.Equal(t, 1, strings.Count(out, "kind: ScaledObject"), out)
	assert.Contains(t, out, "name: social-mastodon-sidekiq-ingress")

	// A broken layout fails helm with our message.
	_, stderr, err = helm("--post-renderer-args", "-f", "--post-renderer-args", brokenLayout(t))
	require.Error(t, err)
	assert.Contains(t, stderr, brokenMessage)
}

// TestHelm4Plugin installs the plugin directory into a fresh Helm 4 home and runs the real
// helm v4 with `--post-renderer mastoscale`.
func TestHelm4Plugin(t *testing.T) {
	helm := testutil.Tool(t, "MASTOSCALE_HELM4")
	src := t.TempDir()
	plugin, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "cmd", "mastoscale", "helm-plugin", "plugin.yaml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(src, "plugin.yaml"), plugin, 0o644))
	buildMastoscale(t, filepath.Join(src, "bin"))

	home, state := t.TempDir(), t.TempDir()
	env := []string{"HELM_CACHE_HOME=" + home, "HELM_CONFIG_HOME=" + home, "HELM_DATA_HOME=" + home,
		"HELM_PLUGINS=" + filepath.Join(home, "plugins"), "XDG_STATE_HOME=" + state}
	_, stderr, err := run(t, env, helm, "plugin", "install", src)
	require.NoError(t, err, stderr)

	template := func(args ...string) (string, string, error) {
		out, stderr, err := testutil.RunHelmTemplateEnv(t, env, "MASTOSCALE_HELM4", testutil.HelmChartsChart, "social", "fedi", nil,
			append([]string{"--post-renderer", "mastoscale"}, args...)...)
		return string(out), string(stderr), err
	}
	out, stderr, err := template("--post-renderer-args", "--preset", "--post-renderer-args", "split")
	require.NoError(t, err, stderr)
	assertAutoscaled(t, out)
	assert.Contains(t, out, "# Source: mastodon/mastoscale/scaledobject-social-mastodon-sidekiq-default.yaml")
	assert.NotContains(t, out, "postrenderer.helm.sh", "Helm removes its filename annotation")
	assert.Contains(t, out, "name: social-mastodon-db-pre-migrate", "the hook passes through")
	assert.Contains(t, out, `"helm.sh/hook": pre-upgrade`)

	// Helm 4 does not show a plugin's stderr: the message is in the documented log file.
	_, stderr, err = template("--post-renderer-args", "-f", "--post-renderer-args", brokenLayout(t))
	require.Error(t, err)
	assert.Contains(t, stderr, `plugin "mastoscale" exited with error`)
	log, err := os.ReadFile(filepath.Join(state, "mastoscale", "post-render.log"))
	require.NoError(t, err)
	assert.Contains(t, string(log), brokenMessage)
}
