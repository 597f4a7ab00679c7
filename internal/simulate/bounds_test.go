package simulate_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mastoscale/mastoscale/internal/simulate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Issue 15 items 2-4: hostile traces are refused with the row and field, before allocating.
func TestParseCSVRefusesBeyondTheBounds(t *testing.T) {
	var wide strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&wide, "0,q%d,1\n", i)
	}
	wide.WriteString("2678399,q0,1\n")
	for in, want := range map[string]string{
		"0,default,1,1e20":             "t.csv:1: service_seconds \"1e20\" must be a number of seconds from 0.001 to 86400",
		"0,default,1,1e300":            "t.csv:1: service_seconds \"1e300\"",
		"0,default,1,1e12":             "t.csv:1: service_seconds \"1e12\"",
		"0,default,1,NaN":              "t.csv:1: service_seconds \"NaN\"",
		"0,default,1,Inf":              "t.csv:1: service_seconds \"Inf\"",
		"0,default,1,1e-300":           "t.csv:1: service_seconds \"1e-300\"",
		"0,default,9999999999":         "t.csv:1: enqueued \"9999999999\" must be a count of jobs, 0 to 1000000000",
		"0,a,600000000\n0,b,600000000": "t.csv:2: enqueued: the trace holds more than 1000000000 jobs",
		wide.String():                  "t.csv:3001: time, queue: 2678400 seconds x 3000 queues is more than 18748800 cells (MaxTraceCells)",
	} {
		_, err := simulate.ParseCSV("t.csv", strings.NewReader(in))
		assert.ErrorContains(t, err, want, in[:min(len(in), 40)])
	}
}

func TestPerSecondCountsDoNotOverflow(t *testing.T) {
	tr, err := simulate.ParseCSV("t.csv", strings.NewReader("0,default,500000000\n0,default,500000000\n0,default,10\n"))
	require.Error(t, err, "past MaxTraceJobs")
	tr, err = simulate.ParseCSV("t.csv", strings.NewReader("0,default,2147483647\n"))
	require.Error(t, err)
	tr, err = simulate.ParseCSV("t.csv", strings.NewReader("0,default,400000000\n0,default,400000000\n0,default,10\n1,default,0\n"))
	require.NoError(t, err)
	assert.Equal(t, int64(800000010), tr.Jobs())
	assert.Equal(t, []int64{800000010, 0}, tr.Queues["default"].Enqueued)
}

func TestRunRefusesBeyondTheBounds(t *testing.T) {
	l := load(t, "split")
	tr := constant(10, map[string]int64{"default": 1})
	tr.Queues["default"].Service = make([]float32, 10)
	tr.Queues["default"].Service[3] = float32(1e20)
	_, err := simulate.Run("split", l, tr, simulate.Options{})
	assert.ErrorContains(t, err, "queue default second 3: service time 1e+20 s is beyond 0.001 to 86400")

	tr = constant(10, map[string]int64{"default": 1})
	_, err = simulate.Run("split", l, tr, simulate.Options{Service: map[string]float64{"push": 1e12}})
	assert.ErrorContains(t, err, "service time of queue push: 1e+12 s is beyond")
	_, err = simulate.Run("split", l, tr, simulate.Options{LatencyGoal: 100000 * time.Hour})
	assert.ErrorContains(t, err, "spec.workers[0].autoscale.latencyTarget: a goal of 3.6e+08 s is beyond")

	huge := &simulate.Trace{Name: "huge", Seconds: simulate.MaxTraceSeconds + 1}
	_, err = simulate.Run("split", l, huge, simulate.Options{})
	assert.ErrorContains(t, err, "2678401 seconds is beyond 0 to 2678400")
}
