package scaler

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	pb "github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"github.com/mastoscale/mastoscale/internal/sidekiq/sidekiqtest"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

var listenLine = regexp.MustCompile(`listen=(127\.0\.0\.1:\d+)`)

// command runs `mastoscale scaler` with args (on 127.0.0.1, a free port) in the environment
// env, with the clock at now, and returns a gRPC client of it once it listens.
func command(t *testing.T, env map[string]string, args ...string) pb.ExternalScalerClient {
	t.Helper()
	log := &syncBuffer{}
	s := Streams{ErrOut: log, LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }, Now: func() time.Time { return now }}
	cmd := NewCommand(s)
	cmd.SetArgs(append(args, "--listen", "127.0.0.1:0"))
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done, "a graceful stop is not an error")
	})
	deadline := time.Now().Add(10 * time.Second)
	for !listenLine.MatchString(log.String()) {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("the scaler ended: %v\n%s", err, log)
		default:
		}
		require.True(t, time.Now().Before(deadline), "the scaler did not listen within 10 s:\n%s", log)
		time.Sleep(10 * time.Millisecond)
	}
	conn, err := grpc.NewClient(listenLine.FindStringSubmatch(log.String())[1], grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return pb.NewExternalScalerClient(conn)
}

// latencyOf asks for the latency of the ingress queue, which plantIngress fills.
func latencyOf(t *testing.T, c pb.ExternalScalerClient) (float64, error) {
	t.Helper()
	m, err := c.GetMetrics(context.Background(), &pb.GetMetricsRequest{ScaledObjectRef: ref(md("latency", "mastodon-sidekiq-ingress", "ingress", "30")), MetricName: "sidekiq-latency"})
	if err != nil {
		return 0, err
	}
	return m.MetricValues[0].MetricValueFloat, nil
}

func plantIngress(t *testing.T, c *redis.Client, namespace string) {
	sk := &sidekiqtest.Sidekiq{T: t, Client: c, Namespace: namespace}
	sk.Push("ingress", 7, now.Add(-42250*time.Millisecond))
}

func TestCommandAuthModes(t *testing.T) {
	pwFile := filepath.Join(t.TempDir(), "pw")
	require.NoError(t, os.WriteFile(pwFile, []byte("s3cret\n"), 0o600))
	acl := []string{"--user", "mastoscale", "on", ">s3cret", "~*", "+@read", "+@connection", "-@dangerous"}

	t.Run("plain, namespaced", func(t *testing.T) {
		addr := testutil.RedisServer(t)
		plantIngress(t, redis.NewClient(&redis.Options{Addr: addr}), "masto5")
		c := command(t, nil, "--redis", "redis://"+addr, "--namespace", "masto5")
		v, err := latencyOf(t, c)
		require.NoError(t, err)
		assert.InDelta(t, 42.25, v, 1e-6)
	})
	t.Run("requirepass from Mastodon's env var", func(t *testing.T) {
		addr := testutil.RedisServer(t, "--requirepass", "s3cret")
		plantIngress(t, redis.NewClient(&redis.Options{Addr: addr, Password: "s3cret"}), "")
		v, err := latencyOf(t, command(t, map[string]string{"SIDEKIQ_REDIS_HOST": "sidekiq-redis", "SIDEKIQ_REDIS_PASSWORD": "s3cret", "REDIS_PASSWORD": "wrong"}, "--redis", "redis://"+addr))
		require.NoError(t, err)
		assert.InDelta(t, 42.25, v, 1e-6)
		_, err = latencyOf(t, command(t, nil, "--redis", "redis://"+addr))
		assert.ErrorContains(t, err, "NOAUTH")
	})
	t.Run("ACL user, password file", func(t *testing.T) {
		addr := testutil.RedisServer(t, acl...)
		plantIngress(t, redis.NewClient(&redis.Options{Addr: addr}), "")
		v, err := latencyOf(t, command(t, nil, "--redis", "redis://mastoscale@"+addr+"/0", "--password-file", pwFile))
		require.NoError(t, err, "a read-only ACL user is enough (no MULTI, no SCAN)")
		assert.InDelta(t, 42.25, v, 1e-6)
	})
	t.Run("TLS with a private CA", func(t *testing.T) {
		ca := testutil.NewCA(t)
		cert, key := ca.Issue(t, "redis")
		port := testutil.FreePort(t)
		addr := testutil.RedisServer(t, "--tls-port", fmt.Sprint(port), "--tls-cert-file", cert, "--tls-key-file", key,
			"--tls-ca-cert-file", ca.CertFile, "--tls-auth-clients", "no")
		plantIngress(t, redis.NewClient(&redis.Options{Addr: addr}), "")
		v, err := latencyOf(t, command(t, nil, "--redis", fmt.Sprintf("rediss://127.0.0.1:%d", port), "--tls-ca-file", ca.CertFile))
		require.NoError(t, err)
		assert.InDelta(t, 42.25, v, 1e-6)
	})
	t.Run("sentinel", func(t *testing.T) {
		master := testutil.RedisServer(t, append(acl, "--requirepass", "admin")...)
		sentinel := testutil.RedisSentinel(t, "mymaster", master, "admin", "--requirepass", "watchpw")
		plantIngress(t, redis.NewClient(&redis.Options{Addr: master, Password: "admin"}), "")
		c := command(t, map[string]string{"MASTOSCALE_REDIS_PASSWORD": "s3cret", "SIDEKIQ_REDIS_SENTINELS": "sentinel:26379", "SIDEKIQ_REDIS_SENTINEL_PASSWORD": "watchpw"},
			"--redis", "redis://mastoscale@mymaster", "--sentinels", sentinel)
		v, err := latencyOf(t, c)
		require.NoError(t, err)
		assert.InDelta(t, 42.25, v, 1e-6)
	})
}

func TestCommandRefusesBadFlags(t *testing.T) {
	for want, args := range map[string][]string{
		"the Redis URL carries a password": {"--redis", "redis://:s3cret@127.0.0.1"},
		`--log-level "loud"`:               {"--redis", "redis://127.0.0.1", "--log-level", "loud"},
		"--due-limit 0 must be positive\n--shutdown-grace -1s must not be negative": {"--redis", "redis://127.0.0.1", "--due-limit", "0", "--shutdown-grace", "-1s"},
		"go together":                       {"--redis", "redis://127.0.0.1", "--grpc-tls-cert-file", "x"},
		`required flag(s) "redis" not set`:  {},
		"--listen 127.0.0.1:99999":          {"--redis", "redis://127.0.0.1", "--listen", "127.0.0.1:99999"},
		"--sentinel-username, --sentinel-p": {"--redis", "redis://127.0.0.1", "--sentinel-username", "u"},
	} {
		log := &syncBuffer{}
		cmd := NewCommand(Streams{ErrOut: log, LookupEnv: func(string) (string, bool) { return "", false }})
		cmd.SetArgs(args)
		cmd.SilenceUsage, cmd.SilenceErrors = true, true
		err := cmd.Execute()
		require.Error(t, err, "%v", args)
		assert.Contains(t, err.Error(), want, "%v", args)
		assert.NotContains(t, err.Error()+log.String(), "s3cret")
	}
}
