package scaler

import (
	"bytes"
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pb "github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"github.com/mastoscale/mastoscale/internal/sidekiq"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

var now = time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)

// roundTrips counts what a client sends to Redis: each pipeline and each single command is one
// round trip.
type roundTrips struct{ n atomic.Int64 }

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}
func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(1); return next(ctx, cmds) }
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newPoller reads the Redis at conn, with a clock standing at now and a round-trip counter.
func newPoller(t testing.TB, conn sidekiq.Connection, namespace string) (*Poller, *clock, *roundTrips) {
	t.Helper()
	client, where, err := conn.NewClient()
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	rt := &roundTrips{}
	client.AddHook(rt)
	c := &clock{t: now}
	p := &Poller{Client: client, Keys: sidekiq.Keys{Namespace: namespace}, Where: where, Now: c.Now, MaxAge: time.Second}
	return p, c, rt
}

// get reads for t and fails the test if the wait itself fails.
func get(t testing.TB, p *Poller, tr Trigger) *Reading {
	t.Helper()
	r, err := p.Get(context.Background(), tr)
	require.NoError(t, err)
	return r
}

// served runs svc on a real loopback listener and returns a real gRPC client of it; the server
// stops (gracefully) when the test ends, or when stop is called.
func served(t testing.TB, svc *Service, opts ...grpc.DialOption) (client pb.ExternalScalerClient, conn *grpc.ClientConn, addr string, stop func() error) {
	t.Helper()
	return servedTLS(t, svc, nil, opts...)
}

// servedTLS is served with the server's TLS configuration.
func servedTLS(t testing.TB, svc *Service, tlsCfg *tls.Config, opts ...grpc.DialOption) (client pb.ExternalScalerClient, conn *grpc.ClientConn, addr string, stop func() error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	if svc.StreamInterval == 0 {
		svc.StreamInterval = 20 * time.Millisecond
	}
	go func() { done <- Serve(ctx, l, svc, tlsCfg, 5*time.Second, slog.New(slog.DiscardHandler)) }()
	var once sync.Once
	var serveErr error
	stop = func() error {
		once.Do(func() { cancel(); serveErr = <-done })
		return serveErr
	}
	t.Cleanup(func() { _ = stop() })
	if len(opts) == 0 {
		opts = []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	}
	conn, err = grpc.NewClient(l.Addr().String(), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return pb.NewExternalScalerClient(conn), conn, l.Addr().String(), stop
}

// ref is a ScaledObjectRef with the given trigger metadata.
func ref(md map[string]string) *pb.ScaledObjectRef {
	return &pb.ScaledObjectRef{Name: "worker", Namespace: "mastodon", ScalerMetadata: md}
}

// syncBuffer is a bytes.Buffer safe for a log written by one goroutine and read by another.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func newClient(conn *grpc.ClientConn) pb.ExternalScalerClient {
	return pb.NewExternalScalerClient(conn)
}
