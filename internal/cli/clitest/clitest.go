// Package clitest runs mastoscale's commands in-process for the tests of the examples.
package clitest

import (
	"bytes"
	"testing"

	"github.com/mastoscale/mastoscale/internal/cli"
	"github.com/stretchr/testify/require"
)

// PostRender runs `mastoscale post-render ARGS` in-process on manifests and returns its
// output; a failing run fails the test with its stderr.
func PostRender(t testing.TB, manifests []byte, args ...string) []byte {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Run(append([]string{"post-render"}, args...), cli.Streams{In: bytes.NewReader(manifests), Out: &out, ErrOut: &errOut})
	require.Equal(t, 0, code, errOut.String())
	return out.Bytes()
}
