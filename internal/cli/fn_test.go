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
)

// TestFn runs whole `mastoscale fn` command lines; each golden file holds the exit code,
// stderr and stdout. Paths are relative to the repository root.
func TestFn(t *testing.T) {
	root := testutil.RepoRoot(t)
	fn := "internal/cli/testdata/fn/"
	tests := []struct {
		name  string
		args  []string
		stdin string // file fed on stdin
	}{
		// kustomize's own input: the ResourceList comes back with its annotations and no results.
		{name: "kustomize-resourcelist", args: []string{"fn"}, stdin: fn + "kustomize-resourcelist.yaml"},
		// kpt-style input with file annotations: a warning result, printed on stderr too.
		{name: "warnings-resourcelist", args: []string{"fn"}, stdin: "internal/krm/testdata/resourcelist/warnings/input.yaml"},
		{name: "two-schedulers", args: []string{"fn"}, stdin: fn + "two-schedulers-resourcelist.yaml"},
		{name: "unknown-field", args: []string{"fn"}, stdin: fn + "unknown-field-resourcelist.yaml"},
		{name: "not-a-layout", args: []string{"fn"}, stdin: fn + "not-a-layout-resourcelist.yaml"},
		// Standalone: layout and manifests as files, a plain stream out.
		{name: "standalone", args: []string{"fn", "kustomize/autoscaled/sidekiq-layout.yaml", "internal/krm/testdata/standalone/split-chart-default/input.yaml"}},
		{name: "verify-golden", args: []string{"fn", "--verify", "kustomize/autoscaled/sidekiq-layout.yaml", "kustomize/autoscaled/expected.yaml"}},
		{name: "verify-skipped", args: []string{"fn", "--verify", "kustomize/autoscaled/sidekiq-layout.yaml", "-"}, stdin: fn + "built-without-exec.yaml"},
		{name: "verify-no-layout", args: []string{"fn", "--verify"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(root)
			var in []byte
			if tc.stdin != "" {
				var err error
				if in, err = os.ReadFile(tc.stdin); err != nil {
					t.Fatal(err)
				}
			}
			var out, errOut bytes.Buffer
			code := cli.Run(tc.args, cli.Streams{In: bytes.NewReader(in), Out: &out, ErrOut: &errOut})
			got := fmt.Sprintf("$ mastoscale %s\nexit %d\n--- stderr\n%s--- stdout\n%s", strings.Join(tc.args, " "), code, errOut.String(), out.String())
			testutil.Golden(t, filepath.Join(root, fn, tc.name+".golden"), []byte(got))
		})
	}
}
