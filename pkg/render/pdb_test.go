package render_test

import (
	"testing"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/render"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// TestPodDisruptionBudgets: one budget per worker, the scheduler's included, selecting the
// chart's pod labels with maxUnavailable 1; a worker's own count, and none when disabled.
func TestPodDisruptionBudgets(t *testing.T) {
	l, err := layout.Preset(layout.PresetSplit, layout.DefaultMastodonVersion)
	require.NoError(t, err)
	l.Spec.Release.Name = "social"
	set, err := render.FromLayout(l)
	require.NoError(t, err)
	require.Len(t, set.PodDisruptionBudgets, len(l.Spec.Workers))
	for i, pdb := range set.PodDisruptionBudgets {
		w := l.Spec.Workers[i].Name
		assert.Equal(t, "social-mastodon-sidekiq-"+w, pdb.Name)
		assert.Equal(t, ptr.To(intstr.FromInt32(1)), pdb.Spec.MaxUnavailable, w)
		assert.Nil(t, pdb.Spec.MinAvailable, "minAvailable 1 would block the drain of a single pod")
		assert.Equal(t, layout.SidekiqSelectorLabels("social", w), pdb.Spec.Selector.MatchLabels, w)
	}

	l.Spec.Workers[0].Disruption = &layout.Disruption{MaxUnavailable: ptr.To[int32](2)}
	l.Spec.Workers[1].Disruption = &layout.Disruption{Disabled: true}
	set, err = render.FromLayout(l)
	require.NoError(t, err)
	require.Len(t, set.PodDisruptionBudgets, len(l.Spec.Workers)-1)
	assert.Equal(t, ptr.To(intstr.FromInt32(2)), set.PodDisruptionBudgets[0].Spec.MaxUnavailable)
	for _, pdb := range set.PodDisruptionBudgets {
		assert.NotEqual(t, "social-mastodon-sidekiq-"+l.Spec.Workers[1].Name, pdb.Name, "disabled")
	}
}
