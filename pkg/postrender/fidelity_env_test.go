package postrender_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/postrender"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// officialRun renders an official chart with the real helm 3 and post-renders it in process.
func officialRun(t *testing.T, chart, release string, values map[string]any, opts postrender.Options) ([]*yaml.RNode, *postrender.Result, error) {
	t.Helper()
	in := testutil.HelmTemplate(t, "MASTOSCALE_HELM3", chart, release, "fedi", values)
	var out bytes.Buffer
	res, err := postrender.Run(bytes.NewReader(in), &out, opts)
	if err != nil {
		return nil, res, err
	}
	nodes, rerr := kio.FromBytes(out.Bytes())
	require.NoError(t, rerr)
	return nodes, res, nil
}

// objectOf returns the one object of kind in nodes whose name has the suffix, or fails.
func objectOf(t *testing.T, nodes []*yaml.RNode, kind, suffix string) *yaml.RNode {
	t.Helper()
	for _, n := range nodes {
		if n.GetKind() == kind && strings.HasSuffix(n.GetName(), suffix) {
			return n
		}
	}
	t.Fatalf("no %s *%s in the output", kind, suffix)
	return nil
}

// findingsWith returns the messages of the findings of severity s that contain every part.
func findingsWith(res *postrender.Result, s layout.Severity, parts ...string) []string {
	var out []string
next:
	for _, f := range res.Findings {
		if f.Severity != s {
			continue
		}
		text := f.String()
		for _, p := range parts {
			if !strings.Contains(text, p) {
				continue next
			}
		}
		out = append(out, text)
	}
	return out
}

// triggerMetadata returns the metadata of the first trigger of the ScaledObject.
func triggerMetadata(t *testing.T, so *yaml.RNode) map[string]string {
	t.Helper()
	ts, err := so.Pipe(yaml.Lookup("spec", "triggers"))
	require.NoError(t, err)
	require.NotNil(t, ts)
	md := map[string]string{}
	require.NoError(t, yaml.NewRNode(ts.YNode().Content[0]).PipeE(yaml.Lookup("metadata"), yaml.FilterFunc(func(n *yaml.RNode) (*yaml.RNode, error) {
		return n, n.YNode().Decode(&md)
	})))
	return md
}

var splitOpts = postrender.Options{Preset: layout.PresetSplit}

// TestOfficialEmptySidekiqRedisHost: the legacy chart with redis.sidekiq.enabled and no
// hostname renders SIDEKIQ_REDIS_HOST empty; Mastodon then uses REDIS_*, and so do we.
func TestOfficialEmptySidekiqRedisHost(t *testing.T) {
	values := map[string]any{"redis": map[string]any{"sidekiq": map[string]any{"enabled": true}}}
	nodes, res, err := officialRun(t, testutil.LegacyChart, "mastodon", values, splitOpts)
	require.NoError(t, err)
	md := triggerMetadata(t, objectOf(t, nodes, "ScaledObject", "-default"))
	require.Equal(t, "mastodon-redis-master", md["host"])
	require.Equal(t, "6379", md["port"])
	ta := objectOf(t, nodes, "TriggerAuthentication", "")
	require.Contains(t, ta.MustString(), "name: mastodon-redis\n")
	require.Contains(t, ta.MustString(), "key: redis-password")
	require.Empty(t, findingsWith(res, layout.Info, "SIDEKIQ_REDIS_PASSWORD"))
}

