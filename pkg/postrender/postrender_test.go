package postrender_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/cli"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/postrender"
	"github.com/pmezard/go-difflib/difflib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// TestCases runs every directory of testdata/cases: input.yaml (a release as a chart renders it),
// an optional layout.yaml, and either errors.txt (regexps the error must match) or the golden
// expected.yaml, expected.diff (what changed, for reviewers) and findings.txt.
func TestCases(t *testing.T) {
	dirs, err := os.ReadDir(filepath.Join("testdata", "cases"))
	require.NoError(t, err)
	for _, d := range dirs {
		dir := filepath.Join("testdata", "cases", d.Name())
		t.Run(d.Name(), func(t *testing.T) {
			input, err := os.ReadFile(filepath.Join(dir, "input.yaml"))
			require.NoError(t, err)
			opts, args := caseOptions(t, dir)

			var out bytes.Buffer
			res, err := postrender.Run(bytes.NewReader(input), &out, opts)
			require.NotNil(t, res)
			testutil.Golden(t, filepath.Join(dir, "findings.txt"), findingsText(res))

			// The command gives the same result, and nothing on stdout when it fails.
			var stdout, stderr bytes.Buffer
			code := cli.Run(append([]string{"post-render"}, args...), cli.Streams{In: bytes.NewReader(input), Out: &stdout, ErrOut: &stderr})

			if wants, readErr := os.ReadFile(filepath.Join(dir, "errors.txt")); readErr == nil {
				require.Error(t, err)
				assert.Zero(t, out.Len(), "a failed run writes nothing")
				for _, want := range strings.Split(strings.TrimSpace(string(wants)), "\n") {
					assert.Regexp(t, regexp.MustCompile(want), err.Error())
				}
				assert.NotZero(t, code)
				assert.Zero(t, stdout.Len(), "stdout of a failed post-render must be empty, got:\n%s", stdout.String())
				assert.Contains(t, stderr.String(), strings.SplitN(err.Error(), "\n", 2)[0])
				return
			}
			require.NoError(t, err)
			testutil.Golden(t, filepath.Join(dir, "expected.yaml"), out.Bytes())
			testutil.Golden(t, filepath.Join(dir, "expected.diff"), diff(input, out.Bytes()))
			assert.Zero(t, code, stderr.String())
			assert.Equal(t, out.String(), stdout.String())

			assertForeignUnchanged(t, input, out.Bytes())

			var again bytes.Buffer
			_, err = postrender.Run(bytes.NewReader(out.Bytes()), &again, opts)
			require.NoError(t, err)
			assert.Equal(t, out.String(), again.String(), "a second run must change nothing")
		})
	}
}

func caseOptions(t *testing.T, dir string) (postrender.Options, []string) {
	path := filepath.Join(dir, "layout.yaml")
	if _, err := os.Stat(path); err != nil {
		return postrender.Options{}, nil
	}
	l, err := layout.Load(path)
	require.NoError(t, err)
	return postrender.Options{Layout: l}, []string{"-f", path}
}

func findingsText(res *postrender.Result) []byte {
	var b bytes.Buffer
	for _, f := range res.Findings {
		fmt.Fprintf(&b, "%s: %s\n", f.Severity, f)
	}
	return b.Bytes()
}

func diff(a, b []byte) []byte {
	text, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(string(a)), B: difflib.SplitLines(string(b)),
		FromFile: "input.yaml", ToFile: "expected.yaml", Context: 3,
	})
	if err != nil {
		panic(err)
	}
	return []byte(text)
}

// assertForeignUnchanged checks that every document the transformer does not own (anything
// but Sidekiq Deployments, their PodDisruptionBudgets and KEDA objects) is in the output, in the same order, with the same
// content and comments (an empty `annotations:` and an absent one count as the same).
func assertForeignUnchanged(t *testing.T, input, output []byte) {
	t.Helper()
	in, out := foreign(t, input), foreign(t, output)
	require.Equal(t, len(in), len(out), "foreign documents lost or added")
	for i := range in {
		assert.Equal(t, in[i], out[i])
	}
}

func foreign(t *testing.T, data []byte) []string {
	nodes, err := (&kio.ByteReader{Reader: bytes.NewReader(data), OmitReaderAnnotations: true}).Read()
	require.NoError(t, err)
	var docs []string
	for _, n := range nodes {
		labels := n.GetLabels()
		sidekiq := (n.GetKind() == "Deployment" || n.GetKind() == "PodDisruptionBudget") && strings.HasPrefix(labels[layout.LabelComponent], layout.ComponentPrefix)
		if sidekiq || strings.HasPrefix(n.GetApiVersion(), "keda.sh/") {
			continue
		}
		// kio's writer drops an empty `annotations:`, which means the same as none.
		require.NoError(t, yaml.ClearEmptyAnnotations(n))
		docs = append(docs, n.MustString())
	}
	return docs
}
