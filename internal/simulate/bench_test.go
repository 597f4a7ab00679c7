package simulate_test

import (
	"testing"

	"github.com/mastoscale/mastoscale/internal/simulate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// benchRun times Run of the split preset over the named trace.
func benchRun(b *testing.B, trace string, seconds int, opts simulate.Options) {
	tr, err := simulate.Generate(trace, seconds, 1)
	require.NoError(b, err)
	l := load(b, "split")
	opts.Seed = 1
	cpu := cpuTime()
	n := 0
	for b.Loop() {
		if _, err := simulate.Run("split", l, tr, opts); err != nil {
			b.Fatal(err)
		}
		n++
	}
	// The process's CPU time per run (GC included): on a shared machine wall-clock ns/op
	// measures the other jobs too.
	b.ReportMetric(float64(cpuTime()-cpu)/float64(n), "cpu-ns/op")
	b.ReportMetric(float64(tr.Jobs()), "jobs/op")
}

// BenchmarkSimulateDay replays the 24 h diurnal trace (3.3 M jobs) through the split preset.
func BenchmarkSimulateDay(b *testing.B) { benchRun(b, "diurnal", 86400, simulate.Options{}) }

// BenchmarkSimulateViral replays the 3 h viral trace: a long backlog on three workers.
func BenchmarkSimulateViral(b *testing.B) { benchRun(b, "viral", 0, simulate.Options{}) }

// BenchmarkSimulateDaySearch is what a search calls: no series, no oracle.
func BenchmarkSimulateDaySearch(b *testing.B) {
	benchRun(b, "diurnal", 86400, simulate.Options{NoSeries: true, NoOracle: true})
}

// TestAllocationsDoNotGrowWithTheTrace: without series and oracle, a run of a day allocates
// no more than a run of an hour: the per-second loop reuses its queues, groups and pods.
func TestAllocationsDoNotGrowWithTheTrace(t *testing.T) {
	l := load(t, "split")
	allocs := func(trace string, seconds int) float64 {
		tr, err := simulate.Generate(trace, seconds, 1)
		require.NoError(t, err)
		opts := simulate.Options{Seed: 1, NoSeries: true, NoOracle: true}
		return testing.AllocsPerRun(3, func() {
			_, err := simulate.Run("split", l, tr, opts)
			require.NoError(t, err)
		})
	}
	hour := allocs("diurnal", 3600)
	assert.Equal(t, hour, allocs("diurnal", 86400), "allocations of a day against an hour")
	// A backlog grows a queue's runs (one per second of arrivals waiting) and the groups of
	// threads: that depends on the longest backlog, not on the trace's length.
	viral := allocs("viral", 0)
	assert.Equal(t, viral, allocs("viral", 6*3600), "allocations of 3 h and 6 h of the viral trace")
}
