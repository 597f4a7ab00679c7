package tune_test

import (
	"os"
	"testing"

	"github.com/mastoscale/mastoscale/internal/simulate"
	"github.com/mastoscale/mastoscale/internal/tune"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/stretchr/testify/require"
)

func viral(t testing.TB, seed uint64) *simulate.Trace {
	tr, err := simulate.Generate("viral", 0, seed)
	require.NoError(t, err)
	return tr
}

func TestScratch(t *testing.T) {
	l, err := layout.Load("../simulate/testdata/tuned.yaml")
	require.NoError(t, err)
	r, err := tune.Search(l, viral(t, 1), tune.Options{Sim: simulate.Options{Seed: 1}, Verify: viral(t, 2)})
	require.NoError(t, err)
	t.Logf("candidates %d in %s", r.Candidates, r.Elapsed)
	for _, w := range r.Workers {
		t.Logf("%s tuned=%v before %+v after %+v front %d", w.Name, w.Tuned, w.Before, w.After, len(w.Front))
	}
	t.Logf("before %.0f after %.0f p99 %.1f verify %.0f p99 %.1f", r.Before.PodMinutes, r.After.PodMinutes, r.After.P99, r.Verify.PodMinutes, r.Verify.P99)
}

func TestScratchVerify(t *testing.T) {
	l, err := layout.Load("../simulate/testdata/tuned.yaml")
	require.NoError(t, err)
	d, _ := layout.Prepare(l)
	for _, s := range []uint64{1, 2, 3} {
		r, err := simulate.Run("x", d, viral(t, s), simulate.Options{Seed: s})
		require.NoError(t, err)
		t.Logf("seed %d jobs %d pm %.1f p99 %.2f %.2f %.2f", s, viral(t, s).Jobs(), r.PodMinutes, r.Workers[0].P99, r.Workers[1].P99, r.Workers[2].P99)
	}
}

func TestScratchEdit(t *testing.T) {
	data, err := os.ReadFile("../simulate/testdata/tuned.yaml")
	require.NoError(t, err)
	l, err := layout.Parse(data)
	require.NoError(t, err)
	tr, _ := simulate.Generate("viral", 3600, 1)
	r, err := tune.Search(l, tr, tune.Options{Sim: simulate.Options{Seed: 1}})
	require.NoError(t, err)
	out, err := r.Edit(data)
	require.NoError(t, err)
	t.Logf("\n%s", out)
}
