package cli_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/cli"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCommands runs whole command lines in-process; each has a golden transcript of stdout,
// stderr and the exit code in testdata/<name>.txt.
func TestCommands(t *testing.T) {
	tests := []struct {
		name string
		args string
		exit int
	}{
		{"render-default", "render", 0},
		{"render-chart-default-json", "render --preset chart-default -o json", 0},
		{"render-split-3.5", "render --preset split --mastodon-version 3.5", 0},
		{"render-seed", "render -f ../../examples/seed.yaml", 0},
		{"render-invalid", "render -f ../../pkg/layout/testdata/invalid/done-when-three-problems/layout.yaml", 1},
		{"render-file-and-preset", "render -f ../../examples/seed.yaml --preset split", 1},
		{"render-bad-output", "render -o xml", 1},
		{"render-missing-file", "render -f testdata/nope.yaml", 1},
		{"render-unknown-field", "render -f testdata/unknown-field.yaml", 1},
		{"check-three-problems", "check -f ../../pkg/layout/testdata/invalid/done-when-three-problems/layout.yaml", 1},
		{"check-separate-redis", "check -f ../../examples/separate-redis.yaml", 0},
		{"check-warnings-only", "check -f ../../examples/namespaced-4.3.yaml", 0},
		{"check-default", "check", 0},
		{"check-policies", "check -f ../../examples/policies.yaml", 0},
		{"unknown-command", "frobnicate", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := cli.Run(strings.Fields(tt.args), cli.Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
			assert.Equal(t, tt.exit, code, "stderr: %s", errOut.String())
			if code != 0 && strings.HasPrefix(tt.args, "render") {
				assert.Empty(t, out.String(), "a failing render writes nothing to stdout")
			}
			transcript := fmt.Sprintf("$ mastoscale %s\n%s--- stderr\n%s--- exit %d\n", tt.args, out.String(), errOut.String(), code)
			testutil.Golden(t, filepath.Join("testdata", tt.name+".txt"), []byte(transcript))
		})
	}
}

// TestVersion runs `version` in the test binary, which Go builds without VCS stamping: the
// build info's "(devel)"; -o json carries the same version.
func TestVersion(t *testing.T) {
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := cli.Run(args, cli.Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
		return code, out.String(), errOut.String()
	}
	code, out, errOut := run("version")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "mastoscale (devel)\n", out)

	code, out, errOut = run("version", "-o", "json")
	require.Equal(t, 0, code, errOut)
	var v struct{ Version, GoVersion string }
	require.NoError(t, json.Unmarshal([]byte(out), &v), out)
	assert.Equal(t, "(devel)", v.Version)
	assert.Equal(t, runtime.Version(), v.GoVersion)

	code, out, errOut = run("version", "-o", "yaml")
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, `--output must be text or json, not "yaml"`)
}

// TestRenderCheckAndWrite is the drift workflow of a GitOps repository: --write regenerates
// the committed file, --check passes on it and fails on a one-field drift, a removed object
// and an added one, printing the diff and the command that regenerates the file.
func TestRenderCheckAndWrite(t *testing.T) {
	committed := filepath.Join(t.TempDir(), "sidekiq.yaml")
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := cli.Run(args, cli.Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
		return code, out.String(), errOut.String()
	}
	seed := "../../examples/seed.yaml"
	code, _, errOut := run("render", "-f", seed, "--write", committed)
	require.Equal(t, 0, code, errOut)

	code, out, _ := run("render", "-f", seed, "--check", committed)
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "is up to date (10 objects)")

	// JSON (a v1 List) checks against itself and against YAML: both are read as objects.
	committedJSON := filepath.Join(t.TempDir(), "sidekiq.json")
	code, _, errOut = run("render", "-f", seed, "-o", "json", "--write", committedJSON)
	require.Equal(t, 0, code, errOut)
	code, out, errOut = run("render", "-f", seed, "-o", "json", "--check", committedJSON)
	assert.Equal(t, 0, code, out+errOut)
	code, out, errOut = run("render", "-f", seed, "--check", committedJSON)
	assert.Equal(t, 0, code, out+errOut)

	original, err := os.ReadFile(committed)
	require.NoError(t, err)
	edits := map[string]func(string) string{
		"changed listLength": func(s string) string {
			return strings.Replace(s, `listLength: "1500"`, `listLength: "1000"`, 1)
		},
		"removed object": func(s string) string {
			docs := strings.Split(s, "---\n")
			return strings.Join(docs[1:], "---\n") // drop the TriggerAuthentication
		},
		"added object": func(s string) string {
			return s + "---\napiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: stray, namespace: mastodon}\nspec: {}\n"
		},
	}
	wants := map[string]string{
		"changed listLength": "1 changed, 0 missing, 0 not rendered",
		"removed object":     "0 changed, 1 missing, 0 not rendered",
		"added object":       "0 changed, 0 missing, 1 not rendered",
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(committed, []byte(edit(string(original))), 0o644))
			code, out, _ := run("render", "-f", seed, "--check", committed)
			assert.Equal(t, 1, code)
			assert.Contains(t, out, wants[name])
			assert.Contains(t, out, "regenerate it with:\n  mastoscale render -f ../../examples/seed.yaml --write "+committed)
			if name == "changed listLength" {
				assert.Contains(t, out, "-      listLength: \"1000\"\n+      listLength: \"1500\"")
			}
			code, _, _ = run("render", "-f", seed, "--write", committed)
			require.Equal(t, 0, code)
			code, _, _ = run("render", "-f", seed, "--check", committed)
			assert.Equal(t, 0, code, "passes again after --write")
		})
	}
}
