package simulate_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/simulate"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// constant is a trace of n jobs a second on each queue for the given seconds.
func constant(seconds int, perQueue map[string]int64) *simulate.Trace {
	tr := &simulate.Trace{Name: "constant", Seconds: seconds, Queues: map[string]*simulate.QueueTrace{}}
	for q, n := range perQueue {
		e := make([]int64, seconds)
		for i := range e {
			e[i] = n
		}
		tr.Queues[q] = &simulate.QueueTrace{Enqueued: e}
	}
	return tr
}

// fixed is a layout of one worker with fixed replicas over queues (weights optional), with
// the scheduler on its own worker so that the layout is valid.
func fixed(t *testing.T, replicas int32, yamlQueues string) *layout.SidekiqLayout {
	t.Helper()
	doc := `apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
spec:
  workers:
  - name: main
    concurrency: 25
    replicas: ` + string(rune('0'+replicas)) + `
    queues: ` + yamlQueues + `
  - name: rest
    queues: [{name: push}, {name: mailers}, {name: pull}, {name: fasp}, {name: ingress}, {name: default}]
  - name: scheduler
    queues: [{name: scheduler}]
`
	// the main worker may take queues the rest also consumes: only warnings
	return prepared(t, doc)
}

// prepared parses a layout document and returns it defaulted, failing on any error.
func prepared(t *testing.T, doc string) *layout.SidekiqLayout {
	t.Helper()
	l, err := layout.Parse([]byte(doc))
	require.NoError(t, err)
	d, report := layout.Prepare(l)
	require.NoError(t, report.Err())
	return d
}

func TestSteadyLoadUnderCapacityStaysBounded(t *testing.T) {
	// One pod of 25 threads at 0.5 s a job serves 50 jobs/s; 40 arrive each second.
	l := fixed(t, 1, `[{name: default}]`)
	l.Spec.Workers[1].Queues = l.Spec.Workers[1].Queues[:5] // rest without default
	r, err := simulate.Run("steady", l, constant(3600, map[string]int64{"default": 40}), simulate.Options{})
	require.NoError(t, err)
	w := r.Workers[0]
	assert.Equal(t, int64(40*3600), w.Jobs)
	assert.Zero(t, w.Left)
	assert.LessOrEqual(t, w.Max, 1.0, "under capacity every job starts within the second it arrives")
	assert.Zero(t, w.SecondsOverGoal)
	assert.InDelta(t, 60.0, w.PodMinutes, 1e-9, "one pod for an hour")
	assert.Equal(t, int64(25), w.PeakConnections)
	// 20 thread-seconds of work a second on 25 threads: the oracle runs a pod 4 seconds in 5.
	// Work due after the trace ends (the last goal + service - 1 = 30 s) is not charged.
	assert.InDelta(t, 0.8*(3600-30)/60, w.Oracle.PodMinutes, 1e-9)
}

func TestOverCapacityBacklogGrowsByArrivalMinusService(t *testing.T) {
	// 60 jobs/s against 50 jobs/s of service: the backlog grows by 10 jobs a second.
	l := fixed(t, 1, `[{name: default}]`)
	l.Spec.Workers[1].Queues = l.Spec.Workers[1].Queues[:5]
	const seconds = 1200
	r, err := simulate.Run("over", l, constant(seconds, map[string]int64{"default": 60}), simulate.Options{})
	require.NoError(t, err)
	w := r.Workers[0]
	assert.Equal(t, int64(10*seconds), w.Left, "arrival - service = 10 jobs/s for %d s", seconds)
	assert.Equal(t, float32(10*seconds), w.Depth[seconds-1])
	// The job enqueued at second s waits behind 10 s of backlog per 50 s... at the end it is
	// (60-50)/60 of the elapsed time: 10 s of backlog per minute.
	assert.InDelta(t, float64(seconds)*10/60, float64(w.Latency[seconds-1]), 1.5)
	assert.Positive(t, w.SecondsOverGoal)
}

func TestStrictOrderStarvesLaterQueues(t *testing.T) {
	// Unweighted queues are fetched strictly in order: pull is never served while push has a
	// backlog, so its first job waits to the end.
	strict := fixed(t, 1, `[{name: push}, {name: pull}]`)
	r, err := simulate.Run("strict", strict, constant(600, map[string]int64{"push": 100, "pull": 100}), simulate.Options{Service: map[string]float64{"pull": 0.5}})
	require.NoError(t, err)
	assert.Equal(t, int64(0), r.Workers[0].Started[1])
	assert.InDelta(t, 600.0, r.Workers[0].Max, 1.0)
}

