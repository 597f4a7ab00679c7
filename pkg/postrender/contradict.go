package postrender

import (
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/mastoscale/mastoscale/pkg/layout"
)

// contradictions warns where the user's layout states Sidekiq's Redis or the Mastodon version
// otherwise than the release's pods run them. What the layout states still wins (KEDA reads
// what it says); the warning names both values, so the admin fixes whichever is wrong.
func contradictions(user *layout.SidekiqLayout, w *Worker, f *findings) {
	if user == nil {
		return
	}
	s := &user.Spec
	prefix := w.RedisPrefix()
	chartValue := "redis."
	if prefix == layout.EnvSidekiqRedisPrefix {
		chartValue = "redis.sidekiq."
	}
	contradictHost(&s.Redis, w, prefix, chartValue, f)
	contradictAuth(&s.Redis, w, prefix, chartValue, f)
	if s.MastodonVersion != "" && w.Version != "" && w.VersionAssumed == "" {
		stated, err := layout.ParseMastodonVersion(s.MastodonVersion)
		if err == nil && stated.String() != w.Version {
			at := w.Ref()
			at.Field, at.ChartValue = w.ContainerPath()+".image", "image.tag"
			f.addLayout(layout.Warning, specPath.Child("mastodonVersion"), at,
				"the layout says Mastodon %s, the pods run image %q (Mastodon %s): the layout wins and the queues are %s's; fix spec.mastodonVersion or the chart's image.tag", stated, w.Image, w.Version, stated)
		}
	}
}

// podRedis is Sidekiq's Redis as the pods' literal environment tells it.
type podRedis struct {
	host, port, from, field string
	tls, tlsKnown           bool
}

func podRedisOf(w *Worker, prefix string) (podRedis, bool) {
	if u, ok := w.Env[prefix+"URL"]; ok && u.Literal && strings.TrimSpace(u.Value) != "" {
		parsed, err := url.Parse(u.Value)
		if err != nil || parsed.Hostname() == "" {
			return podRedis{}, false
		}
		port := parsed.Port()
		if port == "" {
			port = strconv.Itoa(layout.DefaultRedisPort)
		}
		return podRedis{host: parsed.Hostname(), port: port, from: prefix + "URL in " + u.From, field: u.Field, tls: parsed.Scheme == "rediss", tlsKnown: true}, true
	}
	h, ok := w.Env[prefix+"HOST"]
	if !ok || !h.Literal || strings.TrimSpace(h.Value) == "" {
		return podRedis{}, false
	}
	port := strconv.Itoa(layout.DefaultRedisPort)
	if p, ok := w.Env[prefix+"PORT"]; ok && p.Literal && p.Value != "" {
		port = p.Value
	}
	return podRedis{host: h.Value, port: port, from: prefix + "HOST in " + h.From, field: h.Field}, true
}

func contradictHost(red *layout.Redis, w *Worker, prefix, chartValue string, f *findings) {
	pod, ok := podRedisOf(w, prefix)
	if !ok {
		return
	}
	at := w.Ref()
	at.Field, at.ChartValue = pod.field, chartValue+"hostname"
	host, port, path := red.Host, "", redisPath.Child("host")
	switch {
	case red.Address != "":
		path = redisPath.Child("address")
		host, port, _ = net.SplitHostPort(red.Address)
	case red.Host != "" && red.Port != nil:
		port = strconv.Itoa(int(*red.Port))
	case red.Host != "":
		port = strconv.Itoa(layout.DefaultRedisPort)
	}
	// A host with user information is refused elsewhere and never echoed.
	if layout.HasUserInfo(red.Host) || layout.HasUserInfo(red.Address) || layout.HasUserInfo(pod.host) {
		return
	}
	if host != "" && (host != pod.host || port != pod.port) {
		f.addLayout(layout.Warning, path, at,
			"the layout's triggers read Redis at %s, the Sidekiq pods use %s (%s): the layout wins; fix %s or the chart's %s",
			net.JoinHostPort(host, port), net.JoinHostPort(pod.host, pod.port), pod.from, path, at.ChartValue)
	}
	if tls := red.TLS != nil && red.TLS.Enabled; red.TLS != nil && pod.tlsKnown && tls != pod.tls {
		f.addLayout(layout.Warning, redisPath.Child("tls", "enabled"), at,
			"the layout says tls.enabled: %t, the Sidekiq pods connect %s (%s): the layout wins; fix spec.redis.tls or the pods' %sURL",
			tls, map[bool]string{true: "with TLS (rediss://)", false: "without TLS (redis://)"}[pod.tls], pod.from, prefix)
	}
}

func contradictAuth(red *layout.Redis, w *Worker, prefix, chartValue string, f *findings) {
	a := red.Auth
	pw, ok := w.Env[prefix+"PASSWORD"]
	if a == nil || !ok || pw.Secret == nil {
		return
	}
	at := w.Ref()
	at.Field, at.ChartValue = pw.Field, chartValue+"existingSecret"
	if chartOf(w) == layout.ChartLegacy {
		at.ChartValue = chartValue + "auth.existingSecret"
	}
	switch {
	case a.Disabled:
		f.addLayout(layout.Warning, redisPath.Child("auth", "disabled"), at,
			"the layout says Redis needs no password, the Sidekiq pods read %sPASSWORD from Secret %s key %s: the layout wins and the triggers send none; fix spec.redis.auth or the chart's %s",
			prefix, pw.Secret.Name, pw.Secret.Key, at.ChartValue)
	case a.SecretName != "" && (a.SecretName != pw.Secret.Name || a.PasswordKey != "" && a.PasswordKey != pw.Secret.Key):
		f.addLayout(layout.Warning, redisPath.Child("auth", "secretName"), at,
			"the layout's triggers read the Redis password from Secret %s key %s, the Sidekiq pods from Secret %s key %s (%sPASSWORD): the layout wins; fix spec.redis.auth or the chart's %s",
			a.SecretName, orDefault(a.PasswordKey, "(default)"), pw.Secret.Name, pw.Secret.Key, prefix, at.ChartValue)
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
