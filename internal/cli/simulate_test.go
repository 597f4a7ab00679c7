package cli_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/cli"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Run(args, cli.Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	return out.String(), errOut.String(), code
}

func TestPlanAndSimulateCommands(t *testing.T) {
	seed := filepath.Join(testutil.RepoRoot(t), "examples", "seed.yaml")
	cases := []struct {
		name   string
		args   []string
		golden string
		code   int
	}{
		{"plan the seed", []string{"plan", "-f", seed, "--worker", "worker-default", "--peak", "180"}, "plan-seed.txt", 0},
		{"plan slower jobs", []string{"plan", "-f", seed, "--worker", "worker-default", "--throughput-per-thread", "1", "--peak", "180"}, "plan-seed-slow.txt", 0},
		{"plan a layout with latency goals", []string{"plan", "-f", filepath.Join(testutil.RepoRoot(t), "internal", "simulate", "testdata", "tuned.yaml"), "--worker", "ingress", "--peak", "300"}, "plan-tuned.txt", 0},
		{"simulate flood", []string{"simulate", "--preset", "split", "--trace", "flood", "--duration", "2h"}, "simulate-flood.txt", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, code := run(t, c.args...)
			assert.Equal(t, c.code, code, errOut)
			out = strings.ReplaceAll(out, testutil.RepoRoot(t)+string(filepath.Separator), "")
			testutil.Golden(t, filepath.Join("testdata", c.golden), []byte(out))
		})
	}
}

func TestSimulateCompareAndPlot(t *testing.T) {
	seed := filepath.Join(testutil.RepoRoot(t), "examples", "seed.yaml")
	svg := filepath.Join(t.TempDir(), "x.svg")
	out, errOut, code := run(t, "simulate", "--preset", "split", "--trace", "viral", "--compare", seed, "--plot", svg)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "p99 wait")
	assert.Contains(t, out, "oracle pod-minutes")
	assert.Contains(t, out, "plot written to "+svg)
	data, err := os.ReadFile(svg)
	require.NoError(t, err)
	dec := xml.NewDecoder(bytes.NewReader(data))
	for {
		_, err := dec.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err, "the SVG parses")
	}
}

// The trace commands (simulate, plan, tune) refuse bad flags and layouts with exit code 1 and a
// message naming the flag or field.
func TestSimulateErrors(t *testing.T) {
	for args, want := range map[string]string{
		"simulate --trace tsunami":                                             `unknown trace "tsunami"`,
		"simulate --trace /nonexistent/t.csv":                                  "reading trace",
		"simulate --service push=fast":                                         `--service: "push=fast" must be queue=seconds`,
		"plan --peak lots":                                                     `--peak: "lots" must be a positive jobs/s`,
		"plan --preset split --worker nobody":                                  `worker "nobody" is not an autoscaled worker`,
		"tune --trace viral --duration 10m":                                    "spec.database.maxConnections: tune needs the Postgres budget",
		"tune --trace viral --duration 10m --max-connections 100 -o xml":       `--output "xml": use text, json or yaml`,
		"tune --trace viral --duration 10m --max-connections 60 --reserved 60": "spec.database.reserved: Invalid value: 60: leaves no connections for Sidekiq under maxConnections (60)",
	} {
		_, errOut, code := run(t, strings.Fields(args)...)
		assert.Equal(t, 1, code, args)
		assert.Contains(t, errOut, want, args)
	}
}

func TestSimulateSavedTraceReplaysTheSame(t *testing.T) {
	csv := filepath.Join(t.TempDir(), "steady.csv")
	first, errOut, code := run(t, "simulate", "--trace", "steady", "--duration", "20m", "--save-trace", csv)
	require.Equal(t, 0, code, errOut)
	again, errOut, code := run(t, "simulate", "--trace", csv)
	require.Equal(t, 0, code, errOut)
	body := func(s string) string { return s[strings.Index(s, "\n"):] } // past the trace's name
	assert.Equal(t, body(first), body(again))
}
