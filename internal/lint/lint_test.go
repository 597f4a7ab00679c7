package lint_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/lint"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func parseFile(t testing.TB, path string) lint.Source {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	src, err := lint.Parse(path, data)
	require.NoError(t, err)
	return src
}

// header reads the case's `# expect: severity rule, ...` line and its optional
// `# flags: --max-connections N --reserved N` line.
func header(t *testing.T, path string) (want []string, opts lint.Options) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(string(data), "\n")
	expect, ok := strings.CutPrefix(lines[0], "# expect:")
	require.True(t, ok, "%s must start with `# expect: severity rule, ...`", path)
	for _, e := range strings.Split(expect, ",") {
		if e = strings.TrimSpace(e); e != "" {
			want = append(want, e)
		}
	}
	for _, l := range lines[1:] {
		flags, ok := strings.CutPrefix(l, "# flags: ")
		if !ok {
			continue
		}
		f := strings.Fields(flags)
		require.Len(t, f, 4, "flags: --max-connections N --reserved N")
		maxConn, err := strconv.Atoi(f[1])
		require.NoError(t, err)
		reserved, err := strconv.Atoi(f[3])
		require.NoError(t, err)
		opts.Budget = &lint.Budget{MaxConnections: int32(maxConn), Reserved: int32(reserved), Field: "--max-connections"}
	}
	slices.Sort(want)
	return want, opts
}

// TestCorpus lints each hand-written file of testdata/corpus alone: each plants one mistake
// (or none, for the clean-* cases), named by its first line, and lint must find exactly that.
// The full text output is the golden <case>.golden beside it.
func TestCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/corpus/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			want, opts := header(t, path)
			src := parseFile(t, path)
			findings, err := lint.Lint([]lint.Source{src}, opts)
			require.NoError(t, err)
			var got []string
			for _, f := range findings {
				got = append(got, string(f.Severity)+" "+f.Rule)
				if f.Rule != layout.RuleConnectionBudget {
					assert.Equal(t, path, f.File)
					assert.NotEmpty(t, f.Kind, "every finding names its object")
					assert.NotEmpty(t, f.Field, "every finding names its field")
				}
			}
			slices.Sort(got)
			assert.Equal(t, want, got)

			var out bytes.Buffer
			require.NoError(t, lint.WriteText(&out, findings, 1, len(src.Nodes)))
			testutil.Golden(t, strings.TrimSuffix(path, ".yaml")+".golden", out.Bytes())
		})
	}
}

func lintDir(t *testing.T, dir string) []layout.Finding {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	require.NoError(t, err)
	var sources []lint.Source
	for _, f := range files {
		sources = append(sources, parseFile(t, f))
	}
	findings, err := lint.Lint(sources, lint.Options{})
	require.NoError(t, err)
	return findings
}

// TestSeedExample: the article's example, written by hand across files, is clean; the same
// with a ScaledObject on the scheduler Deployment fails, naming that file and object.
func TestSeedExample(t *testing.T) {
	assert.Empty(t, lintDir(t, "testdata/seed"))

	findings := lintDir(t, "testdata/seed-scheduler-scaled")
	require.Equal(t, 1, lint.Errors(findings), "%+v", findings)
	var errs []layout.Finding
	for _, f := range findings {
		if f.Severity == layout.Error {
			errs = append(errs, f)
		}
	}
	assert.Equal(t, layout.Finding{
		Location: layout.Location{
			File:       "testdata/seed-scheduler-scaled/scaledobject-scheduler.yaml",
			APIVersion: "keda.sh/v1alpha1",
			Kind:       "ScaledObject",
			Name:       "mastodon-sidekiq-scheduler",
			Namespace:  "mastodon",
			Field:      "spec.scaleTargetRef.name",
		},
		Severity: layout.Error,
		Rule:     layout.RuleSchedulerAutoscaled,
		Message:  errs[0].Message,
	}, errs[0])
	assert.Contains(t, errs[0].Message, `worker "mastodon-sidekiq-scheduler" consumes "scheduler", which must run in exactly one process`)
}

