package plan_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/mastoscale/mastoscale/internal/plan"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seed is the seed example resolved, with budget as its connection limit (set after
// resolving: a budget the seed overflows is what some cases plan for).
func seed(t *testing.T, budget layout.Database) *layout.Layout {
	t.Helper()
	l, err := layout.Load("../../examples/seed.yaml")
	require.NoError(t, err)
	r, _, err := layout.Resolve(l)
	require.NoError(t, err)
	r.Database = budget
	return r
}

func TestSeedNumbers(t *testing.T) {
	cases := []struct {
		name      string
		budget    layout.Database
		opts      plan.Options
		wantList  int64
		wantNeed  int32
		wantBinds plan.Binding
	}{
		{"25 threads x 2 jobs/s x 30 s is the seed's 1500", layout.Database{}, plan.Options{Latency: 30 * time.Second, PerThread: 2, Peak: map[string]float64{"": 180}}, 1500, 4, plan.BindsNothing},
		{"slower jobs: 1500 is too long for 30 s", layout.Database{}, plan.Options{Latency: 30 * time.Second, PerThread: 1, Peak: map[string]float64{"": 180}}, 750, 8, plan.BindsMaxReplicas},
		{"a 100-connection Postgres binds first", layout.Database{MaxConnections: 100, Reserved: 30}, plan.Options{PerThread: 1, Peak: map[string]float64{"worker-default": 180}}, 750, 8, plan.BindsBudget},
		{"throughput measured per pod", layout.Database{}, plan.Options{PerPod: 40, Peak: map[string]float64{"": 180}}, 1200, 5, plan.BindsMaxReplicas},
		{"no peak given", layout.Database{}, plan.Options{}, 1500, 0, plan.BindsUnknownPeak},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := plan.Make(seed(t, c.budget), c.opts)
			require.NoError(t, err)
			z := p.Workers[0]
			assert.Equal(t, "worker-default", z.Worker)
			assert.Equal(t, c.wantList, z.ListLength)
			assert.Equal(t, c.wantNeed, z.ReplicasForPeak)
			assert.Equal(t, c.wantBinds, z.Binds)
		})
	}
}

func TestLayoutGoalWins(t *testing.T) {
	l := seed(t, layout.Database{})
	l.Workers[2].Scaling.ThroughputPerThread = 4
	p, err := plan.Make(l, plan.Options{Workers: []string{"worker-ingress"}, PerThread: 1})
	require.NoError(t, err)
	require.Len(t, p.Workers, 1)
	assert.Equal(t, "layout", p.Workers[0].ThroughputFrom)
	assert.Equal(t, int64(3000), p.Workers[0].ListLength, "25 x 4 x 30 s")

	_, err = plan.Make(l, plan.Options{Workers: []string{"worker-mailers-scheduler"}})
	assert.ErrorContains(t, err, `"worker-mailers-scheduler" is not an autoscaled worker`)
}

func TestGoldenSeedPlan(t *testing.T) {
	p, err := plan.Make(seed(t, layout.Database{MaxConnections: 400, Reserved: 60}), plan.Options{Peak: map[string]float64{"worker-default": 180, "worker-ingress": 260}})
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, p.Write(&b))
	testutil.Golden(t, "testdata/seed-plan.txt", b.Bytes())
}
