package status_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/mastoscale/mastoscale/internal/sidekiq"
	"github.com/mastoscale/mastoscale/internal/sidekiq/sidekiqtest"
	"github.com/mastoscale/mastoscale/internal/status"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadOverTLS(t *testing.T) {
	ca := testutil.NewCA(t)
	cert, key := ca.Issue(t, "redis")
	tlsPort := testutil.FreePort(t)
	addr := testutil.RedisServer(t, "--tls-port", fmt.Sprint(tlsPort), "--tls-cert-file", cert, "--tls-key-file", key,
		"--tls-ca-cert-file", ca.CertFile, "--tls-auth-clients", "no")
	sidekiqtest.New(t, addr).Push("default", 5, now)
	url := fmt.Sprintf("rediss://127.0.0.1:%d/0", tlsPort)

	snap := read(t, connect(t, sidekiq.Connection{URL: url, TLSInsecure: true}), status.ReadOptions{})
	assert.Equal(t, int64(5), snap.Queues["default"].Backlog)

	caPEM, err := os.ReadFile(ca.CertFile)
	require.NoError(t, err)
	snap = read(t, connect(t, sidekiq.Connection{URL: url, CACert: caPEM}), status.ReadOptions{})
	assert.Equal(t, int64(5), snap.Queues["default"].Backlog, "verified against the given CA")

	_, err = status.Read(context.Background(), connect(t, sidekiq.Connection{URL: url}), status.ReadOptions{}, now)
	assert.ErrorContains(t, err, "certificate signed by unknown authority", "a private CA is refused without --tls-ca-file or --tls-insecure")
}
