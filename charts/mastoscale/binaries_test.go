package chart_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// helmBinaries are the real helm 3 and helm 4 that users run.
var helmBinaries = []string{"MASTOSCALE_HELM3", "MASTOSCALE_HELM4"}

func helmRun(helm string, args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	cmd := exec.Command(helm, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, data, 0o644))
	return path
}

// TestHelmBinaries runs the real helm 3 and helm 4 on the values file chart-values writes for
// every example and test layout: `helm template` gives render.FromLayout's objects and
// `helm lint --strict` is clean. It checks what the chart refuses through them too, and that
// `--set` (which gives int64 numbers, not float64) keeps the seal when it sets a value to what
// it already is.
func TestHelmBinaries(t *testing.T) {
	files := layoutFiles(t)
	for _, env := range helmBinaries {
		t.Run(env, func(t *testing.T) {
			helm := testutil.Tool(t, env)
			dir := t.TempDir()
			for _, file := range files {
				l, err := layout.Load(file)
				require.NoError(t, err)
				values := writeFile(t, dir, strings.ReplaceAll(caseName(file), "/", "-")+".yaml", valuesFile(t, l))
				t.Run("template/"+caseName(file), func(t *testing.T) {
					out, errOut, err := helmRun(helm, "template", "x", ".", "-n", namespaceOf(l), "-f", values)
					require.NoError(t, err, "%s", errOut)
					assertSameObjects(t, want(t, l), rendered(t, out, l))
				})
				t.Run("lint/"+caseName(file), func(t *testing.T) {
					out, errOut, err := helmRun(helm, "lint", "--strict", ".", "-f", values)
					assert.NoError(t, err, "%s%s", out, errOut)
				})
			}
			l, err := layout.Load(filepath.Join("testdata", "layouts", "zeros.yaml"))
			require.NoError(t, err)
			values := writeFile(t, dir, "zeros.yaml", valuesFile(t, l))
			for _, tc := range []struct {
				name string
				args []string
				want []string // empty: accepted
			}{
				{"--set the same number", []string{"-f", values, "--set", "workers[0].concurrency=25,redis.port=6379,redis.databaseIndex=0"}, nil},
				{"--set another number", []string{"-f", values, "--set", "workers[0].concurrency=26"}, []string{sealEdited, regenerate}},
				{"--set deployments", []string{"-f", values, "--set", "deployments.enabled=true"}, []string{"deployments: removed", "mastodon.sidekiq.workers"}},
				{"no values", nil, []string{sealMissing, regenerate}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					_, errOut, err := helmRun(helm, append([]string{"template", "x", "."}, tc.args...)...)
					if len(tc.want) == 0 {
						assert.NoError(t, err, "%s", errOut)
						return
					}
					require.Error(t, err)
					for _, w := range tc.want {
						assert.Contains(t, errOut, w)
					}
				})
			}
			t.Run("lint without values", func(t *testing.T) {
				out, errOut, err := helmRun(helm, "lint", "--strict", ".")
				require.Error(t, err, "lint must refuse values without a seal")
				assert.Contains(t, out+errOut, sealMissing)
			})
		})
	}
}

// TestGeneratedLayoutsHelmBinaries renders the generated layouts' values through the real
// helm 3 and helm 4 in one run each: an umbrella chart holds this chart once per layout (a
// dependency alias each), with chart-values' file as that alias' values, and Helm's global
// values set as an umbrella chart sets them. Each alias' objects must be render.FromLayout's.
func TestGeneratedLayoutsHelmBinaries(t *testing.T) {
	var valid []generated
	for _, g := range generateAll(t) {
		if g.verdict == nil {
			valid = append(valid, g)
		}
	}
	umbrella := umbrellaChart(t, valid)
	for _, env := range helmBinaries {
		t.Run(env, func(t *testing.T) {
			helm := testutil.Tool(t, env)
			out, errOut, err := helmRun(helm, "template", "x", umbrella, "-f", filepath.Join(umbrella, "layouts.yaml"))
			require.NoError(t, err, "%s", errOut)
			manifests := bySubchart(out)
			for i, g := range valid {
				alias := fmt.Sprintf("g%03d", i)
				assertSameObjects(t, want(t, g.l), rendered(t, manifests[alias], g.l), "%s", alias)
			}
		})
	}
}

// umbrellaChart writes a chart depending on this one once per layout, under alias gNNN, and
// layouts.yaml: each layout's values file, indented under its alias, plus global values.
func umbrellaChart(t *testing.T, layouts []generated) string {
	t.Helper()
	dir := t.TempDir()
	sub := filepath.Join(dir, "charts", "mastoscale")
	require.NoError(t, os.MkdirAll(filepath.Join(sub, "templates"), 0o755))
	templates, err := filepath.Glob(filepath.Join("templates", "*"))
	require.NoError(t, err)
	for _, f := range append([]string{"Chart.yaml", "values.yaml", "values.schema.json"}, templates...) {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		writeFile(t, sub, f, data)
	}
	version := loadChart(t).Metadata.Version
	chartYAML := "apiVersion: v2\nname: umbrella\nversion: 1.0.0\ndependencies:\n"
	values := "global:\n  imageRegistry: registry.example.org\n"
	for i, g := range layouts {
		alias := fmt.Sprintf("g%03d", i)
		chartYAML += fmt.Sprintf("  - {name: mastoscale, version: %q, alias: %s}\n", version, alias)
		values += alias + ":\n" + indent(string(g.data), "  ")
	}
	writeFile(t, dir, "Chart.yaml", []byte(chartYAML))
	writeFile(t, dir, "layouts.yaml", []byte(values))
	return dir
}

func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, line := range lines {
		if line != "" {
			lines[i] = prefix + line
		}
	}
	return strings.Join(lines, "")
}

var sourceLine = regexp.MustCompile(`(?m)^# Source: umbrella/charts/([^/]+)/`)

// bySubchart splits `helm template` output of the umbrella chart by the subchart each
// document comes from.
func bySubchart(manifest string) map[string]string {
	out := map[string]string{}
	for _, doc := range strings.Split(manifest, "\n---\n") {
		if m := sourceLine.FindStringSubmatch(doc); m != nil {
			out[m[1]] += "---\n" + doc + "\n"
		}
	}
	return out
}
