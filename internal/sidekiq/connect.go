package status

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Timeouts that keep `mastoscale status` from hanging on a Redis that is down or unreachable.
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
	URL string
	// Password is the password (of the ACL user, or requirepass), read from an env var or file.
	Password string
	// TLSInsecure skips certificate verification (KEDA's unsafeSsl).
	TLSInsecure bool
	// CACert is a PEM bundle of the authorities to trust instead of the system's (KEDA's ca).
	CACert []byte
}

// Options returns the go-redis options of c, with bounded timeouts and no retries: a status
// reading fails fast and says why rather than waiting.
func (c Connection) Options() (*redis.Options, error) {
	u, err := url.Parse(c.URL)
	if err != nil {
		return nil, fmt.Errorf("the Redis URL is not a URL: %w", err)
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, fmt.Errorf("the Redis URL %q must start with redis:// or rediss:// (TLS)", redact(u))
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			return nil, ErrPasswordInURL
		}
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("the Redis URL %q has query parameters or a fragment: write redis://[user@]host[:port][/db] and use flags for the rest", redact(u))
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return nil, fmt.Errorf("the Redis URL %q names no host: write redis://host:6379/0", redact(u))
	}
	if port == "" {
		port = "6379"
	}
	db := 0
	if p := strings.Trim(u.Path, "/"); p != "" {
		if db, err = strconv.Atoi(p); err != nil || db < 0 {
			return nil, fmt.Errorf("the Redis URL's path %q must be a database index, e.g. /0", u.Path)
		}
	}
	o := &redis.Options{
		Addr:                  net.JoinHostPort(host, port),
		Password:              c.Password,
		DB:                    db,
		Protocol:              2, // RESP2 works with every Redis Sidekiq supports; no HELLO needed
		DisableIdentity:       true,
		DialTimeout:           DialTimeout,
		DialerRetries:         1,
		ReadTimeout:           IOTimeout,
		WriteTimeout:          IOTimeout,
		ContextTimeoutEnabled: true,
		MaxRetries:            -1,
		PoolSize:              2,
	}
	if u.User != nil {
		o.Username = u.User.Username()
	}
	if u.Scheme == "rediss" {
		o.TLSConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.TLSInsecure} //nolint:gosec // only on --tls-insecure
		if len(c.CACert) > 0 {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(c.CACert) {
				return nil, errors.New("the CA file holds no PEM certificate")
			}
			o.TLSConfig.RootCAs = pool
		}
	} else if c.TLSInsecure || len(c.CACert) > 0 {
		return nil, fmt.Errorf("--tls-insecure and --tls-ca-file need a rediss:// URL")
	}
	return o, nil
}

// redact prints u without user information.
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}
