package cli

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestCurrentVersion: what each way of building leaves in the build info, and how it prints.
// The real builds (go build in a checkout, go run, -ldflags) are run in cmd/mastoscale.
func TestCurrentVersion(t *testing.T) {
	vcs := func(rev, at, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "-trimpath", Value: "true"}, {Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: at}, {Key: "vcs.modified", Value: modified}}
	}
	const rev = "8b472eb1a2c3d4e5f60718293a4b5c6d7e8f9012"
	tests := []struct {
		name     string
		info     *debug.BuildInfo
		ok       bool
		override [3]string // Version, Commit, Date from -ldflags
		want     string
	}{
		{"go run", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true, [3]string{}, "(devel)"},
		{"go build in a dirty checkout",
			&debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261202045030-8b472eb1a2c3+dirty"}, Settings: vcs(rev, "2026-12-02T04:50:30Z", "true")},
			true, [3]string{}, "v0.0.0-20261202045030-8b472eb1a2c3+dirty (commit 8b472eb, 2026-12-02, modified)"},
		{"go build at a tag",
			&debug.BuildInfo{Main: debug.Module{Version: "v0.3.0"}, Settings: vcs(rev, "2026-12-02T23:59:59-05:00", "false")},
			true, [3]string{}, "v0.3.0 (commit 8b472eb, 2026-12-03)"},
		{"go install module@version", &debug.BuildInfo{Main: debug.Module{Version: "v0.3.0"}}, true, [3]string{}, "v0.3.0"},
		{"goreleaser's -ldflags win",
			&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "2026-12-02T04:50:30Z", "false")},
			true, [3]string{"v0.4.0", "0123456789abcdef", "2026-12-24T10:00:00Z"}, "v0.4.0 (commit 0123456, 2026-12-24)"},
		{"no build info", nil, false, [3]string{}, "(unknown)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			saved := [3]string{Version, Commit, Date}
			t.Cleanup(func() { Version, Commit, Date = saved[0], saved[1], saved[2] })
			Version, Commit, Date = tt.override[0], tt.override[1], tt.override[2]
			assert.Equal(t, tt.want, currentVersion(tt.info, tt.ok).String())
		})
	}
}
