package postrender

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// TestSplitStreamKeepsEveryByte: the documents' bytes put together are the input, whatever
// the separators look like.
func TestSplitStreamKeepsEveryByte(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		docs     int
	}{
		{"helm", "---\n# Source: a.yaml\na: 1\n---\n# Source: b.yaml\nb: 2\n", 2},
		{"no leading separator", "a: 1\n---\nb: 2", 2},
		{"comment before the first separator", "# generated\n---\na: 1\n", 2},
		{"separator with a comment and one with a value", "--- # first\na: 1\n--- {b: 2}\n", 2},
		{"not a separator", "a: |\n  ---x\n---x: 1\n", 1},
		{"crlf", "---\r\na: 1\r\n---\r\nb: 2\r\n", 2},
		{"empty", "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			docs := splitStream([]byte(tc.in))
			assert.Len(t, docs, tc.docs)
			var all []byte
			for _, d := range docs {
				all = append(all, d.raw...)
			}
			assert.Equal(t, tc.in, string(all))
		})
	}
}

// TestParseStreamNamesEveryBrokenDocument: all broken documents at once, each with its number
// and its line in the stream.
func TestParseStreamNamesEveryBrokenDocument(t *testing.T) {
	_, err := parseStream([]byte("a: 1\n---\nb: [\n---\nc: 3\n---\nd: {\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "document 2 (line 2)")
	assert.Contains(t, err.Error(), "document 4 (line 6)")
	assert.NotContains(t, err.Error(), "document 3")
}

// TestWriteStreamRewritesOnlyEdited: an edited document is written from its nodes, a List with
// an edited item again as a List, everything else byte for byte.
func TestWriteStreamRewritesOnlyEdited(t *testing.T) {
	in := "---\n# keep me\nkind: A\nmetadata:\n  annotations:\n---\nkind: B\n---\nkind: List\nitems:\n- kind: C\n- kind: D\n"
	docs, err := parseStream([]byte(in))
	require.NoError(t, err)
	objs := objects(docs)
	require.Len(t, objs, 4)
	e := edits{objs[1]: {yaml.MustParse("kind: B2\n")}, objs[3]: nil}
	var out bytes.Buffer
	require.NoError(t, writeStream(&out, docs, e))
	assert.True(t, strings.HasPrefix(out.String(), "---\n# keep me\nkind: A\nmetadata:\n  annotations:\n---\n"), out.String())
	assert.Contains(t, out.String(), "kind: B2")
	assert.NotContains(t, out.String(), "kind: D")
	assert.Contains(t, out.String(), "kind: C")
	assert.Contains(t, out.String(), "kind: List")
}
