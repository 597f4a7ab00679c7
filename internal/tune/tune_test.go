package tune_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/simulate"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/internal/tune"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func trace(t testing.TB, name string, seconds int, seed uint64) *simulate.Trace {
	t.Helper()
	tr, err := simulate.Generate(name, seconds, seed)
	require.NoError(t, err)
	return tr
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testutil.Golden(t, filepath.Join("testdata", name), got)
}

// The seed example's viral trace: tune, starting from the hand-tuned layout of
// internal/simulate/testdata (which misses p99 <= 30 s), finds a layout that meets the goal on
// the trace and on another draw of it, with fewer pod-minutes, within the Postgres budget; the
// edited document, read back, is the layout that was simulated.
func TestViralBeatsHandTuned(t *testing.T) {
	input, err := os.ReadFile("../simulate/testdata/tuned.yaml")
	require.NoError(t, err)
	l, err := layout.Parse(input)
	require.NoError(t, err)
	r, err := tune.Search(l, trace(t, "viral", 0, 1), tune.Options{
		Sim: simulate.Options{Seed: 1}, Verify: trace(t, "viral", 0, 2), VerifyLabel: "the viral trace drawn with seed 2"})
	require.NoError(t, err)

	assert.Greater(t, r.Before.P99, 30.0, "the hand-tuned layout misses the goal: the test would prove nothing")
	assert.Less(t, r.After.PodMinutes, r.Before.PodMinutes, "fewer pod-minutes than the hand-tuned layout")
	for _, run := range []*simulate.Result{r.After, r.Verify} {
		for _, w := range run.Workers {
			assert.LessOrEqual(t, w.P99, w.Goal, "%s: worker %s meets its goal", run.Trace, w.Name)
		}
	}
	assert.Empty(t, r.VerifyMisses())
	assert.LessOrEqual(t, r.After.PeakConnections, int64(l.Spec.Database.MaxConnections))

	edited, err := r.Edit(input)
	require.NoError(t, err)
	back, err := layout.Parse(edited)
	require.NoError(t, err, "the tuned layout parses")
	d, report := layout.Prepare(back)
	require.False(t, report.HasErrors(), "the tuned layout is valid: %v", report.Err())
	again, err := simulate.Run("tuned", d, trace(t, "viral", 0, 1), simulate.Options{Seed: 1})
	require.NoError(t, err)
	assert.Equal(t, r.After.PodMinutes, again.PodMinutes, "the document written is the layout simulated")
	assert.Equal(t, r.After.P99, again.P99)
	resolved, _, err := layout.Resolve(back)
	require.NoError(t, err)
	budget := layout.ConnectionBudget(resolved.Workers, resolved.Database)
	assert.True(t, budget.Fits(), "within max_connections at max replicas:\n%s", budget)

	var text bytes.Buffer
	require.NoError(t, r.WriteText(&text))
	golden(t, "viral.txt", elapsed.ReplaceAll(text.Bytes(), []byte("in (elapsed)")))
	golden(t, "viral-tuned.yaml", edited)
}

var elapsed = regexp.MustCompile(`in [0-9.]+ s`)

// Comments, anchors' targets and the workers tune does not change stay as written.
func TestEditKeepsTheRest(t *testing.T) {
	input, err := os.ReadFile("../simulate/testdata/tuned.yaml")
	require.NoError(t, err)
	l, err := layout.Parse(input)
	require.NoError(t, err)
	r, err := tune.Search(l, trace(t, "viral", 5400, 1), tune.Options{Sim: simulate.Options{Seed: 1}})
	require.NoError(t, err)
	edited, err := r.Edit(input)
	require.NoError(t, err)
	for _, line := range []string{
		"# The split preset tuned with what `mastoscale simulate --trace viral` shows:",
		"  database: {maxConnections: 800, reserved: 60}",
		"  - name: scheduler\n    concurrency: 5\n    replicas: 1\n    queues: [{name: scheduler}]\n",
		"    queues: [{name: push, weight: 6}, {name: pull, weight: 1}, {name: fasp, weight: 1}]",
	} {
		assert.Contains(t, string(edited), line)
	}
	assert.Regexp(t, `maxReplicas: \d+ # tuned: was 8\n`, string(edited))
	assert.NotContains(t, string(edited), "*fast", "an expanded alias is each worker's own")
}

