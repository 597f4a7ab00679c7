package loop

import (
	"testing"

	"github.com/mastoscale/mastoscale/internal/simulate"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRecordedRunsAgreeWithTheSimulator replays every recorded loop run (make e2e-loop
// E2E_LOOP_FLAGS='-v -update' records them on the rig) through the simulator and holds it to
// the bounds of issue 18, without the rig.
func TestRecordedRunsAgreeWithTheSimulator(t *testing.T) {
	fixtures, err := Load("testdata")
	require.NoError(t, err)
	require.NotEmpty(t, fixtures, "no recorded runs in testdata (make e2e-loop E2E_LOOP_FLAGS='-v -update')")
	names := map[string]bool{}
	for _, f := range fixtures {
		names[f.Scenario] = true
		t.Run(f.Scenario, func(t *testing.T) {
			a, err := Compare(f, "testdata")
			require.NoError(t, err)
			t.Log(a.Line())
			assert.Zero(t, f.Observed.Lost, "the run lost jobs")
			assert.Zero(t, f.Observed.Duplicates, "the run performed jobs twice")
			assert.True(t, a.OK(), "the simulator disagrees with the recorded run: %s", a.Problem())
		})
	}
	for _, want := range []string{"attach-burst", "attach-scheduler", "burst", "push-pull", "scale-in", "scale-to-zero", "scheduler"} {
		assert.True(t, names[want], "no recorded run of scenario %s", want)
	}
}

func TestStepsFollowTheLevelsUpAndDown(t *testing.T) {
	run := []int32{1, 1, 2, 2, 4, 4, 4, 3, 1, 1}
	sim := []int32{1, 2, 2, 3, 4, 4, 4, 4, 1, 1}
	got := steps(run, sim)
	want := []Step{
		{Level: 2, Up: true, At: 2, SimAt: 1},
		{Level: 3, Up: true, At: 4, SimAt: 3},
		{Level: 4, Up: true, At: 4, SimAt: 4},
		{Level: 3, At: 7, SimAt: 8},
		{Level: 2, At: 8, SimAt: 8},
		{Level: 1, At: 8, SimAt: 8},
	}
	assert.Equal(t, want, got)
	assert.Empty(t, steps([]int32{1, 1}, []int32{1, 1}), "a flat run has no steps")
	missed := steps([]int32{1, 2, 1}, []int32{1, 1, 1})
	require.Len(t, missed, 2)
	assert.Equal(t, -1, missed[0].SimAt, "a level the replay never reaches")
}

func TestDrainedIsTheFirstEmptySecondAfterTheLastArrival(t *testing.T) {
	assert.Equal(t, 4, drained([]int64{0, 5, 3, 0, 2}, 1), "empty at second 3: drained at its end")
	assert.Equal(t, 1, drained([]int64{0, 0}, 0))
	assert.Equal(t, -1, drained([]int64{5, 3, 1}, 0), "never empty")
	assert.Equal(t, 5, drained([]int64{0, 0, 0, 0, 0}, 4), "an empty second before the last arrival does not count")
}

func TestLeadPutsTheReplaysSyncsWhereTheRunsWere(t *testing.T) {
	one, zero, five := int32(1), int32(0), int32(5)
	scaled := &layout.Worker{Autoscale: &layout.Autoscale{MinReplicas: &one, PollingInterval: &five}}
	f := &Fixture{}
	assert.Equal(t, 0, f.lead(scaled), "no syncs seen: no lead")
	for _, c := range []struct {
		first float64
		lead  int
	}{{3.2, 12}, {0.3, 15}, {14.6, 0}, {18.1, 12}} {
		f.Observed.HPASyncs = []float64{c.first}
		lead := f.lead(scaled)
		assert.Equal(t, c.lead, lead, "first sync at %.1f s", c.first)
		// The replay's syncs, at multiples of the sync period of the led trace, fall on the
		// run's (rounded) sync seconds.
		assert.Zero(t, (lead+int(c.first+0.5))%simulate.HPASyncPeriod)
	}
	// A worker that sleeps at zero is woken by KEDA's polls: their phase is the one aligned.
	sleeping := &layout.Worker{Autoscale: &layout.Autoscale{MinReplicas: &zero, PollingInterval: &five}}
	f.Observed.HPASyncs, f.Observed.KEDAPolls = []float64{3.2}, []float64{7.9}
	assert.Equal(t, 2, f.lead(sleeping))
}

func TestStartupPrefersTheScenariosOwnPods(t *testing.T) {
	f := &Fixture{Rig: Rig{StartupSeconds: 0.7}}
	assert.Equal(t, 1, f.startup())
	f.Observed.StartDelays = []float64{3.1, 4.3}
	assert.Equal(t, 4, f.startup())
	f.Observed.StartDelays = []float64{0.2}
	assert.Equal(t, -1, f.startup(), "under half a second: ready at once")
}

func TestAgreementBounds(t *testing.T) {
	assert.True(t, within(115, 100, 0.15))
	assert.False(t, within(116, 100, 0.15))
	assert.True(t, within(0, 0, 0.15))
	assert.False(t, within(1, 0, 0.15))
	a := &Agreement{Peak: 4, SimPeak: 3, DrainS: 100, SimDrainS: 120, PodSeconds: 100, SimPodSeconds: 100, StepBound: 20,
		Steps: []Step{{Level: 2, Up: true, At: 5, SimAt: 30}}}
	a.judge(&Observed{Lost: 1})
	assert.Len(t, a.Problems, 4, "peak, step, drain and the lost job: %v", a.Problems)
	assert.Contains(t, a.Line(), "agree=no")

	// A sleeping worker's drain may miss by one polling interval, and no more.
	sleeping := &Agreement{DrainS: 21, SimDrainS: 17, DrainSlack: 5}
	sleeping.judge(&Observed{})
	assert.Empty(t, sleeping.Problems)
	sleeping = &Agreement{DrainS: 23, SimDrainS: 17, DrainSlack: 5}
	sleeping.judge(&Observed{})
	assert.Len(t, sleeping.Problems, 1, "six seconds is more than one polling interval: %v", sleeping.Problems)
}
