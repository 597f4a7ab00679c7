package lint_test

import (
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/lint"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/stretchr/testify/require"
)

// TestOfficialImageLatest: lint reads the release with post-render's reader, so with image.tag
// latest it assumes the chart version's appVersion too, and says so.
func TestOfficialImageLatest(t *testing.T) {
	out := testutil.HelmTemplate(t, "MASTOSCALE_HELM3", testutil.HelmChartsChart, "social", "fedi", map[string]any{"image": map[string]any{"tag": "latest"}})
	src, err := lint.Parse("release.yaml", out)
	require.NoError(t, err)
	findings, err := lint.Lint([]lint.Source{src}, lint.Options{})
	require.NoError(t, err)
	var found bool
	for _, f := range findings {
		found = found || f.Severity == layout.Warning && f.Rule == lint.RuleMastodonVersion &&
			strings.Contains(f.Message, "v4.6.2") && strings.Contains(f.Message, "--mastodon-version")
	}
	require.True(t, found, "%v", findings)
	v := layout.MastodonVersion{Major: 4, Minor: 6}
	findings, err = lint.Lint([]lint.Source{src}, lint.Options{MastodonVersion: &v})
	require.NoError(t, err)
	for _, f := range findings {
		require.NotEqual(t, lint.RuleMastodonVersion, f.Rule, "--mastodon-version settles it: %v", f)
	}
}