// Tuning is deterministic for a seed.
func TestDeterministic(t *testing.T) {
	l, err := layout.Load("../simulate/testdata/tuned.yaml")
	require.NoError(t, err)
	tr := trace(t, "viral", 5400, 3)
	var outs [2]string
	for i := range outs {
		r, err := tune.Search(l, tr, tune.Options{Sim: simulate.Options{Seed: 3}})
		require.NoError(t, err)
		var b bytes.Buffer
		require.NoError(t, r.WriteText(&b))
		outs[i] = elapsed.ReplaceAllString(b.String(), "")
	}
	assert.Equal(t, outs[0], outs[1])
}

// others completes a test layout with the queues it does not tune: 10 connections.
const others = `  - {name: others, replicas: 1, concurrency: 5, queues: [{name: push}, {name: mailers}, {name: pull}, {name: fasp}]}
  - {name: scheduler, replicas: 1, concurrency: 5, queues: [{name: scheduler}]}`

// A goal no layout within the budget meets is refused, naming the binding constraint.
func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, layout, want string
	}{
		{"budget below the peak", `spec:
  database: {maxConnections: 155, reserved: 60}
  workers:
  - {name: default, queues: [{name: default}], autoscale: {latencyTarget: 30s}}
  - {name: ingress, replicas: 1, queues: [{name: ingress}]}`,
			`spec.workers\[0\] \(default\): keeping waits under p99 30s needs \d+ threads at the trace's peak even with instant start-up, over the 60 connections the Postgres budget leaves it`},
		{"arrival rate over the capacity", `spec:
  database: {maxConnections: 100, reserved: 60}
  workers:
  - {name: default, queues: [{name: default}], autoscale: {latencyTarget: 30s}}
  - {name: ingress, replicas: 1, queues: [{name: ingress}]}`,
			`spec.workers\[0\] \(default\): the trace's arrival rate needs \d+ threads on average, over the 5 connections`},
		{"nothing left for tuned workers", `spec:
  database: {maxConnections: 90, reserved: 60}
  workers:
  - {name: default, queues: [{name: default}], autoscale: {}}
  - {name: ingress, replicas: 1, queues: [{name: ingress}]}`,
			`spec.database: maxConnections 90 less reserved 60 and the 35 connections of the workers tune does not change leave -5 for the autoscaled workers`},
		{"no budget", `spec:
  workers:
  - {name: default, queues: [{name: default}], autoscale: {}}
  - {name: ingress, replicas: 1, queues: [{name: ingress}]}`,
			`spec.database.maxConnections: tune needs the Postgres budget`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := layout.Parse([]byte("apiVersion: mastoscale.dev/v1alpha1\nkind: SidekiqLayout\n" + tc.layout + "\n" + others))
			require.NoError(t, err)
			_, err = tune.Search(l, trace(t, "viral", 5400, 1), tune.Options{Sim: simulate.Options{Seed: 1}})
			require.Error(t, err)
			assert.Regexp(t, tc.want, err.Error())
		})
	}
}

// A budget too tight for every worker's cheapest winner makes tune trade pod-minutes for
// connections: the combination fits.
func TestBudgetBinds(t *testing.T) {
	doc := `apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
spec:
  database: {maxConnections: %d, reserved: 0}
  workers:
  - {name: default, queues: [{name: default}], autoscale: {}}
  - {name: ingress, queues: [{name: ingress}], autoscale: {}}
` + others
	tr := trace(t, "viral", 5400, 1)
	run := func(budget int) *tune.Result {
		l, err := layout.Parse([]byte(strings.Replace(doc, "%d", itoa(budget), 1)))
		require.NoError(t, err)
		r, err := tune.Search(l, tr, tune.Options{Sim: simulate.Options{Seed: 1}})
		require.NoError(t, err)
		return r
	}
	loose := run(100000)
	var need int64
	for _, w := range loose.Workers {
		need += w.After.Connections
	}
	tight := run(int(need) - 20)
	var used int64
	for _, w := range tight.Workers {
		used += w.After.Connections
		if w.Tuned {
			assert.True(t, w.After.Meets, "%s meets its goal", w.Name)
		}
	}
	assert.LessOrEqual(t, used, need-20)
	assert.GreaterOrEqual(t, tight.After.PodMinutes, loose.After.PodMinutes)
}

func itoa(n int) string { return strconv.Itoa(n) }

