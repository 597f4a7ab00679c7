package layout

import (
	"fmt"
	"strconv"
	"strings"
)

// MastodonVersion is a Mastodon major.minor release, the granularity at which the queue set changes.
type MastodonVersion struct {
	Major, Minor int
}

// DefaultMastodonVersion is the Mastodon release assumed when a layout does not name one: the
// current release of both official charts.
var DefaultMastodonVersion = MastodonVersion{Major: 4, Minor: 6}

// OldestKnownMastodon and NewestKnownMastodon are the oldest and newest releases whose queue set is known. Newer releases reuse the newest
// catalogue (callers may warn); older ones are refused.
var (
	OldestKnownMastodon = MastodonVersion{Major: 3, Minor: 3}
	NewestKnownMastodon = MastodonVersion{Major: 4, Minor: 6}
)

// ParseMastodonVersion accepts "4.3", "4.3.2", "v4.3.2" and "4.5.0-beta.1"; only major and minor matter.
func ParseMastodonVersion(s string) (MastodonVersion, error) {
	t := strings.TrimPrefix(strings.TrimSpace(s), "v")
	if i := strings.IndexAny(t, "-+"); i >= 0 {
		t = t[:i]
	}
	parts := strings.Split(t, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return MastodonVersion{}, fmt.Errorf("%q is not a Mastodon version: write major.minor, e.g. \"4.3\"", s)
	}
	var nums [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return MastodonVersion{}, fmt.Errorf("%q is not a Mastodon version: write major.minor, e.g. \"4.3\"", s)
		}
		nums[i] = n
	}
	return MastodonVersion{Major: nums[0], Minor: nums[1]}, nil
}

// String returns "major.minor".
func (v MastodonVersion) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// Less reports whether v is an older release than o.
func (v MastodonVersion) Less(o MastodonVersion) bool {
	if v.Major != o.Major {
		return v.Major < o.Major
	}
	return v.Minor < o.Minor
}

// Known reports whether the queue catalogue of v is known exactly (not extrapolated).
func (v MastodonVersion) Known() bool {
	return !v.Less(OldestKnownMastodon) && !NewestKnownMastodon.Less(v)
}

// Supported reports whether mastoscale can lay out Sidekiq for v at all. Releases before 3.3
// are not supported; releases after the newest known one are assumed to keep its queues.
func (v MastodonVersion) Supported() bool { return !v.Less(OldestKnownMastodon) }

// AllowsRedisNamespace reports whether REDIS_NAMESPACE may be set: it was deprecated in 4.3
// and removed in 4.4, whose processes refuse to boot with it.
func (v MastodonVersion) AllowsRedisNamespace() bool {
	return v.Less(MastodonVersion{Major: 4, Minor: 4})
}

// EnqueuedAtMillis reports whether Sidekiq writes `enqueued_at` as integer epoch milliseconds
// (Sidekiq 8, Mastodon 4.5 and later) rather than float seconds.
func (v MastodonVersion) EnqueuedAtMillis() bool { return !v.Less(MastodonVersion{Major: 4, Minor: 5}) }