func TestWeightedShare(t *testing.T) {
	// Both queues always backlogged: Sidekiq's shuffled, weighted order serves each in
	// proportion to its weight.
	for _, c := range []struct {
		queues   string
		pushFrac float64
	}{
		{`[{name: push, weight: 3}, {name: pull, weight: 1}]`, 0.75},
		{`[{name: push, weight: 1}, {name: pull, weight: 1}]`, 0.5},
		{`[{name: push, weight: 6}, {name: pull}]`, 6.0 / 7},
	} {
		l := fixed(t, 1, c.queues)
		r, err := simulate.Run("share", l, constant(400, map[string]int64{"push": 100, "pull": 100}), simulate.Options{Seed: 3, Service: map[string]float64{"pull": 0.5}})
		require.NoError(t, err)
		s := r.Workers[0].Started
		assert.InDelta(t, float64(50*400), float64(s[0]+s[1]), 50, "one pod: 50 jobs/s")
		assert.InDelta(t, c.pushFrac, float64(s[0])/float64(s[0]+s[1]), 0.02, c.queues)
	}
}

func load(t testing.TB, name string) *layout.SidekiqLayout {
	t.Helper()
	var l *layout.SidekiqLayout
	var err error
	if name == "split" {
		l, err = layout.Preset(layout.PresetSplit, layout.DefaultMastodonVersion)
	} else {
		l, err = layout.Load(name)
	}
	require.NoError(t, err)
	d, report := layout.Prepare(l)
	require.False(t, report.HasErrors(), "%v", report.Err())
	return d
}

func TestDeterministicWithSeed(t *testing.T) {
	run := func(seed uint64) string {
		tr, err := simulate.Generate("viral", 5400, seed)
		require.NoError(t, err)
		r, err := simulate.Run("split", load(t, "split"), tr, simulate.Options{Seed: seed})
		require.NoError(t, err)
		var b bytes.Buffer
		require.NoError(t, simulate.WriteText(&b, r))
		return b.String()
	}
	a := run(42)
	assert.Equal(t, a, run(42), "the same seed gives the same run")
	assert.NotEqual(t, a, run(43), "another seed another trace")
}

func TestOracleIsALowerBound(t *testing.T) {
	tr, err := simulate.Generate("viral", 0, 1)
	require.NoError(t, err)
	for _, name := range []string{"split", "../../examples/seed.yaml"} {
		r, err := simulate.Run(name, load(t, name), tr, simulate.Options{Seed: 1})
		require.NoError(t, err)
		for _, w := range r.Workers {
			assert.LessOrEqual(t, w.Oracle.PodMinutes, w.PodMinutes, "%s %s", name, w.Name)
		}
	}
	// Exactly one pod's worth of work each second needs exactly one pod each second.
	exact := constant(600, map[string]int64{"default": 50})
	o := simulate.Oracle(exact, []string{"default"}, []float64{0.5}, 25, 30)
	assert.InDelta(t, float64(600-30)/60, o.PodMinutes, 1e-9, "work due after the end is not charged")
	assert.Equal(t, int32(1), o.PeakPods)
}

func TestGoldenViral(t *testing.T) {
	tr, err := simulate.Generate("viral", 0, 1)
	require.NoError(t, err)
	a, err := simulate.Run("preset split", load(t, "split"), tr, simulate.Options{Seed: 1})
	require.NoError(t, err)
	b, err := simulate.Run("../../examples/seed.yaml", load(t, "../../examples/seed.yaml"), tr, simulate.Options{Seed: 1})
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, simulate.WriteText(&out, a, b))
	testutil.Golden(t, "testdata/viral.txt", out.Bytes())

	var svg bytes.Buffer
	require.NoError(t, simulate.PlotSVG(&svg, a, b))
	assertSVG(t, svg.Bytes())

	// The tuned layout scales up like the HPA's default and to 8 replicas: p99 falls from
	// minutes to under a minute (the 45 s start-up) for a few more pod-minutes.
	c, err := simulate.Run("testdata/tuned.yaml", load(t, "testdata/tuned.yaml"), tr, simulate.Options{Seed: 1})
	require.NoError(t, err)
	out.Reset()
	require.NoError(t, simulate.WriteText(&out, a, c))
	testutil.Golden(t, "testdata/viral-tuned.txt", out.Bytes())
	assert.Less(t, c.P99, 60.0)
	assert.Greater(t, a.P99, 600.0)
}

// assertSVG checks that data is well-formed XML with an <svg> root and some drawing in it.
func assertSVG(t *testing.T, data []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	var root string
	paths := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		if se, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = se.Name.Local
			}
			if se.Name.Local == "path" {
				paths++
			}
		}
	}
	assert.Equal(t, "svg", root)
	assert.Greater(t, paths, 20, "the panels draw lines")
	assert.Contains(t, string(data), "Jobs queued")
}

