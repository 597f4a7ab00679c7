package status_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mastoscale/mastoscale/internal/status"
	"github.com/mastoscale/mastoscale/internal/status/statustest"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mastoscale test redis"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, "redis.crt"), filepath.Join(dir, "redis.key")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	return certFile, keyFile
}

func TestReadOverTLS(t *testing.T) {
	cert, key := selfSigned(t, t.TempDir())
	tlsPort := testutil.FreePort(t)
	addr := testutil.RedisServer(t, "--tls-port", fmt.Sprint(tlsPort), "--tls-cert-file", cert, "--tls-key-file", key,
		"--tls-ca-cert-file", cert, "--tls-auth-clients", "no")
	statustest.New(t, addr).Push("default", 5, now)
	url := fmt.Sprintf("rediss://127.0.0.1:%d/0", tlsPort)

	snap := read(t, connect(t, status.Connection{URL: url, TLSInsecure: true}), status.ReadOptions{})
	assert.Equal(t, int64(5), snap.Queues["default"].Backlog)

	ca, err := os.ReadFile(cert)
	require.NoError(t, err)
	snap = read(t, connect(t, status.Connection{URL: url, CACert: ca}), status.ReadOptions{})
	assert.Equal(t, int64(5), snap.Queues["default"].Backlog, "verified against the given CA")

	_, err = status.Read(context.Background(), connect(t, status.Connection{URL: url}), status.ReadOptions{}, now)
	assert.ErrorContains(t, err, "certificate signed by unknown authority", "a self-signed certificate is refused without --tls-insecure")
}
