package cli_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/cli"
	"github.com/mastoscale/mastoscale/internal/testutil"
)

// TestChartValues runs whole `mastoscale chart-values` command lines; each golden file holds
// the exit code, stdout and stderr. An invalid layout and the removed --deployments flag
// write nothing to stdout.
func TestChartValues(t *testing.T) {
	dir := filepath.Join("testdata", "chart-values")
	cases := []struct {
		name string
		args string
	}{
		{"layout", "chart-values -f " + filepath.Join(dir, "layout.yaml")},
		{"deployments", "chart-values -f " + filepath.Join(dir, "layout.yaml") + " --deployments"},
		{"warnings", "chart-values -f " + filepath.Join(dir, "warnings.yaml")},
		{"preset", "chart-values --preset chart-default --mastodon-version 4.3"},
		{"invalid", "chart-values -f " + filepath.Join(dir, "invalid.yaml")},
		{"gitops-without-out-dir", "chart-values --preset split --gitops flux"},
		{"gitops-unknown", "chart-values --preset split --out-dir x --gitops jenkins"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := cli.Run(strings.Fields(tc.args), cli.Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
			got := fmt.Sprintf("$ mastoscale %s\nexit %d\n--- stdout\n%s--- stderr\n%s", tc.args, code, out.String(), errOut.String())
			testutil.Golden(t, filepath.Join(dir, tc.name+".golden"), []byte(got))
		})
	}
}