func TestCSVRoundTrip(t *testing.T) {
	tr, err := simulate.Generate("flood", 4000, 5)
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, simulate.WriteCSV(&b, tr))
	back, err := simulate.ParseCSV("flood.csv", &b)
	require.NoError(t, err)
	assert.Equal(t, tr.Seconds, back.Seconds)
	assert.Equal(t, tr.Jobs(), back.Jobs())
	assert.Equal(t, tr.Queues["ingress"].Enqueued, back.Queues["ingress"].Enqueued)
	assert.Equal(t, tr.Outage, back.Outage)
}

func TestParseCSV(t *testing.T) {
	tr, err := simulate.ParseCSV("t.csv", strings.NewReader("time,queue,enqueued,service_seconds\n0,default,3,0.2\n0,default,1,0.6\n2,push,5\n1,@redis-down,1\n"))
	require.NoError(t, err)
	assert.Equal(t, 3, tr.Seconds)
	assert.Equal(t, []int64{4, 0, 0}, tr.Queues["default"].Enqueued)
	assert.InDelta(t, 0.3, tr.Queues["default"].Service[0], 1e-6, "weighted by jobs: (3x0.2 + 1x0.6) / 4")
	assert.Equal(t, []bool{false, true, false}, tr.Outage)

	for in, want := range map[string]string{
		"0,default":        "t.csv:1: want time,queue,enqueued[,service_seconds], got 2 fields",
		"-1,default,3":     "t.csv:1: time \"-1\" must be whole seconds",
		"0,default,many":   "t.csv:1: enqueued \"many\" must be a count",
		"0,default,1,-0.5": "t.csv:1: service_seconds \"-0.5\" must be a number of seconds from 0.001",
		"":                 "t.csv: the trace has no rows",
	} {
		_, err := simulate.ParseCSV("t.csv", strings.NewReader(in))
		assert.ErrorContains(t, err, want, in)
	}
}

func TestRedisOutageFallsBack(t *testing.T) {
	tr, err := simulate.Generate("flood", 0, 1)
	require.NoError(t, err)
	r, err := simulate.Run("split", load(t, "split"), tr, simulate.Options{Seed: 1})
	require.NoError(t, err)
	mailers := r.Workers[3]
	require.Equal(t, "mailers", mailers.Name)
	// Mailers sit at one pod. Redis goes down at 3600: the HPA's reads at 3600, 3615 and 3630
	// fail (no recommendation), the fourth (3645) is past failureThreshold 3 and KEDA answers
	// fallback.replicas x listLength, so the HPA wants 2. The seed's 300 s scale-up window
	// still holds the last recommendation of 1 (t=3585) until 3885.
	assert.Equal(t, float32(1), mailers.Pods[3884])
	assert.Equal(t, float32(2), mailers.Pods[3885])
}

func TestScaleInLetsRunningJobsFinish(t *testing.T) {
	// 100 jobs at t=0 on a worker of 1..2 pods that scales at once both ways, pods ready at
	// once. Both pods take 25 jobs each at t=0/1; the other 50 start when those end.
	doc := `apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
spec:
  workers:
  - name: default
    queues: [{name: default}]
    autoscale:
      minReplicas: 1
      maxReplicas: 2
      listLength: 10
      behavior:
        scaleUp: {stabilizationWindowSeconds: 0}
        scaleDown: {stabilizationWindowSeconds: 0}
  - name: rest
    queues: [{name: push}, {name: mailers}, {name: pull}, {name: fasp}, {name: ingress}, {name: scheduler}]
`
	d := prepared(t, doc)
	burst := func(service string) *simulate.Trace {
		tr, err := simulate.ParseCSV("burst.csv", strings.NewReader("0,default,100,"+service+"\n199,default,0\n"))
		require.NoError(t, err)
		return tr
	}

	// 20 s jobs: the second batch runs 20/21..40/41; the HPA sees an empty queue at 30 and
	// scales to 1. The stopped pod's jobs end within Sidekiq's 25 s: it exits at 41.
	r, err := simulate.Run("short", d, burst("20"), simulate.Options{StartupSeconds: -1})
	require.NoError(t, err)
	w := r.Workers[0]
	assert.Equal(t, float32(2), w.Pods[40], "the stopping pod finishes its jobs")
	assert.Equal(t, float32(1), w.Pods[41])
	assert.Zero(t, w.Requeued)
	assert.Equal(t, int64(100), w.Jobs)

	// 40 s jobs, longer than Sidekiq's -t of 25 s: a trap the simulation shows. The second
	// batch runs 40/41..80/81; at 45 the queue is empty and the HPA scales in. The stopped
	// pod's 25 jobs are still running at 45 + 25 = 70: Sidekiq pushes them back. At 75 the
	// HPA sees them and adds a pod, which runs them 76..116; at 90 the queue is empty again,
	// the new pod is stopped and at 115 they are pushed back once more, to start on the first
	// pod at 115.
	r, err = simulate.Run("long", d, burst("40"), simulate.Options{StartupSeconds: -1})
	require.NoError(t, err)
	w = r.Workers[0]
	assert.Equal(t, int64(50), w.Requeued, "the same 25 jobs, twice")
	assert.Equal(t, []float32{2, 1, 1, 1, 1, 1, 2}, w.Pods[69:76], "killed at -t, then a new pod")
	assert.Equal(t, []float32{2, 1}, w.Pods[114:116])
	assert.Equal(t, int64(100), w.Jobs, "each job's wait counts once, from its last start")
	assert.Zero(t, w.Left)
	assert.InDelta(t, 115.0, w.Max, 0.5)
}

