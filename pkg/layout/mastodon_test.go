package layout_test

import (
	"testing"

	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var _ = testutil.Update

func TestQueuesPerVersion(t *testing.T) {
	tests := []struct {
		version string
		want    []string
	}{
		{"3.3", []string{"default", "push", "mailers", "pull", "scheduler"}},
		{"3.5.19", []string{"default", "push", "mailers", "pull", "scheduler"}},
		{"4.0", []string{"default", "push", "ingress", "mailers", "pull", "scheduler"}},
		{"4.3.2", []string{"default", "push", "ingress", "mailers", "pull", "scheduler"}},
		{"v4.4.0", []string{"default", "push", "ingress", "mailers", "pull", "scheduler", "fasp"}},
		{"4.6", []string{"default", "push", "ingress", "mailers", "pull", "scheduler", "fasp"}},
		{"4.9", []string{"default", "push", "ingress", "mailers", "pull", "scheduler", "fasp"}},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			v, err := layout.ParseMastodonVersion(tt.version)
			require.NoError(t, err)
			assert.Equal(t, tt.want, layout.QueueNames(v))
		})
	}
}

func TestWeightsAndSingleton(t *testing.T) {
	weights := map[string]int32{}
	var singletons []string
	for _, q := range layout.QueueCatalogue(layout.DefaultMastodonVersion) {
		weights[q.Name] = q.Weight
		if q.Singleton {
			singletons = append(singletons, q.Name)
		}
	}
	assert.Equal(t, map[string]int32{"default": 8, "push": 6, "ingress": 4, "mailers": 2, "pull": 0, "scheduler": 0, "fasp": 0}, weights)
	assert.Equal(t, []string{"scheduler"}, singletons)
	_, ok := layout.LookupQueue(layout.DefaultMastodonVersion, "mailer")
	assert.False(t, ok, "the queue is mailers, not mailer")
}

// TestWeightsPerVersion: the weights of config/sidekiq.yml, read at the release commits
// ("Bump version to 3.5.0" 8c7223f, "to 4.0.0" fb389bd); 4.0 raised them with the ingress queue.
func TestWeightsPerVersion(t *testing.T) {
	tests := []struct {
		version string
		want    map[string]int32
	}{
		{"3.3", map[string]int32{"default": 6, "push": 4, "mailers": 2, "pull": 0, "scheduler": 0}},
		{"3.5.19", map[string]int32{"default": 6, "push": 4, "mailers": 2, "pull": 0, "scheduler": 0}},
		{"4.0", map[string]int32{"default": 8, "push": 6, "ingress": 4, "mailers": 2, "pull": 0, "scheduler": 0}},
		{"4.4", map[string]int32{"default": 8, "push": 6, "ingress": 4, "mailers": 2, "pull": 0, "scheduler": 0, "fasp": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			v, err := layout.ParseMastodonVersion(tt.version)
			require.NoError(t, err)
			got := map[string]int32{}
			for _, q := range layout.QueueCatalogue(v) {
				got[q.Name] = q.Weight
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseVersionRejects(t *testing.T) {
	for _, s := range []string{"", "4", "four.three", "4.3.2.1", "4.-1"} {
		_, err := layout.ParseMastodonVersion(s)
		assert.Error(t, err, s)
	}
}

func TestVersionRules(t *testing.T) {
	v := func(s string) layout.MastodonVersion {
		t.Helper()
		out, err := layout.ParseMastodonVersion(s)
		require.NoError(t, err)
		return out
	}
	assert.True(t, v("4.3").AllowsRedisNamespace())
	assert.True(t, v("3.5").AllowsRedisNamespace())
	assert.False(t, v("4.4").AllowsRedisNamespace())
	assert.False(t, v("5.0").AllowsRedisNamespace())
	assert.False(t, v("4.4").EnqueuedAtMillis())
	assert.True(t, v("4.5").EnqueuedAtMillis())
	assert.False(t, v("3.2").Supported())
	assert.True(t, v("4.7").Supported())
	assert.False(t, v("4.7").Known())
}

func TestListName(t *testing.T) {
	assert.Equal(t, "queue:default", layout.ListName("", "default"))
	assert.Equal(t, "masto5:queue:default", layout.ListName("masto5", "default"))
}

func TestChartNaming(t *testing.T) {
	assert.Equal(t, "mastodon", layout.Fullname("mastodon"))
	assert.Equal(t, "my-mastodon-prod", layout.Fullname("my-mastodon-prod"))
	assert.Equal(t, "social-mastodon", layout.Fullname("social"))
	long := "a-very-long-release-name-that-goes-on-and-on-and-on-and-on-xx"
	assert.LessOrEqual(t, len(layout.Fullname(long)), 63)
	// Like Helm's `trunc 63 | trimSuffix "-"`: one trailing dash is trimmed, not all.
	assert.Equal(t, long+"-", layout.Fullname(long+"-"))

	assert.Equal(t, "social-mastodon-sidekiq-all-queues", layout.SidekiqDeploymentName(layout.Fullname("social"), "all-queues"))
	assert.Equal(t, "social-mastodon-env", layout.EnvConfigMapName("social-mastodon"))
	assert.Equal(t, map[string]string{
		"app.kubernetes.io/name":      "mastodon",
		"app.kubernetes.io/instance":  "social",
		"app.kubernetes.io/component": "sidekiq-all-queues",
		"app.kubernetes.io/part-of":   "rails",
	}, layout.SidekiqSelectorLabels("social", "all-queues"))

	assert.Equal(t, layout.SecretKeyRef{Name: "mastodon-redis", Key: "redis-password"}, layout.RedisPasswordSecret(layout.ChartLegacy, "mastodon"))
	assert.Equal(t, layout.SecretKeyRef{Name: "social-mastodon-redis-auth", Key: "password"}, layout.RedisPasswordSecret(layout.ChartHelmCharts, "social"))
	host, ok := layout.RedisHost(layout.ChartLegacy, "mastodon")
	assert.True(t, ok)
	assert.Equal(t, "mastodon-redis-master", host)
	_, ok = layout.RedisHost(layout.ChartHelmCharts, "social")
	assert.False(t, ok, "mastodon/helm-charts bundles no Redis")

	c, err := layout.ParseChart("")
	require.NoError(t, err)
	assert.Equal(t, layout.ChartLegacy, c)
	_, err = layout.ParseChart("bitnami/mastodon")
	assert.ErrorContains(t, err, "mastodon/helm-charts")
}
