package simulate_test

import (
	"io"
	"testing"

	"github.com/mastoscale/mastoscale/internal/simulate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNoSeriesNoOracleKeepTheTotals: a search's options drop the series and the oracle and
// nothing else.
func TestNoSeriesNoOracleKeepTheTotals(t *testing.T) {
	tr, err := simulate.Generate("viral", 0, 1)
	require.NoError(t, err)
	l := load(t, "split")
	full, err := simulate.Run("split", l, tr, simulate.Options{Seed: 1})
	require.NoError(t, err)
	lean, err := simulate.Run("split", l, tr, simulate.Options{Seed: 1, NoSeries: true, NoOracle: true})
	require.NoError(t, err)
	require.Len(t, lean.Workers, len(full.Workers))
	for i := range full.Workers {
		f, n := full.Workers[i], lean.Workers[i]
		assert.NotNil(t, f.Depth)
		assert.Positive(t, f.Oracle.PodMinutes)
		assert.Nil(t, n.Depth)
		assert.Nil(t, n.Pods)
		assert.Nil(t, n.Latency)
		assert.Zero(t, n.Oracle.PodMinutes)
		f.Depth, f.Pods, f.Latency, f.Oracle = nil, nil, nil, simulate.OracleResult{}
		assert.Equal(t, f, n, f.Name)
	}
	assert.Zero(t, lean.OraclePods)
	assert.Equal(t, full.P99, lean.P99)
	assert.Equal(t, full.PodMinutes, lean.PodMinutes)
	assert.Equal(t, full.PeakConnections, lean.PeakConnections)
	assert.ErrorContains(t, simulate.PlotSVG(io.Discard, lean), "NoSeries")
}
