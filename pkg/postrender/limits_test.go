package postrender_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/pkg/postrender"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Input beyond the limits is refused before it is parsed, with nothing written.
func TestInputLimits(t *testing.T) {
	big := "a: " + strings.Repeat("x", postrender.MaxInputBytes) + "\n"
	many := strings.Repeat("---\na: 1\n", postrender.MaxDocuments+1)
	list := "kind: List\nitems:\n" + strings.Repeat("- {}\n", postrender.MaxDocuments+1)
	for name, in := range map[string]string{"bytes": big, "documents": many, "list items": list} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := postrender.Run(strings.NewReader(in), &out, postrender.Options{})
			require.Error(t, err)
			assert.True(t, errors.Is(err, postrender.ErrTooLarge), err.Error())
			assert.Zero(t, out.Len())
			_, err = postrender.Parse([]byte(in))
			assert.True(t, errors.Is(err, postrender.ErrTooLarge))
		})
	}
	_, err := postrender.Parse([]byte(strings.Repeat("---\na: 1\n", postrender.MaxDocuments)))
	assert.NoError(t, err, "exactly the limit is read")
}
