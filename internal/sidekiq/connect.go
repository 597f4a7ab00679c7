package sidekiq

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Timeouts that keep a reading from hanging on a Redis that is down or unreachable.
const (
	DialTimeout = 2 * time.Second
	IOTimeout   = 3 * time.Second
)

// ErrPasswordInURL refuses a Redis URL that carries a password: command lines are visible to
// every user of the machine (ps, /proc) and end up in shell histories.
var ErrPasswordInURL = errors.New("the Redis URL carries a password: remove it from the URL and give it with --password-env NAME or --password-file PATH, never on the command line")

// Connection says how to reach Sidekiq's Redis.
type Connection struct {
	// URL is redis://[user@]host[:port][/db] or rediss:// for TLS. It must not hold a password.
	// With Sentinels, host is the name of the master the sentinels watch (as in Sidekiq's own
	// sentinel configuration, url: "redis://mymaster") and a port is refused.
	URL string
	// Password is the password (of the ACL user, or requirepass), read from an env var or file.
	Password string
	// TLSInsecure skips certificate verification (KEDA's unsafeSsl).
	TLSInsecure bool
	// CACert is a PEM bundle of the authorities to trust instead of the system's (KEDA's ca).
	CACert []byte
	// Sentinels are the host:port addresses of Redis Sentinels; empty for a direct connection.
	Sentinels []string
	// SentinelUsername and SentinelPassword authenticate to the sentinels themselves.
	SentinelUsername string
	SentinelPassword string
}

// target is what a URL says: where, as whom, which database, with or without TLS.
type target struct {
	host, port, user string
	db               int
	tls              *tls.Config
}

// Options returns the go-redis options of a direct connection, with bounded timeouts and no
// retries: a reading fails fast and says why rather than waiting.
func (c Connection) Options() (*redis.Options, error) {
	if len(c.Sentinels) > 0 {
		return nil, errors.New("the connection goes through sentinels: use FailoverOptions")
	}
	t, err := c.target()
	if err != nil {
		return nil, err
	}
	if t.port == "" {
		t.port = "6379"
	}
	return &redis.Options{
		Addr:                  net.JoinHostPort(t.host, t.port),
		Username:              t.user,
		Password:              c.Password,
		DB:                    t.db,
		TLSConfig:             t.tls,
		Protocol:              2, // RESP2 works with every Redis Sidekiq supports; no HELLO needed
		DisableIdentity:       true,
		DialTimeout:           DialTimeout,
		DialerRetries:         1,
		ReadTimeout:           IOTimeout,
		WriteTimeout:          IOTimeout,
		ContextTimeoutEnabled: true,
		MaxRetries:            -1,
		PoolSize:              2,
	}, nil
}

// FailoverOptions returns the go-redis options of a connection through Sentinels to the master
// the URL names, with the same timeouts as Options.
func (c Connection) FailoverOptions() (*redis.FailoverOptions, error) {
	if len(c.Sentinels) == 0 {
		return nil, errors.New("no sentinels given: use Options")
	}
	t, err := c.target()
	if err != nil {
		return nil, err
	}
	if t.port != "" {
		return nil, fmt.Errorf("with --sentinels the Redis URL names the sentinel master, not a server: write redis://[user@]%s[/db] without a port", t.host)
	}
	for _, s := range c.Sentinels {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return nil, fmt.Errorf("sentinel address %q must be host:port (e.g. redis-sentinel:26379)", s)
		}
	}
	return &redis.FailoverOptions{
		MasterName:            t.host,
		SentinelAddrs:         c.Sentinels,
		SentinelUsername:      c.SentinelUsername,
		SentinelPassword:      c.SentinelPassword,
		Username:              t.user,
		Password:              c.Password,
		DB:                    t.db,
		TLSConfig:             t.tls,
		Protocol:              2,
		DisableIdentity:       true,
		DialTimeout:           DialTimeout,
		ReadTimeout:           IOTimeout,
		WriteTimeout:          IOTimeout,
		ContextTimeoutEnabled: true,
		MaxRetries:            -1,
		PoolSize:              2,
	}, nil
}

// NewClient connects as c says, directly or through the sentinels, and returns the client and
// a description of where it reads for messages (never the password).
func (c Connection) NewClient() (*redis.Client, string, error) {
	if len(c.Sentinels) == 0 {
		o, err := c.Options()
		if err != nil {
			return nil, "", err
		}
		return redis.NewClient(o), o.Addr, nil
	}
	o, err := c.FailoverOptions()
	if err != nil {
		return nil, "", err
	}
	return redis.NewFailoverClient(o), fmt.Sprintf("master %q of sentinels %s", o.MasterName, strings.Join(o.SentinelAddrs, ",")), nil
}

// target parses and checks the URL and the TLS settings.
func (c Connection) target() (target, error) {
	u, err := url.Parse(c.URL)
	if err != nil {
		return target{}, fmt.Errorf("the Redis URL is not a URL: %w", err)
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return target{}, fmt.Errorf("the Redis URL %q must start with redis:// or rediss:// (TLS)", redact(u))
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			return target{}, ErrPasswordInURL
		}
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return target{}, fmt.Errorf("the Redis URL %q has query parameters or a fragment: write redis://[user@]host[:port][/db] and use flags for the rest", redact(u))
	}
	t := target{host: u.Hostname(), port: u.Port()}
	if t.host == "" {
		return target{}, fmt.Errorf("the Redis URL %q names no host: write redis://host:6379/0", redact(u))
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		if t.db, err = strconv.Atoi(p); err != nil || t.db < 0 {
			return target{}, fmt.Errorf("the Redis URL's path %q must be a database index, e.g. /0", u.Path)
		}
	}
	if u.User != nil {
		t.user = u.User.Username()
	}
	if t.tls, err = c.tlsConfig(u.Scheme == "rediss", t.host); err != nil {
		return target{}, err
	}
	return t, nil
}

func (c Connection) tlsConfig(on bool, host string) (*tls.Config, error) {
	if !on {
		if c.TLSInsecure || len(c.CACert) > 0 {
			return nil, fmt.Errorf("--tls-insecure and --tls-ca-file need a rediss:// URL")
		}
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.TLSInsecure} //nolint:gosec // only on --tls-insecure
	if len(c.Sentinels) == 0 {
		// Through sentinels the servers are found by address, so go-redis names each one.
		cfg.ServerName = host
	}
	if len(c.CACert) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(c.CACert) {
			return nil, errors.New("the CA file holds no PEM certificate")
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// Explain adds to an error of a reading through c what may have caused it: a TLS URL
// (rediss://) to a Redis port that speaks plain TCP (the handshake times out or is refused), or
// a plain URL to a port that expects TLS (the server hangs up).
func (c Connection) Explain(err error) error {
	if err == nil {
		return nil
	}
	var ne net.Error
	timeout := errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded)
	closed := errors.Is(err, io.EOF) || strings.Contains(err.Error(), "connection reset")
	if strings.HasPrefix(c.URL, "rediss://") {
		if timeout || closed || strings.Contains(err.Error(), "tls:") {
			return fmt.Errorf("%w (the URL is rediss://, so the connection starts with a TLS handshake: if this Redis port is plain TCP, use redis://)", err)
		}
		return err
	}
	if closed || timeout {
		return fmt.Errorf("%w (if this Redis port expects TLS, use rediss://)", err)
	}
	return err
}

// redact prints u without user information.
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}
