package cli_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/cli"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLintCommands runs `mastoscale lint` command lines in-process; each has a golden
// transcript (stdout, stderr, exit code) in testdata/<name>.txt.
func TestLintCommands(t *testing.T) {
	const corpus = "../../internal/lint/testdata/"
	tests := []struct {
		name  string
		args  string
		stdin string // file fed to stdin
		exit  int
	}{
		{"lint-seed", "lint " + corpus + "seed", "", 0},
		{"lint-seed-scheduler-scaled", "lint " + corpus + "seed-scheduler-scaled", "", 1},
		{"lint-seed-scheduler-scaled-json", "lint -o json " + corpus + "seed-scheduler-scaled", "", 1},
		{"lint-seed-json-clean", "lint -o json " + corpus + "seed", "", 0},
		{"lint-warnings", "lint ../../pkg/postrender/testdata/cases/helm-charts-split/expected.yaml", "", 0},
		{"lint-warnings-as-errors", "lint --warnings-as-errors ../../pkg/postrender/testdata/cases/helm-charts-split/expected.yaml", "", 1},
		{"lint-stdin", "lint -", corpus + "corpus/trigger-missing-queue.yaml", 1},
		{"lint-files-and-stdin", "lint " + corpus + "seed/deployment.yaml -", corpus + "seed/scaledobject.yaml", 0},
		{"lint-budget", "lint --max-connections 100 --reserved 30 " + corpus + "seed", "", 1},
		{"lint-budget-fits", "lint --max-connections 200 --reserved 30 " + corpus + "seed", "", 0},
		{"lint-mastodon-version", "lint --mastodon-version 4.3 " + corpus + "corpus/version-unknown.yaml", "", 0},
		{"lint-missing-file", "lint testdata/nope.yaml", "", 2},
		{"lint-not-kubernetes", "lint -", "testdata/unknown-field.yaml", 0},
		{"lint-broken-yaml", "lint -", "testdata/broken.yaml", 2},
		{"lint-no-args", "lint", "", 2},
		{"lint-bad-flag", "lint --frobnicate .", "", 2},
		{"lint-bad-output", "lint -o xml " + corpus + "seed", "", 2},
		{"lint-bad-budget", "lint --reserved 30 " + corpus + "seed", "", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte{}
			if tt.stdin != "" {
				var err error
				in, err = os.ReadFile(tt.stdin)
				require.NoError(t, err)
			}
			var out, errOut bytes.Buffer
			code := cli.Run(strings.Fields(tt.args), cli.Streams{In: bytes.NewReader(in), Out: &out, ErrOut: &errOut})
			assert.Equal(t, tt.exit, code, "stdout: %s\nstderr: %s", out.String(), errOut.String())
			stdin := ""
			if tt.stdin != "" {
				stdin = " < " + tt.stdin
			}
			transcript := fmt.Sprintf("$ mastoscale %s%s\n%s--- stderr\n%s--- exit %d\n", tt.args, stdin, out.String(), errOut.String(), code)
			testutil.Golden(t, filepath.Join("testdata", tt.name+".txt"), []byte(transcript))
		})
	}
}

// TestPostRenderCheckAndWrite is render --check for the post-renderer: CI pipes
// `helm template` into `post-render --check` against the committed output.
func TestPostRenderCheckAndWrite(t *testing.T) {
	input, err := os.ReadFile("../../pkg/postrender/testdata/cases/legacy-chart-split/input.yaml")
	require.NoError(t, err)
	layout := "../../pkg/postrender/testdata/cases/legacy-chart-split/layout.yaml"
	committed := filepath.Join(t.TempDir(), "mastodon.yaml")
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := cli.Run(args, cli.Streams{In: bytes.NewReader(input), Out: &out, ErrOut: &errOut})
		return code, out.String(), errOut.String()
	}
	code, out, errOut := run("post-render", "-f", layout, "--write", committed)
	require.Equal(t, 0, code, errOut)
	assert.Empty(t, out, "--write writes the file, not stdout")

	code, out, _ = run("post-render", "-f", layout, "--check", committed)
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "is up to date")

	original, err := os.ReadFile(committed)
	require.NoError(t, err)
	require.Contains(t, string(original), `listLength: "1500"`)
	drifted := strings.Replace(string(original), `listLength: "1500"`, `listLength: "1000"`, 1)
	require.NoError(t, os.WriteFile(committed, []byte(drifted), 0o644))

	code, out, _ = run("post-render", "-f", layout, "--check", committed)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "1 changed, 0 missing, 0 not rendered")
	assert.Contains(t, out, "-      listLength: \"1000\"\n+      listLength: \"1500\"")
	assert.Contains(t, out, "regenerate it with:\n  mastoscale post-render -f "+layout+" --write "+committed+" < input")

	code, _, _ = run("post-render", "-f", layout, "--write", committed)
	require.Equal(t, 0, code)
	code, _, _ = run("post-render", "-f", layout, "--check", committed)
	assert.Equal(t, 0, code, "passes again after --write")

	code, _, errOut = run("post-render", "-f", layout, "--check", committed, "--write", committed)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "give --check or --write, not both")
}
