package scaler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/signal"
	"syscall"
	"time"

	"github.com/mastoscale/mastoscale/internal/sidekiq"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
)

// Streams are what the command gets from the world: standard streams, the environment and
// the clock (tests give their own).
type Streams struct {
	In        io.Reader
	Out       io.Writer
	ErrOut    io.Writer
	LookupEnv func(string) (string, bool)
	Now       func() time.Time
}

// Flags are `mastoscale scaler`'s flags.
type Flags struct {
	Conn           sidekiq.ConnectionFlags
	Namespace      string
	Listen         string
	TLS            TLSFiles
	MaxAge         time.Duration
	StreamInterval time.Duration
	DueLimit       int64
	ShutdownGrace  time.Duration
	LogLevel       string
}

// NewCommand is `mastoscale scaler`: the cobra command around Run. SIGTERM and SIGINT end it
// gracefully.
func NewCommand(s Streams) *cobra.Command {
	var f Flags
	cmd := &cobra.Command{
		Use:   "scaler --redis URL [--namespace NS] [--listen ADDR] [--grpc-tls-cert-file F --grpc-tls-key-file F [--grpc-client-ca-file F]]",
		Short: "Serve KEDA an external scaler that reads Sidekiq's Redis: latency, utilization, backlog",
		Long: `scaler is a KEDA external scaler (the ExternalScaler gRPC service of KEDA v2.21's
externalscaler.proto) that reads Sidekiq's Redis itself, so a worker scales on how long its jobs
wait and how busy its threads are, without Prometheus. Each ScaledObject trigger of type
"external" (or "external-push", for StreamIsActive) names its worker in its metadata:

  metric: latency | utilization | backlog
  deployment: the worker's Deployment (its pods are the processes utilization counts)
  queues: the worker's queues, comma-separated
  target: latency seconds (metricType: Value), a busy-thread fraction such as 0.7 (Value),
          or jobs per replica (AverageValue)
  activationBacklog: active above this many waiting jobs (default 0), or while threads are busy
  includeDue: "true" counts the due jobs of the retry and schedule sets of the queues

Every trigger asking within --max-age is served by one reading: one Redis pipeline. Redis
errors are gRPC errors, so KEDA applies the ScaledObject's fallback. The health service
(grpc.health.v1) answers SERVING until shutdown.

The Redis URL is redis://[user@]host[:port][/db] or rediss:// for TLS, without a password: the
password comes from --password-file, or the environment variable --password-env names (default:
MASTOSCALE_REDIS_PASSWORD, else the one Mastodon reads for Sidekiq's Redis: SIDEKIQ_REDIS_PASSWORD
when SIDEKIQ_REDIS_HOST is set, else REDIS_PASSWORD).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			return Run(ctx, s, &f)
		},
	}
	fl := cmd.Flags()
	f.Conn.Register(fl)
	fl.StringVar(&f.Namespace, "namespace", "", "REDIS_NAMESPACE prefix of Sidekiq's keys (Mastodon 4.3 and older)")
	fl.StringVar(&f.Listen, "listen", ":50051", "address the gRPC service listens on")
	fl.StringVar(&f.TLS.CertFile, "grpc-tls-cert-file", "", "PEM certificate the gRPC service presents (TLS; KEDA trusts it through caCert)")
	fl.StringVar(&f.TLS.KeyFile, "grpc-tls-key-file", "", "PEM key of --grpc-tls-cert-file")
	fl.StringVar(&f.TLS.ClientCAFile, "grpc-client-ca-file", "", "require client certificates signed by these authorities (KEDA's tlsClientCert/tlsClientKey)")
	fl.DurationVar(&f.MaxAge, "max-age", DefaultMaxAge, "a reading serves every trigger asking within this long")
	fl.DurationVar(&f.StreamInterval, "stream-interval", DefaultStreamInterval, "how often StreamIsActive looks whether a worker became active")
	fl.Int64Var(&f.DueLimit, "due-limit", DefaultDueLimit, "at most this many due jobs are read from each of retry and schedule (includeDue)")
	fl.DurationVar(&f.ShutdownGrace, "shutdown-grace", DefaultShutdownGrace, "on SIGTERM, how long requests under way may take")
	fl.StringVar(&f.LogLevel, "log-level", "info", "debug, info, warn or error")
	_ = cmd.MarkFlagRequired("redis")
	return cmd
}

// Run serves the scaler until ctx ends; the address it listens on is logged first.
func Run(ctx context.Context, s Streams, f *Flags) error {
	log, err := logger(s.ErrOut, f.LogLevel)
	if err != nil {
		return err
	}
	if err := f.check(); err != nil {
		return err
	}
	conn, err := f.Conn.Connection(s.LookupEnv)
	if err != nil {
		return err
	}
	client, where, err := conn.NewClient()
	if err != nil {
		return err
	}
	defer client.Close()
	redis.SetLogger(slogPrinter{log}) // go-redis' own messages go to the same log
	tlsCfg, err := f.TLS.Config()
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", f.Listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", f.Listen, err)
	}
	poller := &Poller{Client: client, Keys: sidekiq.Keys{Namespace: f.Namespace}, Where: where, Now: s.Now, MaxAge: f.MaxAge, DueLimit: f.DueLimit, Log: log}
	svc := &Service{Poller: poller, StreamInterval: f.StreamInterval, Log: log}
	log.Info("serving KEDA's ExternalScaler", "listen", l.Addr().String(), "tls", tlsCfg != nil,
		"clientCertificates", f.TLS.ClientCAFile != "", "redis", where, "namespace", f.Namespace)
	return Serve(ctx, l, svc, tlsCfg, f.ShutdownGrace, log)
}

// check reports every flag value out of range.
func (f *Flags) check() error {
	var errs []error
	if f.MaxAge < 0 {
		errs = append(errs, fmt.Errorf("--max-age %s must not be negative (0 reads Redis for every request)", f.MaxAge))
	}
	if f.StreamInterval <= 0 {
		errs = append(errs, fmt.Errorf("--stream-interval %s must be positive", f.StreamInterval))
	}
	if f.DueLimit <= 0 {
		errs = append(errs, fmt.Errorf("--due-limit %d must be positive", f.DueLimit))
	}
	if f.ShutdownGrace < 0 {
		errs = append(errs, fmt.Errorf("--shutdown-grace %s must not be negative", f.ShutdownGrace))
	}
	return errors.Join(errs...)
}

func logger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: write debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// slogPrinter hands go-redis' log lines to slog.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(_ context.Context, format string, args ...any) {
	p.log.Debug(fmt.Sprintf(format, args...), "from", "go-redis")
}
