package krm_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/krm"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/spf13/cobra"
	"sigs.k8s.io/kustomize/kyaml/fn/framework"
	"sigs.k8s.io/kustomize/kyaml/fn/framework/command"
	"sigs.k8s.io/kustomize/kyaml/fn/framework/frameworktestutil"
	"sigs.k8s.io/kustomize/kyaml/kio"
)

// TestStandalone runs each testdata/<case>: config.yaml is the functionConfig, input.yaml the
// items, and the output must equal expected.yaml, or the error match each line of errors.txt.
// `go test ./... -update` rewrites the fixtures.
func TestStandalone(t *testing.T) {
	checker := frameworktestutil.CommandResultsChecker{
		TestDataDirectory:        "testdata/standalone",
		UpdateExpectedFromActual: testutil.Update(),
		Command: func() *cobra.Command {
			return command.Build(krm.Processor, command.StandaloneEnabled, false)
		},
	}
	assertCases(t, checker.TestDataDirectory, func() { checker.Assert(t) })
}

// TestResourceList runs each testdata/resourcelist/<case>/input.yaml, a whole ResourceList as
// kpt or kustomize send it, and compares the ResourceList out (items, annotations, results)
// with expected.yaml, or the error with errors.txt.
func TestResourceList(t *testing.T) {
	checker := frameworktestutil.ProcessorResultsChecker{
		TestDataDirectory:        "testdata/resourcelist",
		UpdateExpectedFromActual: testutil.Update(),
		Processor:                func() framework.ResourceListProcessor { return krm.Processor },
	}
	assertCases(t, checker.TestDataDirectory, func() { checker.Assert(t) })
}

// assertCases runs a checker. Under -update the kyaml checkers write the literal error into
// errors.txt (whose lines are regexps) and the output into expected.yaml even for failing
// cases: keep errors.txt as written by hand, drop the stray expected.yaml, and quote a new
// errors.txt so it matches itself.
func assertCases(t *testing.T, dir string, assert func()) {
	t.Helper()
	if !testutil.Update() {
		assert()
		return
	}
	before := map[string][]byte{}
	if err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			before[path], err = os.ReadFile(path)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		errs, _ := filepath.Glob(filepath.Join(dir, "*", frameworktestutil.DefaultErrorFilename))
		more, _ := filepath.Glob(filepath.Join(dir, "*", "*", frameworktestutil.DefaultErrorFilename))
		for _, path := range append(errs, more...) {
			expected := filepath.Join(filepath.Dir(path), frameworktestutil.DefaultOutputFilename)
			if _, existed := before[expected]; !existed {
				os.Remove(expected)
			}
			data := before[path]
			if data == nil {
				data = quoteLines(path)
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Error(err)
			}
		}
	})
	assert()
}

// quoteLines turns a literal error file into one regexp per non-empty line.
func quoteLines(path string) []byte {
	data, _ := os.ReadFile(path)
	var b strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) != "" {
			b.WriteString(regexp.QuoteMeta(line) + "\n")
		}
	}
	return []byte(b.String())
}

// TestIdempotent runs the function on each expected output again: a build that applies the
// function twice (or to a release it already changed) must not change anything.
func TestIdempotent(t *testing.T) {
	cases, err := filepath.Glob("testdata/standalone/*/" + frameworktestutil.DefaultOutputFilename)
	if err != nil || len(cases) == 0 {
		t.Fatalf("no expected outputs: %v", err)
	}
	for _, expected := range cases {
		dir := filepath.Dir(expected)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var out, errOut bytes.Buffer
			cmd := command.Build(krm.Processor, command.StandaloneEnabled, false)
			cmd.SetArgs([]string{filepath.Join(dir, frameworktestutil.DefaultConfigInputFilename), expected})
			cmd.SetOut(&out)
			cmd.SetErr(&errOut)
			if err := cmd.Execute(); err != nil {
				t.Fatalf("second run: %v\n%s", err, errOut.String())
			}
			want, err := os.ReadFile(expected)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(want, out.Bytes()) {
				t.Errorf("the second run changed the output:\n%s", testutil.LineDiff(string(want), out.String()))
			}
		})
	}
}

// BenchmarkExecute runs the function on the ResourceList kustomize sends for the example
// overlay's equivalent: the chart default split into five workers.
func BenchmarkExecute(b *testing.B) {
	config, err := os.ReadFile("testdata/standalone/split-chart-default/config.yaml")
	if err != nil {
		b.Fatal(err)
	}
	items, err := os.ReadFile("testdata/standalone/split-chart-default/input.yaml")
	if err != nil {
		b.Fatal(err)
	}
	var in bytes.Buffer
	in.WriteString("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n")
	for _, doc := range strings.Split(string(items), "---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		for i, line := range strings.Split(strings.TrimRight(doc, "\n"), "\n") {
			prefix := "    "
			if i == 0 {
				prefix = "  - "
			}
			in.WriteString(prefix + line + "\n")
		}
	}
	in.WriteString("functionConfig:\n")
	for _, line := range strings.Split(strings.TrimRight(string(config), "\n"), "\n") {
		in.WriteString("  " + line + "\n")
	}
	input := in.Bytes()
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	for b.Loop() {
		var out bytes.Buffer
		rw := &kio.ByteReadWriter{Reader: bytes.NewReader(input), Writer: &out, KeepReaderAnnotations: true}
		if err := framework.Execute(krm.Processor, rw); err != nil {
			b.Fatal(err)
		}
	}
}
