package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tune on a preset with the budget given by flags: the layout on stdout (-o yaml) and in
// --out is valid and carries the tuned fields; -o json says what it gained; --plot writes SVG.
func TestTuneCommand(t *testing.T) {
	dir := t.TempDir()
	args := []string{"tune", "--preset", "split", "--trace", "viral", "--duration", "90m",
		"--max-connections", "800", "--reserved", "60"}
	out, errOut, code := run(t, append(args, "-o", "json", "--out", filepath.Join(dir, "tuned.yaml"), "--plot", filepath.Join(dir, "t.svg"))...)
	require.Equal(t, 0, code, errOut)
	var got struct {
		AfterP99 float64  `json:"afterP99Seconds"`
		Misses   []string `json:"verifyMisses"`
		Workers  []struct {
			Name  string
			Tuned bool
			Front []json.RawMessage
		}
		Layout string
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.LessOrEqual(t, got.AfterP99, 30.0)
	assert.Empty(t, got.Misses)
	for _, w := range got.Workers {
		assert.Equal(t, w.Name != "scheduler", w.Tuned, w.Name)
		assert.Equal(t, w.Tuned, len(w.Front) > 0, w.Name)
	}
	l, err := layout.Parse([]byte(got.Layout))
	require.NoError(t, err, "-o yaml prints a layout:\n%s", out)
	_, report := layout.Prepare(l)
	assert.False(t, report.HasErrors(), "%v", report.Err())
	assert.Contains(t, got.Layout, "# tuned: was 4", "a tuned maxReplicas says what it was")
	written, err := os.ReadFile(filepath.Join(dir, "tuned.yaml"))
	require.NoError(t, err)
	assert.Equal(t, got.Layout, string(written))
	svg, err := os.ReadFile(filepath.Join(dir, "t.svg"))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(svg), "<?xml") && strings.Count(string(svg), "<svg") == 3, "one SVG holding the fronts and the day")

	// -o yaml prints the layout alone.
	out, errOut, code = run(t, "tune", "--preset", "split", "--trace", "steady", "--duration", "20m", "--max-connections", "800", "-o", "yaml")
	require.Equal(t, 0, code, errOut)
	_, err = layout.Parse([]byte(out))
	require.NoError(t, err, out)
}

// A recorded trace (the CSV status --record and simulate --save-trace write) tunes like a
// built-in one; the winner is re-run on it with the next Sidekiq seed.
func TestTuneRecordedTrace(t *testing.T) {
	csv := filepath.Join(t.TempDir(), "day.csv")
	_, errOut, code := run(t, "simulate", "--trace", "viral", "--duration", "80m", "--save-trace", csv)
	require.Equal(t, 0, code, errOut)
	out, errOut, code := run(t, "tune", "--preset", "split", "--trace", csv, "--max-connections", "800", "--reserved", "60")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "re-simulated on the same trace with Sidekiq's queue-order seed 2")
	assert.Contains(t, out, "push-pull: Pareto front of")
	assert.Contains(t, out, "(the tuned layout: --out FILE, or -o yaml)")
}
