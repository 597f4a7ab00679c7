package chart_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/chartvalues"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chart"
)

// generatedCount is how many layouts the generator draws.
const generatedCount = 300

// generated is the fixed set of generated layouts with their verdicts.
type generated struct {
	l       *layout.SidekiqLayout
	broken  []string // the breakers applied
	data    []byte   // chart-values' file, when it wrote one
	err     error    // chart-values' refusal
	verdict error    // layout.Resolve's
}

func generateAll(t testing.TB) []generated {
	t.Helper()
	r := rand.New(rand.NewPCG(5, 2026))
	out := make([]generated, generatedCount)
	for i := range out {
		l, broken := generatedLayout(r)
		_, _, verdict := layout.Resolve(l)
		data, err := chartvalues.YAML(l, chartvalues.Options{})
		out[i] = generated{l: l, broken: broken, data: data, err: err, verdict: verdict}
	}
	return out
}

// TestGeneratedLayouts is the equivalence of verdicts and of output over the generated
// layouts. chart-values refuses exactly the layouts layout.Resolve refuses (with the same
// errors); the chart renders exactly the values chart-values wrote, and they give
// render.FromLayout's objects and Go's warnings in NOTES; each single edit of those values is
// refused with the seal's message; and the defaulted spec of a refused layout, written without
// a seal, is refused too.
func TestGeneratedLayouts(t *testing.T) {
	c := loadChart(t)
	r := rand.New(rand.NewPCG(7, 2026))
	all := generateAll(t)
	valid, invalid := 0, 0
	refusedBy := map[string]int{}
	editNames := sortedEditNames()
	for i, g := range all {
		spec, err := layout.Marshal(g.l)
		require.NoError(t, err)
		if g.verdict != nil {
			invalid++
			for _, f := range errorFields(g.verdict) {
				refusedBy[f]++
			}
			t.Run(fmt.Sprintf("%03d-invalid", i), func(t *testing.T) {
				require.Error(t, g.err, "chart-values wrote values for a layout Resolve refuses: %v\n%s", g.verdict, spec)
				assert.Equal(t, g.verdict.Error(), g.err.Error())
				assertRefusedUnsealed(t, c, unsealedSpec(t, g.l), string(spec))
			})
			continue
		}
		valid++
		edit := editNames[i%len(editNames)]
		t.Run(fmt.Sprintf("%03d", i), func(t *testing.T) {
			require.NoError(t, g.err, "chart-values refused a layout Resolve accepts:\n%s", spec)
			vals := helmValues(t, g.data)
			rel, err := install(c, vals, "default")
			require.NoError(t, err, "layout:\n%s", spec)
			assertSameObjects(t, want(t, g.l), rendered(t, rel.Manifest, g.l), "layout:\n%s", spec)
			_, report, _ := layout.Resolve(g.l)
			assert.Equal(t, warningLines(report), noteWarnings(rel.Info.Notes), "NOTES:\n%s", rel.Info.Notes)
			did := edits[edit](r, vals)
			assertRefused(t, c, vals, did, sealEdited, regenerate)
		})
	}
	t.Logf("%d generated layouts: %d valid, %d invalid; errors by field: %v", generatedCount, valid, invalid, refusedBy)
	assert.Greater(t, valid, generatedCount/2, "the generator should mostly draw valid layouts")
	assert.Greater(t, invalid, generatedCount/4, "the generator should break a good share of layouts")
	assert.Greater(t, len(refusedBy), 15, "the broken layouts should be refused by many different rules")
}

// assertRefusedUnsealed checks that the chart refuses a defaulted spec without a seal: by the
// seal's message, or by the schema when the spec holds a field no values file may (a literal
// Redis password).
func assertRefusedUnsealed(t testing.TB, c *chart.Chart, vals map[string]any, spec string) {
	t.Helper()
	_, err := install(c, vals, "default")
	require.Error(t, err, "the chart rendered an unsealed spec:\n%s", spec)
	if !strings.Contains(err.Error(), "values don't meet the specifications of the schema") {
		assert.Contains(t, err.Error(), sealMissing)
	}
}

// errorFields are the field paths of an invalid layout's errors, indexes dropped.
func errorFields(err error) []string {
	var fe *layout.FindingsError
	if !errors.As(err, &fe) {
		return []string{"?"}
	}
	seen := map[string]bool{}
	var out []string
	for _, f := range fe.Findings {
		p := f.Layout
		for {
			i := strings.IndexByte(p, '[')
			if i < 0 {
				break
			}
			j := strings.IndexByte(p[i:], ']')
			p = p[:i] + p[i+j+1:]
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}
