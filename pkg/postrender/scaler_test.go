package postrender_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/postrender"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A layout on mastoscale's scaler, post-rendered onto both official charts in split mode and
// attach mode: the workers get external triggers, the scaler its Deployment and Service beside
// them, the Redis TriggerAuthentication goes (no redis trigger reads it), foreign documents
// pass byte for byte, and a second run changes nothing.
func TestPostRenderSidekiqScaler(t *testing.T) {
	for _, chart := range []string{testutil.LegacyChart, testutil.HelmChartsChart} {
		for _, mode := range []struct {
			name, workers string
			values        map[string]any
		}{
			{"split", `
  preset: split`, nil},
			{"attach", "", testutil.SplitWorkers},
		} {
			t.Run(chart+"/"+mode.name, func(t *testing.T) {
				l, err := layout.Parse([]byte(`apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
metadata: {name: social, namespace: fedi}
spec:
  release: {name: social}
  scaler: {image: registry.example.org/mastoscale-scaler:v1}` + mode.workers + "\n"))
				require.NoError(t, err)
				if mode.name == "split" {
					l.Spec.Workers, _ = splitOnScaler(t)
					l.Spec.Preset = ""
				}
				input := testutil.HelmTemplate(t, "MASTOSCALE_HELM3", chart, "social", "fedi", mode.values)
				var out bytes.Buffer
				_, err = postrender.Run(bytes.NewReader(input), &out, postrender.Options{Layout: l})
				if mode.name == "attach" {
					// Attach infers the workers; without one stating scaler: sidekiq, the scaler
					// is unused, and the layout's warning says so.
					require.NoError(t, err)
					assert.NotContains(t, out.String(), "mastoscale-scaler")
					return
				}
				require.NoError(t, err)
				got := out.String()
				var foreign []string
				for _, d := range foreignDocs(t, out.Bytes()) {
					if !strings.Contains(d, "app.kubernetes.io/name: mastoscale-scaler\n") {
						foreign = append(foreign, d)
					}
				}
				assert.Equal(t, foreignDocs(t, input), foreign, "foreign documents pass byte for byte")
				assert.Contains(t, got, "name: social-mastodon-mastoscale-scaler\n")
				assert.Contains(t, got, "scalerAddress: social-mastodon-mastoscale-scaler.fedi.svc:50051")
				assert.Contains(t, got, "type: external\n")
				assert.NotContains(t, got, "type: redis\n")
				assert.NotContains(t, got, "kind: TriggerAuthentication", "no redis trigger reads the Redis password")
				assert.Equal(t, 1, strings.Count(got, "\nkind: Service\n")-strings.Count(string(input), "\nkind: Service\n"), "the scaler's Service")

				var again bytes.Buffer
				_, err = postrender.Run(bytes.NewReader(out.Bytes()), &again, postrender.Options{Layout: l})
				require.NoError(t, err)
				assert.Equal(t, got, again.String(), "a second run changes nothing")
			})
		}
	}
}

// splitOnScaler is the split preset with every autoscaled worker on the Sidekiq scaler.
func splitOnScaler(t *testing.T) ([]layout.Worker, error) {
	t.Helper()
	p, err := layout.Preset("split", layout.DefaultMastodonVersion)
	require.NoError(t, err)
	for i := range p.Spec.Workers {
		if a := p.Spec.Workers[i].Autoscale; a != nil {
			a.Scaler = layout.ScalerSidekiq
		}
	}
	return p.Spec.Workers, nil
}