// TestOfficialSidekiqRedis: with Sidekiq's own Redis, Mastodon reads SIDEKIQ_REDIS_HOST and
// SIDEKIQ_REDIS_PASSWORD only (no fallback to REDIS_PASSWORD); the triggers and the
// TriggerAuthentication follow the same variables on both charts.
func TestOfficialSidekiqRedis(t *testing.T) {
	for _, tc := range []struct {
		name, chart, release string
		sidekiq              map[string]any
		secret, key          string // "" when the chart gives Sidekiq's Redis no password
	}{
		{"helm-charts", testutil.HelmChartsChart, "social", map[string]any{"enabled": true, "hostname": "sk-redis.example", "password": "skpw"}, "social-mastodon-redis-sidekiq-auth", "password"},
		{"helm-charts-existing-secret", testutil.HelmChartsChart, "social", map[string]any{"enabled": true, "hostname": "sk-redis.example", "existingSecret": "sk-redis", "existingSecretKeys": map[string]any{"password": "pw"}}, "sk-redis", "pw"},
		{"legacy-existing-secret", testutil.LegacyChart, "mastodon", map[string]any{"enabled": true, "hostname": "sk-redis.example", "auth": map[string]any{"existingSecret": "sk-redis"}}, "sk-redis", "redis-password"},
		{"legacy-no-password", testutil.LegacyChart, "mastodon", map[string]any{"enabled": true, "hostname": "sk-redis.example"}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			values := map[string]any{"redis": map[string]any{"sidekiq": tc.sidekiq}}
			nodes, res, err := officialRun(t, tc.chart, tc.release, values, splitOpts)
			require.NoError(t, err)
			so := objectOf(t, nodes, "ScaledObject", "-default")
			require.Equal(t, "sk-redis.example", triggerMetadata(t, so)["host"])
			if tc.secret == "" {
				require.NotContains(t, so.MustString(), "authenticationRef")
				require.NotEmpty(t, findingsWith(res, layout.Warning, "no SIDEKIQ_REDIS_PASSWORD", "does not fall back to REDIS_PASSWORD"))
				return
			}
			ta := objectOf(t, nodes, "TriggerAuthentication", "")
			require.Contains(t, ta.MustString(), "name: "+tc.secret+"\n")
			require.Contains(t, ta.MustString(), "key: "+tc.key+"\n")
		})
	}
}

// TestOfficialSentinelCredentials: sentinels with their own credentials
// (SIDEKIQ_REDIS_SENTINEL_USERNAME / _PASSWORD) are stated in the layout and reach KEDA as
// sentinelUsername and sentinelPassword, beside the Redis password the pods read.
func TestOfficialSentinelCredentials(t *testing.T) {
	l, err := layout.Parse([]byte(`apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
metadata: {name: social}
spec:
  preset: split
  redis:
    sentinel:
      master: mymaster
      addresses: [sentinel-0.sentinel:26379]
      username: sentinel-user
      auth: {secretName: sentinel-auth, passwordKey: password}
`))
	require.NoError(t, err)
	values := map[string]any{"redis": map[string]any{"sidekiq": map[string]any{"enabled": true, "hostname": "sk-redis.example", "password": "skpw"}}}
	nodes, _, err := officialRun(t, testutil.HelmChartsChart, "social", values, postrender.Options{Layout: l})
	require.NoError(t, err)
	so := objectOf(t, nodes, "ScaledObject", "-default")
	md := triggerMetadata(t, so)
	require.Equal(t, "sentinel-user", md["sentinelUsername"])
	require.Equal(t, "sentinel-0.sentinel:26379", md["addresses"])
	ta := objectOf(t, nodes, "TriggerAuthentication", "").MustString()
	for _, want := range []string{"parameter: password", "name: social-mastodon-redis-sidekiq-auth", "parameter: sentinelPassword", "name: sentinel-auth"} {
		require.Contains(t, ta, want)
	}
}

// TestOfficialImageLatest: with image.tag latest or a digest, the version comes from the chart
// version's appVersion with a warning naming the assumption and the field to set, and the
// Deployments split mode writes say a version, not "latest".
func TestOfficialImageLatest(t *testing.T) {
	for _, tc := range []struct {
		name, chart, release, tag, app string
	}{
		{"legacy-latest", testutil.LegacyChart, "mastodon", "latest", "v4.6.3"},
		{"helm-charts-latest", testutil.HelmChartsChart, "social", "latest", "v4.6.2"},
		{"helm-charts-digest", testutil.HelmChartsChart, "social", "latest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "v4.6.2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			values := map[string]any{"image": map[string]any{"tag": tc.tag}}
			nodes, res, err := officialRun(t, tc.chart, tc.release, values, splitOpts)
			require.NoError(t, err)
			require.NotEmpty(t, findingsWith(res, layout.Warning, "spec.mastodonVersion", "--mastodon-version", tc.app, "names no Mastodon version"))
			d := objectOf(t, nodes, "Deployment", "-sidekiq-default")
			require.Equal(t, "v4.6", d.GetLabels()[layout.LabelVersion])
			require.NotContains(t, d.MustString(), "version: \"latest")
		})
	}
}