// TestOwnOutputs: what mastoscale renders and post-renders passes its own lint. References to
// Secrets and ConfigMaps the user creates are the only findings allowed.
func TestOwnOutputs(t *testing.T) {
	root := testutil.RepoRoot(t)
	rendered, err := filepath.Glob(filepath.Join(root, "examples/rendered/*.yaml"))
	require.NoError(t, err)
	var postRendered []string
	err = filepath.WalkDir(filepath.Join(root, "pkg/postrender/testdata"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "expected.yaml" {
			postRendered = append(postRendered, path)
		}
		return err
	})
	require.NoError(t, err)
	require.NotEmpty(t, rendered)
	require.NotEmpty(t, postRendered)
	for _, path := range append(rendered, postRendered...) {
		rel, _ := filepath.Rel(root, path)
		t.Run(rel, func(t *testing.T) {
			findings, err := lint.Lint([]lint.Source{parseFile(t, path)}, lint.Options{})
			require.NoError(t, err)
			for _, f := range findings {
				// render's objects target the chart's Deployments, which are not in its output.
				rendered := strings.HasPrefix(rel, "examples/rendered/") && f.Rule == lint.RuleScaleTargetMissing
				if rendered {
					continue
				}
				// Warnings the layout's own validation gives too: a sleeping worker, REDIS_NAMESPACE on 4.3.
				assert.Contains(t, []string{lint.RuleMissingReference, layout.RuleSleeping, layout.RuleRedisNamespace}, f.Rule, "%s: %s", f.Severity, f.Message)
				assert.Equal(t, layout.Warning, f.Severity)
			}
		})
	}
}

// TestFindsAcrossFiles: a ScaledObject and its Deployment may live in different files, and a
// flag's budget finding is reported last, on no file.
func TestFindsAcrossFiles(t *testing.T) {
	seed := []lint.Source{
		parseFile(t, "testdata/seed/scaledobject.yaml"),
		parseFile(t, "testdata/seed/deployment.yaml"),
	}
	findings, err := lint.Lint(seed, lint.Options{Budget: &lint.Budget{MaxConnections: 110, Reserved: 10, Field: "--max-connections"}})
	require.NoError(t, err)
	require.Len(t, findings, 2, "4 x 25 + 10 reserved fits 110 exactly; the TriggerAuthentication and the Secret are not in these two files")
	assert.Equal(t, "testdata/seed/scaledobject.yaml", findings[0].File, "grouped by file in input order")
	assert.Equal(t, lint.RuleMissingReference, findings[0].Rule)
	assert.Equal(t, "testdata/seed/deployment.yaml", findings[1].File)

	findings, err = lint.Lint(seed, lint.Options{Budget: &lint.Budget{MaxConnections: 99, Field: "--max-connections"}})
	require.NoError(t, err)
	last := findings[len(findings)-1]
	assert.Equal(t, layout.RuleConnectionBudget, last.Rule)
	assert.Empty(t, last.File)
	assert.Contains(t, last.Message, "Sidekiq uses 100 connections (mastodon-sidekiq-worker-default 4x25) + 0 reserved = 100, 1 over max_connections 99")
}

func TestParseRejectsBrokenYAML(t *testing.T) {
	_, err := lint.Parse("broken.yaml", []byte("kind: Deployment\nmetadata: {name: [\n"))
	assert.ErrorContains(t, err, "broken.yaml")
}

// BenchmarkLint lints 50 installations of the split preset (500 objects) at once.
func BenchmarkLint(b *testing.B) {
	data, err := os.ReadFile("../../examples/rendered/split.yaml")
	require.NoError(b, err)
	var all bytes.Buffer
	for i := range 50 {
		if i > 0 {
			all.WriteString("---\n")
		}
		all.Write(bytes.ReplaceAll(data, []byte("namespace: mastodon"), fmt.Appendf(nil, "namespace: mastodon-%d", i)))
	}
	b.SetBytes(int64(all.Len()))
	b.ReportAllocs()
	for b.Loop() {
		src, err := lint.Parse("all.yaml", all.Bytes())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := lint.Lint([]lint.Source{src}, lint.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
