package testutil

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"
)

// SplitWorkers are chart values (mastodon.sidekiq.workers, valid for both official charts) of
// a release already split into default, push-pull and scheduler workers: what attach mode
// scales.
var SplitWorkers = map[string]any{"mastodon": map[string]any{"sidekiq": map[string]any{"workers": []any{
	map[string]any{"name": "default", "concurrency": 25, "replicas": 2, "queues": []any{"default,8", "ingress,4", "mailers,2"}},
	map[string]any{"name": "push-pull", "concurrency": 15, "replicas": 1, "queues": []any{"push,6", "pull", "fasp"}},
	map[string]any{"name": "scheduler", "concurrency": 5, "replicas": 1, "queues": []any{"scheduler"}},
}}}}

// The official Mastodon charts, unmodified, as ../shared/charts holds them (see its README).
// They are AGPL test input: tests read them from there and never copy them into the repository.
const (
	// LegacyChart is mastodon/chart 6.9.3 (app v4.6.3).
	LegacyChart = "mastodon-chart-6.9.3"
	// HelmChartsChart is mastodon/helm-charts charts/mastodon 1.0.2 (app v4.6.2).
	HelmChartsChart = "mastodon-helm-charts-1.0.2"
)

// legacySubcharts are the dependencies of mastodon/chart 6.9.3. They cannot be downloaded here
// and the chart's own .gitignore drops its charts/ directory, so OfficialChart gives a temporary
// copy of the chart empty stubs of them: the bundled Redis, PostgreSQL and Elasticsearch render
// nothing, as if they were external, and every Mastodon object renders as published.
var legacySubcharts = map[string]string{"elasticsearch": "19.19.2", "postgresql": "14.2.3", "redis": "22.0.7"}

// OfficialChart returns a directory holding an official chart from ../shared/charts, ready for
// `helm template`. When it is absent (a clone outside this repository's CI) the test is
// skipped, except under CI=true.
func OfficialChart(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Join(RepoRoot(t), "..", "shared", "charts", name)
	if _, err := os.Stat(filepath.Join(dir, "Chart.yaml")); err == nil {
		if name != LegacyChart {
			return dir
		}
		return withSubchartStubs(t, dir)
	}
	msg := fmt.Sprintf("the official chart %s is not in ../shared/charts (it is test input, never copied into the repository)", name)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// ChartValues are the values every test render of an official chart needs (secrets, databases);
// tests merge their own on top.
func ChartValues(chart string) map[string]any {
	if chart == HelmChartsChart {
		return map[string]any{
			"mastodon": map[string]any{
				"localDomain": "example.social",
				"secrets": map[string]any{
					"secretKeyBase": "x", "vapidPrivateKey": "a", "vapidPublicKey": "b",
					"arePrimaryKey": "k1", "areDeterministicKey": "k2", "areKeyDerivationSalt": "k3",
				},
				"smtp": map[string]any{"username": "u", "password": "p"},
				"s3": map[string]any{
					"accessKeyId": "AK", "secretAccessKey": "SK", "bucket": "masto",
					"hostname": "s3.example", "endpoint": "https://s3.example",
				},
			},
			"postgresql": map[string]any{"hostname": "pg.example", "password": "pw"},
			"redis":      map[string]any{"hostname": "redis.example", "password": "rpw"},
		}
	}
	return map[string]any{
		"mastodon": map[string]any{
			"local_domain": "example.social",
			"secrets": map[string]any{
				"secret_key_base": "x", "otp_secret": "y",
				"vapid":                  map[string]any{"private_key": "a", "public_key": "b"},
				"activeRecordEncryption": map[string]any{"primaryKey": "k1", "deterministicKey": "k2", "keyDerivationSalt": "k3"},
			},
		},
		"postgresql": map[string]any{"auth": map[string]any{"password": "pw"}},
		"redis":      map[string]any{"auth": map[string]any{"password": "rpw"}},
	}
}

// MergeValues deep-merges overrides onto base (maps merge, everything else replaces) and
// returns base.
func MergeValues(base, overrides map[string]any) map[string]any {
	for k, v := range overrides {
		if vm, ok := v.(map[string]any); ok {
			if bm, ok := base[k].(map[string]any); ok {
				base[k] = MergeValues(bm, vm)
				continue
			}
		}
		base[k] = v
	}
	return base
}

// HelmTemplate renders an official chart with the real helm binary named by env
// (MASTOSCALE_HELM3 or MASTOSCALE_HELM4), the chart's required values plus values, and extra
// arguments (a --post-renderer, say). It returns stdout; a failing helm fails the test.
func HelmTemplate(t testing.TB, env, chart, release, namespace string, values map[string]any, extra ...string) []byte {
	t.Helper()
	out, stderr, err := RunHelmTemplate(t, env, chart, release, namespace, values, extra...)
	if err != nil {
		t.Fatalf("helm template %s: %v\n%s", chart, err, stderr)
	}
	return out
}

// RunHelmTemplate is HelmTemplate that returns helm's error and stderr instead of failing.
func RunHelmTemplate(t testing.TB, env, chart, release, namespace string, values map[string]any, extra ...string) (stdout, stderr []byte, err error) {
	t.Helper()
	return RunHelmTemplateEnv(t, nil, env, chart, release, namespace, values, extra...)
}

// RunHelmTemplateEnv is RunHelmTemplate with variables ("K=V") over the scratch Helm home's,
// e.g. HELM_PLUGINS naming a directory where a plugin is installed.
func RunHelmTemplateEnv(t testing.TB, vars []string, env, chart, release, namespace string, values map[string]any, extra ...string) (stdout, stderr []byte, err error) {
	t.Helper()
	helm := Tool(t, env)
	dir := OfficialChart(t, chart)
	data, err := yaml.Marshal(MergeValues(ChartValues(chart), values))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"template", release, dir, "-n", namespace, "-f", file}, extra...)
	cmd := exec.Command(helm, args...)
	cmd.Env = append(append(os.Environ(), HelmHome(t)...), vars...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.Bytes(), errOut.Bytes(), err
}

// HelmHome is the environment of a scratch Helm home, so tests never read or write the user's
// Helm configuration, cache or plugins.
func HelmHome(t testing.TB) []string {
	t.Helper()
	home := t.TempDir()
	return []string{
		"HELM_CONFIG_HOME=" + filepath.Join(home, "config"),
		"HELM_CACHE_HOME=" + filepath.Join(home, "cache"),
		"HELM_DATA_HOME=" + filepath.Join(home, "data"),
		"HELM_PLUGINS=" + filepath.Join(home, "plugins"),
	}
}

// withSubchartStubs copies the legacy chart into a temporary directory and adds empty stubs of
// its subcharts.
func withSubchartStubs(t testing.TB, dir string) string {
	t.Helper()
	copyDir := filepath.Join(t.TempDir(), filepath.Base(dir))
	if err := os.CopyFS(copyDir, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	for name, version := range legacySubcharts {
		stub := filepath.Join(copyDir, "charts", name)
		if err := os.MkdirAll(stub, 0o755); err != nil {
			t.Fatal(err)
		}
		chart := fmt.Sprintf("apiVersion: v2\nname: %s\nversion: %s\n", name, version)
		if err := os.WriteFile(filepath.Join(stub, "Chart.yaml"), []byte(chart), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return copyDir
}
