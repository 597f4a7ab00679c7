package lint_test

import (
	"os"
	"testing"

	"github.com/mastoscale/mastoscale/internal/lint"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Documents that are sequences (odd or even items) or scalars are no objects: lint skips them
// instead of asking them for a kind (issue 15 item 1: an index out of range on `- a`).
func TestSequenceAndScalarDocuments(t *testing.T) {
	chart, err := os.ReadFile("../../pkg/postrender/testdata/cases/legacy-chart-default/input.yaml")
	require.NoError(t, err)
	for _, doc := range []string{"- a\n", "[1]\n", "  -\n", "- a\n- b\n- c\n", "a\n", "{}\n", "kind: List\nitems: [a, 1, [x]]\n"} {
		for _, in := range []string{doc, string(chart) + "---\n" + doc} {
			src, err := lint.Parse("in.yaml", []byte(in))
			require.NoError(t, err, "%q", doc)
			assert.NotPanics(t, func() {
				_, err = lint.Lint([]lint.Source{src}, lint.Options{})
			}, "%q", doc)
			assert.NoError(t, err)
		}
	}
}
