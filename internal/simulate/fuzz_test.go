package simulate_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/simulate"
)

// FuzzTrace feeds the CSV trace parser arbitrary bytes and, when it accepts a short trace,
// simulates it through the split preset: no panic, no allocation beyond the bounds, every job
// accounted for, and a written trace reads back the same. The corpus is in
// testdata/fuzz/FuzzTrace (regressions of issue 15 among the seeds).
func FuzzTrace(f *testing.F) {
	for _, seed := range []string{
		"time,queue,enqueued,service_seconds\n0,default,3,0.2\n0,default,1,0.6\n2,push,5\n1,@redis-down,1\n",
		"0,default,100,12\n199,default,0\n",
		"0,default,1,1e20\n",
		"0,default,2147483647\n0,default,2147483647\n0,default,10\n",
		"0,mailers,2\n30,@redis-down,1\n90,mailers,1,0.01\n",
	} {
		f.Add([]byte(seed))
	}
	l := load(f, "split")
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := simulate.ParseCSV("fuzz.csv", bytes.NewReader(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.csv") && !strings.HasPrefix(err.Error(), "reading fuzz.csv") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		var csv bytes.Buffer
		if err := simulate.WriteCSV(&csv, tr); err != nil {
			t.Fatal(err)
		}
		back, err := simulate.ParseCSV("back.csv", &csv)
		if err != nil || back.Seconds != tr.Seconds || back.Jobs() != tr.Jobs() {
			t.Fatalf("round trip: %v, %d/%d seconds, %d/%d jobs", err, back.Seconds, tr.Seconds, back.Jobs(), tr.Jobs())
		}
		if tr.Seconds > 600 || tr.Jobs() > 100_000 {
			return // the simulation of long traces is the benchmarks' business
		}
		r, err := simulate.Run("split", l, tr, simulate.Options{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		var started int64
		for _, w := range r.Workers {
			started += w.Jobs
		}
		var unconsumed int64
		for _, u := range r.Unconsumed {
			unconsumed += u.Jobs
		}
		if started+unconsumed < tr.Jobs() {
			t.Fatalf("%d jobs in the trace, %d started or left and %d unconsumed", tr.Jobs(), started, unconsumed)
		}
	})
}
