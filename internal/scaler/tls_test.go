package scaler

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"

	"github.com/mastoscale/mastoscale/internal/sidekiq"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

// keda dials the scaler as KEDA's external trigger does with a TriggerAuthentication's caCert
// and, optionally, tlsClientCert and tlsClientKey (pkg/util.NewTLSConfig): the CA as roots,
// the client pair as its certificate.
func keda(t *testing.T, addr, caFile, certFile, keyFile string) error {
	t.Helper()
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		require.NoError(t, err)
		cfg.RootCAs = x509.NewCertPool()
		require.True(t, cfg.RootCAs.AppendCertsFromPEM(pem))
	}
	if certFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		require.NoError(t, err)
		cfg.Certificates = []tls.Certificate{pair}
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	require.NoError(t, err)
	defer conn.Close()
	_, err = newClient(conn).GetMetricSpec(context.Background(), ref(md("latency", "d", "q", "30")))
	return err
}

func TestTLS(t *testing.T) {
	p, _, _ := newPoller(t, sidekiq.Connection{URL: "redis://127.0.0.1:1"}, "")
	ca, other := testutil.NewCA(t), testutil.NewCA(t)
	serverCert, serverKey := ca.Issue(t, "scaler")
	cfg, err := TLSFiles{CertFile: serverCert, KeyFile: serverKey}.Config()
	require.NoError(t, err)
	_, _, addr, _ := servedTLS(t, &Service{Poller: p}, cfg)

	assert.NoError(t, keda(t, addr, ca.CertFile, "", ""), "caCert: KEDA verifies the scaler")
	err = keda(t, addr, other.CertFile, "", "")
	assert.Equal(t, codes.Unavailable, status.Code(err))
	assert.ErrorContains(t, err, "certificate signed by unknown authority")

	// Rotation: the files change, the next handshake presents the new certificate.
	rotated, rotatedKey := other.Issue(t, "scaler-rotated")
	copyFile(t, rotated, serverCert)
	copyFile(t, rotatedKey, serverKey)
	assert.NoError(t, keda(t, addr, other.CertFile, "", ""), "the rotated certificate is served without a restart")
}

func TestClientCertificates(t *testing.T) {
	p, _, _ := newPoller(t, sidekiq.Connection{URL: "redis://127.0.0.1:1"}, "")
	ca, other := testutil.NewCA(t), testutil.NewCA(t)
	serverCert, serverKey := ca.Issue(t, "scaler")
	kedaCert, kedaKey := ca.Issue(t, "keda-operator")
	strangerCert, strangerKey := other.Issue(t, "stranger")
	cfg, err := TLSFiles{CertFile: serverCert, KeyFile: serverKey, ClientCAFile: ca.CertFile}.Config()
	require.NoError(t, err)
	_, _, addr, _ := servedTLS(t, &Service{Poller: p}, cfg)

	assert.NoError(t, keda(t, addr, ca.CertFile, kedaCert, kedaKey), "tlsClientCert and tlsClientKey signed by the client CA")
	assert.Error(t, keda(t, addr, ca.CertFile, "", ""), "no client certificate")
	assert.Error(t, keda(t, addr, ca.CertFile, strangerCert, strangerKey), "a client certificate of another CA")
}

func TestTLSFilesErrors(t *testing.T) {
	cfg, err := TLSFiles{}.Config()
	assert.NoError(t, err)
	assert.Nil(t, cfg, "no files: plaintext")
	_, err = TLSFiles{CertFile: "x"}.Config()
	assert.ErrorContains(t, err, "--grpc-tls-cert-file and --grpc-tls-key-file go together")
	_, err = TLSFiles{ClientCAFile: "x"}.Config()
	assert.ErrorContains(t, err, "go together")
	_, err = TLSFiles{CertFile: "/nonexistent", KeyFile: "/nonexistent"}.Config()
	assert.ErrorContains(t, err, "loading the gRPC server certificate")
	ca := testutil.NewCA(t)
	cert, key := ca.Issue(t, "s")
	_, err = TLSFiles{CertFile: cert, KeyFile: key, ClientCAFile: key}.Config()
	assert.ErrorContains(t, err, "holds no PEM certificate")
}

func copyFile(t *testing.T, from, to string) {
	data, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, data, 0o600))
}
