package cli_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/cli"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/stretchr/testify/assert"
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

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	code := cli.Run([]string{"version"}, cli.Streams{In: strings.NewReader(""), Out: &out, ErrOut: &out})
	assert.Equal(t, 0, code)
	assert.Equal(t, "mastoscale dev\n", out.String())
}