// A goal shorter than a pod's start-up is met by keeping the trace's peak up: minReplicas
// rises to what the oracle's peak needs.
func TestGoalUnderStartup(t *testing.T) {
	l, err := layout.Parse([]byte(`apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
spec:
  database: {maxConnections: 100000, reserved: 60}
  workers:
  - {name: default, queues: [{name: default}], autoscale: {latencyTarget: 2s}}
  - {name: ingress, replicas: 1, queues: [{name: ingress}]}
` + others))
	require.NoError(t, err)
	r, err := tune.Search(l, trace(t, "viral", 5400, 1), tune.Options{Sim: simulate.Options{Seed: 1}})
	require.NoError(t, err)
	w := r.Workers[0]
	assert.LessOrEqual(t, w.After.P99, 2.0)
	assert.Greater(t, w.After.Knobs.MinReplicas, w.Before.Knobs.MinReplicas)
}

// BenchmarkTune tunes the split preset on a 24 h diurnal trace and reports the candidates
// simulated per second (all cores).
func BenchmarkTune(b *testing.B) {
	l, err := layout.Preset(layout.PresetSplit, layout.DefaultMastodonVersion)
	require.NoError(b, err)
	tr := trace(b, "diurnal", 86400, 1)
	var candidates int64
	for b.Loop() {
		r, err := tune.Search(l, tr, tune.Options{Sim: simulate.Options{Seed: 1}, MaxConnections: 800, Reserved: 60})
		if err != nil {
			b.Fatal(err)
		}
		candidates += r.Candidates
	}
	b.ReportMetric(float64(candidates)/b.Elapsed().Seconds(), "candidates/s")
	b.ReportMetric(float64(candidates)/float64(b.N), "candidates/op")
}

// --max-concurrency keeps the threads per process at or under the bound.
func TestMaxConcurrency(t *testing.T) {
	l, err := layout.Load("../simulate/testdata/tuned.yaml")
	require.NoError(t, err)
	r, err := tune.Search(l, trace(t, "viral", 5400, 1), tune.Options{Sim: simulate.Options{Seed: 1}, MaxConcurrency: 20})
	require.NoError(t, err)
	for _, w := range r.Workers {
		if w.Tuned {
			assert.LessOrEqual(t, w.After.Knobs.Concurrency, int32(25), "%s: 20 or its own 25", w.Name)
			for _, e := range w.Front {
				assert.Contains(t, []int32{5, 10, 15, 20, 25}, e.Knobs.Concurrency)
			}
		}
	}
}

// Where the input already meets its goals at the least pod-minutes, tune changes nothing: a
// quiet trace does not take the headroom (maxReplicas, concurrency) away.
func TestQuietTraceChangesNothing(t *testing.T) {
	l, err := layout.Preset(layout.PresetSplit, layout.DefaultMastodonVersion)
	require.NoError(t, err)
	r, err := tune.Search(l, trace(t, "steady", 3600, 1), tune.Options{Sim: simulate.Options{Seed: 1}, MaxConnections: 800, Reserved: 60})
	require.NoError(t, err)
	for _, w := range r.Workers {
		assert.Equal(t, w.Before.Knobs, w.After.Knobs, w.Name)
	}
	var b bytes.Buffer
	require.NoError(t, r.WriteText(&b))
	assert.Equal(t, 4, strings.Count(b.String(), "nothing: the input is the cheapest found"), b.String())
}

// An input over its budget is tuned to fit it with the fewest changes, not to the fewest
// connections: here two workers lose maxReplicas, the others stay as written.
func TestOverBudgetFitsWithFewestChanges(t *testing.T) {
	l, err := layout.Preset(layout.PresetSplit, layout.DefaultMastodonVersion)
	require.NoError(t, err)
	// split at max replicas: 4 workers x 4 x 25 = 400, and the scheduler 1 x 5; 400 - 100 - 5 = 295.
	r, err := tune.Search(l, trace(t, "steady", 3600, 1), tune.Options{Sim: simulate.Options{Seed: 1}, MaxConnections: 400, Reserved: 100})
	require.NoError(t, err)
	var used int64
	changes := 0
	for _, w := range r.Workers {
		used += w.After.Connections
		if w.Tuned && w.After.Knobs != w.Before.Knobs {
			changes++
		}
	}
	assert.LessOrEqual(t, used, r.Budget)
	assert.Equal(t, 2, changes, "two workers at one replica fit 295; one does not")
	var b bytes.Buffer
	require.NoError(t, r.WriteText(&b))
	assert.Contains(t, b.String(), "the input's tuned workers hold 400 connections at max replicas, over the budget's 295")
}