func TestKEDAActivationAndCooldown(t *testing.T) {
	// A worker that may sleep: KEDA wakes it (0 -> 1) when a poll sees more than
	// activationListLength jobs, and puts it back to zero cooldownPeriod after the last poll
	// that saw it active. The HPA only acts between 1 and max.
	doc := `apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
spec:
  workers:
  - name: mailers
    queues: [{name: mailers}]
    autoscale: {minReplicas: 0, maxReplicas: 2, activationListLength: 10, pollingInterval: 30, cooldownPeriod: 300}
  - name: rest
    queues: [{name: push}, {name: default}, {name: pull}, {name: fasp}, {name: ingress}, {name: scheduler}]
`
	d := prepared(t, doc)
	csv := "0,mailers,50\n" + // wakes the worker at the t=0 poll; ready at 45
		"500,mailers,5\n" + // asleep by then, and 5 is not above activationListLength 10
		"1000,mailers,20\n" + // wakes it at the t=1020 poll
		"1499,mailers,0\n"
	tr, err := simulate.ParseCSV("mail.csv", strings.NewReader(csv))
	require.NoError(t, err)
	r, err := simulate.Run("sleepy", d, tr, simulate.Options{})
	require.NoError(t, err)
	w := r.Workers[0]
	assert.Equal(t, float32(1), w.Pods[0], "woken at the first poll")
	// The 50 jobs take two seconds from 45 on; the last poll that sees them is at 30, so the
	// cooldown ends at the first poll at or after 330.
	assert.Equal(t, float32(1), w.Pods[329])
	assert.Equal(t, float32(0), w.Pods[330], "scaled to zero after the cooldown")
	assert.Equal(t, float32(0), w.Pods[1019], "5 jobs did not wake it")
	assert.Equal(t, float32(1), w.Pods[1020])
	assert.InDelta(t, 1065-500, w.Max, 0.5, "the 5 jobs of t=500 wait for the pod woken at 1020 to start (45 s)")
}

// TestLatencyTriggerScalesWhatQueueLengthMisses: with a listLength far above the backlog the
// redis trigger never asks for a second pod, however long jobs wait; the latency trigger
// (a Value metric on the oldest job's age) does.
func TestLatencyTriggerScalesWhatQueueLengthMisses(t *testing.T) {
	run := func(trigger string) simulate.WorkerResult {
		doc := `apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
spec:
  workers:
  - name: main
    queues: [{name: default}]
    autoscale:
      maxReplicas: 6
      listLength: 100000
      latencyTarget: 30s` + trigger + `
      behavior: {scaleUp: {stabilizationWindowSeconds: 0, policies: [{type: Pods, value: 2, periodSeconds: 15}]}}
  - name: rest
    queues: [{name: push}, {name: mailers}, {name: pull}, {name: fasp}, {name: ingress}, {name: scheduler}]
`
		d := prepared(t, doc)
		// 60 jobs/s against one pod's 50 jobs/s (25 threads, 0.5 s a job).
		r, err := simulate.Run("latency", d, constant(1800, map[string]int64{"default": 60}), simulate.Options{})
		require.NoError(t, err)
		return r.Workers[0]
	}
	without := run("")
	with := run("\n      latencyTrigger: {exporter: mastodon, serverAddress: \"http://prometheus:9090\"}")
	assert.Equal(t, int32(1), without.PeakReplicas, "the backlog never reaches listLength")
	assert.Greater(t, with.PeakReplicas, int32(1), "the latency trigger adds pods once jobs wait past the goal")
	assert.Less(t, with.SecondsOverGoal, without.SecondsOverGoal)
	assert.Less(t, with.Max, without.Max)
}
