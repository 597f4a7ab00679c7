package layout_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A throughput or latency goal so large that Little's law overflows int64 used to wrap into
// listLength 1 with no error: the bounds refuse it with the field path.
func TestBoundsRefuseOverflowingSizing(t *testing.T) {
	for _, tc := range []struct{ goal, want string }{
		{`{latencyTarget: 30s, throughputPerThread: 1e18}`, `spec.workers[0].autoscale.throughputPerThread: Invalid value: 1e+18: must be at most 100000`},
		{`{latencyTarget: 2540400h, throughputPerThread: 2}`, `spec.workers[0].autoscale.latencyTarget: Invalid value: "2540400h0m0s": must be at most 24h0m0s`},
		{`{listLength: 99999999999999}`, `spec.workers[0].autoscale.listLength: Invalid value: 99999999999999: must be at most 1000000000`},
		{`{maxReplicas: 2000000000}`, `spec.workers[0].autoscale.maxReplicas: Invalid value: 2000000000: must be at most 10000`},
		{`{pollingInterval: 2000000000}`, `spec.workers[0].autoscale.pollingInterval: Invalid value: 2000000000: must be at most 604800 seconds`},
	} {
		doc := strings.Replace(latencyLayout, `{latencyTarget: 20s, throughputPerThread: "1.5"}`, tc.goal, 1)
		l, err := layout.Parse([]byte(doc))
		require.NoError(t, err, tc.goal)
		_, report := layout.Prepare(l)
		var errs []string
		for _, e := range report.Errors() {
			errs = append(errs, e.String())
		}
		assert.Contains(t, strings.Join(errs, "\n"), tc.want, tc.goal)
	}
	assert.Equal(t, int64(9223372036854775807), layout.ListLengthForLatency(50, 1e18, 1e18))
}

// Values the decoder cannot take are located by line and field path.
func TestParseLocatesBadValues(t *testing.T) {
	for _, tc := range []struct{ goal, want string }{
		{`{latencyTarget: 100000000h, throughputPerThread: 2}`, `spec.workers[0].autoscale.latencyTarget: time: invalid duration "100000000h"`},
		{`{latencyTarget: 20s, throughputPerThread: .nan}`, `spec.workers[0].autoscale.throughputPerThread: .nan is not a number`},
		{`{maxReplicas: 99999999999}`, `spec.workers[0].autoscale.maxReplicas: cannot unmarshal number 99999999999`},
	} {
		doc := strings.Replace(latencyLayout, `{latencyTarget: 20s, throughputPerThread: "1.5"}`, tc.goal, 1)
		_, err := layout.Parse([]byte(doc))
		require.Error(t, err, tc.goal)
		assert.Regexp(t, `line \d+: `+regexp.QuoteMeta(tc.want), err.Error())
	}
}
