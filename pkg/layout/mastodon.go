package layout

import (
	"fmt"
	"strings"
)

// Chart identifies one of the two official Mastodon Helm charts, whose naming conventions
// mastoscale follows so that its objects line up with a release's.
type Chart string

const (
	// ChartLegacy is mastodon/chart 6.x, deprecated with Mastodon 4.6; it bundles Bitnami Redis.
	ChartLegacy Chart = "mastodon/chart"
	// ChartHelmCharts is charts/mastodon of mastodon/helm-charts 1.x, the successor.
	ChartHelmCharts Chart = "mastodon/helm-charts"
)

// Charts lists the supported charts.
var Charts = []Chart{ChartLegacy, ChartHelmCharts}

// DefaultRelease is the release name assumed when a layout names none.
const DefaultRelease = "mastodon"

// Label keys and values both charts put on Sidekiq pods.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "app.kubernetes.io/instance"
	LabelComponent = "app.kubernetes.io/component"
	LabelPartOf    = "app.kubernetes.io/part-of"
	LabelVersion   = "app.kubernetes.io/version"

	AppName         = "mastodon"
	PartOfRails     = "rails"
	ComponentPrefix = "sidekiq-"
)

// Fullname applies the charts' fullname rule: the release name when it contains "mastodon",
// otherwise "<release>-mastodon", cut to 63 characters without a trailing dash.
func Fullname(release string) string {
	name := release
	if !strings.Contains(release, AppName) {
		name = release + "-" + AppName
	}
	if len(name) > 63 {
		name = name[:63]
	}
	return strings.TrimSuffix(name, "-")
}

// SidekiqDeploymentName is the Deployment both charts make for a worker: `<fullname>-sidekiq-<worker>`.
func SidekiqDeploymentName(fullname, worker string) string {
	return fullname + "-sidekiq-" + worker
}

// SidekiqSelectorLabels are the labels both charts select a worker's pods by.
func SidekiqSelectorLabels(release, worker string) map[string]string {
	return map[string]string{
		LabelName:      AppName,
		LabelInstance:  release,
		LabelComponent: ComponentPrefix + worker,
		LabelPartOf:    PartOfRails,
	}
}

// EnvConfigMapName is the ConfigMap holding REDIS_HOST, REDIS_PORT and the rest of the
// non-secret environment: `<fullname>-env` in both charts.
func EnvConfigMapName(fullname string) string { return fullname + "-env" }

// SecretKeyRef names a key of a Secret.
type SecretKeyRef struct {
	Name string
	Key  string
}

// RedisPasswordSecret is where the chart keeps the Redis password Sidekiq reads as
// REDIS_PASSWORD: `<release>-redis` key `redis-password` in the legacy chart (its bundled
// Bitnami Redis), `<fullname>-redis-auth` key `password` in mastodon/helm-charts.
func RedisPasswordSecret(chart Chart, release string) SecretKeyRef {
	if chart == ChartHelmCharts {
		return SecretKeyRef{Name: Fullname(release) + "-redis-auth", Key: "password"}
	}
	return SecretKeyRef{Name: release + "-redis", Key: "redis-password"}
}

// RedisHost is the Redis Service the legacy chart's bundled Redis creates. mastodon/helm-charts
// bundles no Redis, so it has no default host.
func RedisHost(chart Chart, release string) (string, bool) {
	if chart == ChartHelmCharts {
		return "", false
	}
	return release + "-redis-master", true
}

// LabelHelmChart is the label both charts put on their objects: "<chart name>-<chart version>".
const LabelHelmChart = "helm.sh/chart"

// chartAppVersions is the appVersion of published versions of the charts, for releases whose
// image tag (latest, a digest) names no Mastodon version. Only versions checked against the
// published Chart.yaml are listed.
var chartAppVersions = map[Chart]map[string]string{
	ChartLegacy:     {"6.9.3": "v4.6.3"},
	ChartHelmCharts: {"1.0.2": "v4.6.2"},
}

// ChartAppVersion returns the chart version a helm.sh/chart label ("mastodon-6.9.3") names and
// that published version's appVersion; ok is false when the label names no chart version
// listed for chart.
func ChartAppVersion(chart Chart, label string) (chartVersion, appVersion string, ok bool) {
	v, found := strings.CutPrefix(label, AppName+"-")
	if !found {
		return "", "", false
	}
	app, ok := chartAppVersions[chart][v]
	return v, app, ok
}

// ParseChart accepts the chart names of Charts; an empty string means ChartLegacy.
func ParseChart(s string) (Chart, error) {
	if s == "" {
		return ChartLegacy, nil
	}
	for _, c := range Charts {
		if string(c) == s {
			return c, nil
		}
	}
	return "", fmt.Errorf("unknown chart %q: use %q or %q", s, ChartLegacy, ChartHelmCharts)
}

// Sidekiq environment variables the charts and Mastodon use.
const (
	EnvRedisHost            = "REDIS_HOST"
	EnvRedisPort            = "REDIS_PORT"
	EnvRedisPassword        = "REDIS_PASSWORD"
	EnvRedisNamespace       = "REDIS_NAMESPACE"
	EnvSidekiqRedisHost     = "SIDEKIQ_REDIS_HOST"
	EnvSidekiqRedisPort     = "SIDEKIQ_REDIS_PORT"
	EnvSidekiqRedisPassword = "SIDEKIQ_REDIS_PASSWORD"
	EnvRedisPrefix          = "REDIS_"
	EnvSidekiqRedisPrefix   = "SIDEKIQ_REDIS_"
	EnvDBPool               = "DB_POOL"
)

// SidekiqRedisPrefix is the prefix of the variables Mastodon reads Sidekiq's Redis from, given
// which variables are set and not blank: SIDEKIQ_REDIS_ once SIDEKIQ_REDIS_URL,
// SIDEKIQ_REDIS_HOST or SIDEKIQ_REDIS_SENTINELS is (and then only SIDEKIQ_REDIS_PASSWORD,
// _USER, _SENTINEL_USERNAME, _SENTINEL_PASSWORD: no fallback to REDIS_PASSWORD), else REDIS_
// (an empty SIDEKIQ_REDIS_HOST, as the legacy chart renders with redis.sidekiq.enabled and no
// hostname, falls back to the main Redis's variables, all of them).
func SidekiqRedisPrefix(set func(name string) bool) string {
	for _, v := range []string{"URL", "HOST", "SENTINELS"} {
		if set(EnvSidekiqRedisPrefix + v) {
			return EnvSidekiqRedisPrefix
		}
	}
	return EnvRedisPrefix
}

// SidekiqDefaultTimeout is Sidekiq's `-t`: how long a stopping process waits for running jobs
// before it pushes them back. A pod's terminationGracePeriodSeconds must exceed it.
const SidekiqDefaultTimeout = 25

// DefaultImage is the image the charts run for Mastodon version v.
func DefaultImage(v MastodonVersion) string { return "ghcr.io/mastodon/mastodon:v" + v.String() }
