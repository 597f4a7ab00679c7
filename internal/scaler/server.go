package scaler

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	pb "github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// DefaultShutdownGrace is how long a shutdown waits for requests under way.
const DefaultShutdownGrace = 10 * time.Second

// TLSFiles are the files of the gRPC server's TLS: its certificate and key and, for client
// certificate authentication, the authorities a client's certificate must chain to (what KEDA
// presents from a TriggerAuthentication's tlsClientCert and tlsClientKey). The files are read
// again when they change, so a rotated certificate is served without a restart.
type TLSFiles struct {
	CertFile, KeyFile, ClientCAFile string
}

// Config returns the server's TLS configuration, or nil without a certificate.
func (f TLSFiles) Config() (*tls.Config, error) {
	if f.CertFile == "" && f.KeyFile == "" && f.ClientCAFile == "" {
		return nil, nil
	}
	if f.CertFile == "" || f.KeyFile == "" {
		return nil, errors.New("--grpc-tls-cert-file and --grpc-tls-key-file go together (and --grpc-client-ca-file needs them)")
	}
	certs := &reloading[*tls.Certificate]{paths: []string{f.CertFile, f.KeyFile}, load: func() (*tls.Certificate, error) {
		c, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		return &c, err
	}}
	if _, err := certs.get(); err != nil {
		return nil, fmt.Errorf("loading the gRPC server certificate: %w", err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return certs.get() }}
	if f.ClientCAFile == "" {
		return cfg, nil
	}
	cas := &reloading[*x509.CertPool]{paths: []string{f.ClientCAFile}, load: func() (*x509.CertPool, error) {
		pem, err := os.ReadFile(f.ClientCAFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", f.ClientCAFile)
		}
		return pool, nil
	}}
	if _, err := cas.get(); err != nil {
		return nil, fmt.Errorf("loading --grpc-client-ca-file: %w", err)
	}
	// The client's chain is verified here rather than through ClientCAs, so a rotated CA file
	// counts from the next handshake on.
	cfg.ClientAuth = tls.RequireAnyClientCert
	cfg.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
		pool, err := cas.get()
		if err != nil {
			return err
		}
		return verifyClient(raw, pool)
	}
	return cfg, nil
}

// verifyClient checks that the client's certificate chains to one of the authorities in pool
// and may authenticate a client.
func verifyClient(raw [][]byte, pool *x509.CertPool) error {
	if len(raw) == 0 {
		return errors.New("the client presented no certificate")
	}
	certs := make([]*x509.Certificate, len(raw))
	for i, der := range raw {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return fmt.Errorf("the client's certificate: %w", err)
		}
		certs[i] = c
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	return err
}

// reloading holds what load made of some files and loads it again when one of them changes.
type reloading[T any] struct {
	paths []string
	load  func() (T, error)
	mu    sync.Mutex
	val   T
	stamp string
}

func (r *reloading[T]) get() (T, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	stamp := ""
	for _, p := range r.paths {
		info, err := os.Stat(p)
		if err != nil {
			return r.val, err
		}
		stamp += fmt.Sprintf("%s|%d|%d;", p, info.ModTime().UnixNano(), info.Size())
	}
	if stamp == r.stamp {
		return r.val, nil
	}
	v, err := r.load()
	if err != nil {
		return r.val, err
	}
	r.val, r.stamp = v, stamp
	return v, nil
}

// Serve answers KEDA on l until ctx ends, then shuts down gracefully: the health service turns
// NOT_SERVING, open streams end, requests under way get up to grace to finish.
func Serve(ctx context.Context, l net.Listener, svc *Service, tlsCfg *tls.Config, grace time.Duration, log *slog.Logger) error {
	var opts []grpc.ServerOption
	if tlsCfg != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(tlsCfg)))
	}
	gs := grpc.NewServer(opts...)
	stopping := make(chan struct{})
	svc.Stopping = stopping
	pb.RegisterExternalScalerServer(gs, svc)
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("externalscaler.ExternalScaler", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(gs, &healthService{Server: hs, stopping: stopping})

	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		log.Info("shutting down", "grace", grace)
		close(stopping)
		hs.Shutdown()
		done := make(chan struct{})
		go func() { gs.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-time.After(grace):
			log.Warn("requests still under way after the grace period: stopping anyway")
			gs.Stop()
			<-done
		}
	}()
	err := gs.Serve(l)
	if ctx.Err() == nil {
		// Serve failed on its own (the listener broke): end the shutdown goroutine too.
		gs.Stop()
		return err
	}
	<-stopped
	return nil
}

// healthService is grpc's health service, except that a Watch ends once it has told its client
// NOT_SERVING during shutdown, so watchers do not hold GracefulStop for the whole grace period.
type healthService struct {
	*health.Server
	stopping <-chan struct{}
}

func (h *healthService) Watch(req *healthpb.HealthCheckRequest, stream healthpb.Health_WatchServer) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	return h.Server.Watch(req, &watchStream{Health_WatchServer: stream, ctx: ctx, cancel: cancel, stopping: h.stopping})
}

type watchStream struct {
	healthpb.Health_WatchServer
	ctx      context.Context
	cancel   context.CancelFunc
	stopping <-chan struct{}
}

func (w *watchStream) Context() context.Context { return w.ctx }

func (w *watchStream) Send(m *healthpb.HealthCheckResponse) error {
	err := w.Health_WatchServer.Send(m)
	select {
	case <-w.stopping:
		if m.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING {
			w.cancel()
		}
	default:
	}
	return err
}
