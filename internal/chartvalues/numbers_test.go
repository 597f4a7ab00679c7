package chartvalues

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHelmKeepsNumbers(t *testing.T) {
	require.NoError(t, helmKeepsNumbers([]byte(`{"workers":[{"autoscale":{"listLength":9007199254740992}}]}`)), "2^53 is exact in a float64")
	err := helmKeepsNumbers([]byte(`{"workers":[{"autoscale":{"listLength":9007199254740993}}]}`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "spec.workers[0].autoscale.listLength: Invalid value: 9007199254740993: Helm reads every number of a values file as a float64")
}
