package krm_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/cli"
	"github.com/mastoscale/mastoscale/internal/krm"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// TestResourceList runs each testdata/resourcelist/<case>/input.yaml, a whole ResourceList as
// kpt or kustomize send it, and compares the ResourceList out (items, annotations, results)
// with expected.yaml, or its error results with errors.txt (one regexp a line).
func TestResourceList(t *testing.T) {
	dirs, err := filepath.Glob("testdata/resourcelist/*")
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			input, err := os.ReadFile(filepath.Join(dir, "input.yaml"))
			require.NoError(t, err)
			out, results, err := krm.Run(input)
			require.NoError(t, err)
			if wants, err := os.ReadFile(filepath.Join(dir, "errors.txt")); err == nil {
				require.NotZero(t, results.ExitCode())
				for _, want := range strings.Split(strings.TrimSpace(string(wants)), "\n") {
					assert.Regexp(t, regexp.MustCompile(want), results.Error())
				}
			} else {
				assert.Zero(t, results.ExitCode(), results.Error())
				testutil.Golden(t, filepath.Join(dir, "expected.yaml"), out)
			}
			assertForeignItemsKept(t, input, out)
		})
	}
}

// TestStandalone runs `mastoscale fn config.yaml input.yaml` on each testdata/standalone/<case>:
// stdout must equal expected.yaml, or stderr match each line of errors.txt with nothing on
// stdout. The same case as a ResourceList keeps every item it does not own byte for byte.
func TestStandalone(t *testing.T) {
	dirs, err := filepath.Glob("testdata/standalone/*")
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			config, input := filepath.Join(dir, "config.yaml"), filepath.Join(dir, "input.yaml")
			var out, errOut bytes.Buffer
			code := cli.Run([]string{"fn", config, input}, cli.Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
			if wants, err := os.ReadFile(filepath.Join(dir, "errors.txt")); err == nil {
				assert.NotZero(t, code)
				assert.Zero(t, out.Len(), "a failed run writes nothing on stdout")
				for _, want := range strings.Split(strings.TrimSpace(string(wants)), "\n") {
					assert.Regexp(t, regexp.MustCompile(want), errOut.String())
				}
			} else {
				require.Zero(t, code, errOut.String())
				testutil.Golden(t, filepath.Join(dir, "expected.yaml"), out.Bytes())
				// A second run on the output changes nothing.
				var again bytes.Buffer
				expected := filepath.Join(dir, "expected.yaml")
				require.Zero(t, cli.Run([]string{"fn", config, expected}, cli.Streams{In: strings.NewReader(""), Out: &again, ErrOut: &errOut}), errOut.String())
				assert.Equal(t, out.String(), again.String(), "the second run changed the output")
			}
			rl := resourceList(t, config, input)
			out2, _, err := krm.Run(rl)
			require.NoError(t, err)
			assertForeignItemsKept(t, rl, out2)
		})
	}
}

// resourceList wraps a layout and manifest files into a ResourceList as kustomize writes one:
// items as a compact block sequence, the functionConfig last.
func resourceList(t testing.TB, config, manifests string) []byte {
	t.Helper()
	items, err := os.ReadFile(manifests)
	require.NoError(t, err)
	layoutDoc, err := os.ReadFile(config)
	require.NoError(t, err)
	var in bytes.Buffer
	in.WriteString("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n")
	for _, doc := range strings.Split(string(items), "---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		for i, line := range strings.Split(strings.TrimRight(doc, "\n"), "\n") {
			prefix := "  "
			if i == 0 {
				prefix = "- "
			}
			in.WriteString(prefix + line + "\n")
		}
	}
	in.WriteString("functionConfig:\n")
	for _, line := range strings.Split(strings.TrimRight(string(layoutDoc), "\n"), "\n") {
		in.WriteString("  " + line + "\n")
	}
	return in.Bytes()
}

// assertForeignItemsKept checks that every item of the input the function does not own (any
// but Sidekiq Deployments and KEDA objects) is in the output byte for byte: the text of its
// sequence entry, comments and style included.
func assertForeignItemsKept(t *testing.T, input, output []byte) {
	t.Helper()
	for _, item := range itemTexts(t, input) {
		if item.owned {
			continue
		}
		assert.Contains(t, string(output), item.text, "item %s changed", item.name)
	}
}

type itemText struct {
	name, text string
	owned      bool
}

// itemTexts cuts the items sequence of a ResourceList at its `- ` lines, independently of the
// function's own reader.
func itemTexts(t *testing.T, data []byte) []itemText {
	t.Helper()
	root, err := yaml.Parse(string(data))
	require.NoError(t, err)
	items, err := root.Pipe(yaml.Lookup("items"))
	require.NoError(t, err)
	if items == nil {
		return nil
	}
	lines := strings.SplitAfter(string(data), "\n")
	var starts []int
	for _, n := range items.YNode().Content {
		// An item's entry starts at its `- `, which a head comment (`- # Source: ...`) puts
		// above the node's first key.
		start := n.Line - 1
		for start > 0 && !strings.HasPrefix(lines[start], "-") {
			start--
		}
		starts = append(starts, start)
	}
	end := len(lines)
	for i, l := range lines {
		if i > starts[len(starts)-1] && len(l) > 0 && l[0] != ' ' && l[0] != '-' && l[0] != '#' {
			end = i
			break
		}
	}
	var out []itemText
	for i, n := range items.YNode().Content {
		stop := end
		if i+1 < len(starts) {
			stop = starts[i+1]
		}
		node := yaml.NewRNode(n)
		labels := node.GetLabels()
		owned := strings.HasPrefix(node.GetApiVersion(), "keda.sh/") ||
			(node.GetKind() == "Deployment" && strings.HasPrefix(labels["app.kubernetes.io/component"], "sidekiq-"))
		out = append(out, itemText{name: node.GetKind() + "/" + node.GetName(), text: strings.Join(lines[starts[i]:stop], ""), owned: owned})
	}
	return out
}

// TestFailingRunLeavesItemsAlone: on an error the items come back exactly as they came, with
// the error in the results, and a literal password of the functionConfig is not echoed back.
func TestFailingRunLeavesItemsAlone(t *testing.T) {
	rl := resourceList(t, "testdata/standalone/split-chart-default/config.yaml", "testdata/standalone/split-chart-default/input.yaml")
	rl = bytes.Replace(rl, []byte("functionConfig:\n"), []byte("functionConfig:\n  # a layout never holds secrets\n"), 1)
	rl = bytes.Replace(rl, []byte("  spec:\n    mastodonVersion"), []byte("  spec:\n    redis: {host: mastodon-redis-master, password: hunter2}\n    mastodonVersion"), 1)
	out, results, err := krm.Run(rl)
	require.NoError(t, err)
	require.NotZero(t, results.ExitCode())
	assert.Contains(t, results.Error(), "spec.redis.password")
	assert.NotContains(t, string(out), "hunter2")
	assert.NotContains(t, results.Error(), "hunter2")
	for _, item := range itemTexts(t, rl) {
		assert.Contains(t, string(out), item.text, "item %s changed by a failing run", item.name)
	}
	assert.NotContains(t, string(out), "config.kubernetes.io/index")
}

// BenchmarkRun runs the function on the ResourceList kustomize sends for the example overlay's
// equivalent: the chart default split into five workers.
func BenchmarkRun(b *testing.B) {
	input := resourceList(b, "testdata/standalone/split-chart-default/config.yaml", "testdata/standalone/split-chart-default/input.yaml")
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := krm.Run(input); err != nil {
			b.Fatal(err)
		}
	}
}