// TestOfficialLayoutContradictsRelease: a layout that states Sidekiq's Redis (host, TLS,
// password Secret) or the Mastodon version otherwise than the pods run them still wins, and
// each difference is a warning naming both values.
func TestOfficialLayoutContradictsRelease(t *testing.T) {
	t.Run("legacy", func(t *testing.T) {
		l, err := layout.Parse([]byte(`apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
metadata: {name: mastodon}
spec:
  preset: split
  mastodonVersion: "4.5"
  redis:
    host: other-redis
    auth: {secretName: other-secret, passwordKey: pw}
`))
		require.NoError(t, err)
		nodes, res, err := officialRun(t, testutil.LegacyChart, "mastodon", nil, postrender.Options{Layout: l})
		require.NoError(t, err)
		require.Equal(t, "other-redis", triggerMetadata(t, objectOf(t, nodes, "ScaledObject", "-default"))["host"], "the layout wins")
		require.Contains(t, objectOf(t, nodes, "TriggerAuthentication", "").MustString(), "name: other-secret\n")
		require.Len(t, findingsWith(res, layout.Warning, "spec.redis.host", "other-redis:6379", "mastodon-redis-master:6379", "REDIS_HOST"), 1)
		require.Len(t, findingsWith(res, layout.Warning, "spec.redis.auth.secretName", "other-secret key pw", "mastodon-redis key redis-password", "redis.auth.existingSecret"), 1)
		require.Len(t, findingsWith(res, layout.Warning, "spec.mastodonVersion", "Mastodon 4.5", "v4.6.3", "Mastodon 4.6"), 1)
	})
	t.Run("helm-charts-tls", func(t *testing.T) {
		l, err := layout.Parse([]byte(`apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
metadata: {name: social}
spec:
  redis:
    host: sk-redis.example
    tls: {enabled: false}
`))
		require.NoError(t, err)
		values := map[string]any{"mastodon": map[string]any{"sidekiq": map[string]any{"extraEnvVars": map[string]any{"SIDEKIQ_REDIS_URL": "rediss://sk-redis.example:6380/0"}}}}
		_, res, err := officialRun(t, testutil.HelmChartsChart, "social", values, postrender.Options{Layout: l})
		require.NoError(t, err)
		require.Len(t, findingsWith(res, layout.Warning, "spec.redis.tls.enabled", "tls.enabled: false", "rediss://", "SIDEKIQ_REDIS_URL"), 1)
		require.Len(t, findingsWith(res, layout.Warning, "spec.redis.host", "sk-redis.example:6379", "sk-redis.example:6380"), 1)
	})
	t.Run("agreeing layout is silent", func(t *testing.T) {
		l, err := layout.Parse([]byte(`apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
metadata: {name: mastodon}
spec:
  preset: split
  mastodonVersion: "4.6"
  redis:
    host: mastodon-redis-master
    auth: {secretName: mastodon-redis, passwordKey: redis-password}
`))
		require.NoError(t, err)
		_, res, err := officialRun(t, testutil.LegacyChart, "mastodon", nil, postrender.Options{Layout: l})
		require.NoError(t, err)
		require.Empty(t, findingsWith(res, layout.Warning, "the layout wins"))
	})
}

// TestOfficialHelm3BinaryFidelity runs the items above through the real helm 3 with mastoscale
// as its post-renderer: the legacy chart with image.tag latest and Sidekiq's Redis enabled
// without a hostname installs (exit 0) with autoscaled workers and no "latest" version label
// on the Deployments it writes.
func TestOfficialHelm3BinaryFidelity(t *testing.T) {
	bin := buildMastoscale(t, t.TempDir())
	values := map[string]any{
		"image": map[string]any{"tag": "latest"},
		"redis": map[string]any{"sidekiq": map[string]any{"enabled": true}},
	}
	out, stderr, err := testutil.RunHelmTemplate(t, "MASTOSCALE_HELM3", testutil.LegacyChart, "mastodon", "fedi", values,
		"--post-renderer", bin, "--post-renderer-args", "post-render", "--post-renderer-args", "--preset", "--post-renderer-args", "split")
	require.NoError(t, err, "%s", stderr)
	assertAutoscaled(t, string(out))
	nodes, err := kio.FromBytes(out)
	require.NoError(t, err)
	d := objectOf(t, nodes, "Deployment", "-sidekiq-default")
	require.Equal(t, "v4.6", d.GetLabels()[layout.LabelVersion])
	require.Equal(t, "mastodon-redis-master", triggerMetadata(t, objectOf(t, nodes, "ScaledObject", "-default"))["host"])
}
