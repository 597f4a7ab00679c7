package sidekiq

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/spf13/pflag"
)

// The environment variables a command reads the passwords from by default: ours first, then
// the one Mastodon reads for Sidekiq's Redis (layout.SidekiqRedisPrefix: SIDEKIQ_REDIS_* once
// SIDEKIQ_REDIS_HOST, _URL or _SENTINELS is set and not blank, with no fallback, else
// REDIS_*), so a command works as is inside a Mastodon pod. Empty ones are skipped.
const (
	passwordEnvHelp         = "MASTOSCALE_REDIS_PASSWORD, then SIDEKIQ_REDIS_PASSWORD when SIDEKIQ_REDIS_HOST is set, else REDIS_PASSWORD, as Mastodon reads them"
	sentinelPasswordEnvHelp = "MASTOSCALE_REDIS_SENTINEL_PASSWORD, then SIDEKIQ_REDIS_SENTINEL_PASSWORD when SIDEKIQ_REDIS_HOST is set, else REDIS_SENTINEL_PASSWORD"
)

func passwordEnvDefaults(lookupEnv func(string) (string, bool), what string) []string {
	prefix := layout.SidekiqRedisPrefix(func(name string) bool {
		v, _ := lookupEnv(name)
		return strings.TrimSpace(v) != ""
	})
	return []string{"MASTOSCALE_REDIS_" + what, prefix + what}
}

// ConnectionFlags are the command-line flags that say how to reach Sidekiq's Redis, shared by
// every command that reads it. Passwords come from a file or an environment variable only.
type ConnectionFlags struct {
	URL                  string
	PasswordEnv          string
	PasswordFile         string
	TLSInsecure          bool
	TLSCAFile            string
	Sentinels            []string
	SentinelUsername     string
	SentinelPasswordEnv  string
	SentinelPasswordFile string
}

// Register adds the flags to fs.
func (f *ConnectionFlags) Register(fs *pflag.FlagSet) {
	fs.StringVar(&f.URL, "redis", "", "Sidekiq's Redis: redis://[user@]host[:port][/db] or rediss://... (no password)")
	fs.StringVar(&f.PasswordEnv, "password-env", "", "environment variable holding the Redis password (default: the first non-empty of "+passwordEnvHelp+")")
	fs.StringVar(&f.PasswordFile, "password-file", "", "file holding the Redis password")
	fs.BoolVar(&f.TLSInsecure, "tls-insecure", false, "with rediss://, skip verifying the server certificate")
	fs.StringVar(&f.TLSCAFile, "tls-ca-file", "", "with rediss://, PEM file of the authorities to trust instead of the system's")
	fs.StringSliceVar(&f.Sentinels, "sentinels", nil, "host:port of Redis Sentinels to ask for the master; --redis then names the master: redis://[user@]MASTER[/db]")
	fs.StringVar(&f.SentinelUsername, "sentinel-username", "", "with --sentinels, the ACL user of the sentinels themselves")
	fs.StringVar(&f.SentinelPasswordEnv, "sentinel-password-env", "", "with --sentinels, environment variable holding the sentinels' password (default: the first non-empty of "+sentinelPasswordEnvHelp+")")
	fs.StringVar(&f.SentinelPasswordFile, "sentinel-password-file", "", "with --sentinels, file holding the sentinels' password")
}

// Connection reads the passwords and the CA file and returns the connection the flags describe;
// lookupEnv is the environment (os.LookupEnv outside tests). The URL itself is checked when the
// connection is used (Connection.Options), so all URL rules stay in one place.
func (f *ConnectionFlags) Connection(lookupEnv func(string) (string, bool)) (Connection, error) {
	c := Connection{URL: f.URL, TLSInsecure: f.TLSInsecure, Sentinels: f.Sentinels, SentinelUsername: f.SentinelUsername}
	var err error
	if c.Password, err = secret("--password-env", f.PasswordEnv, "--password-file", f.PasswordFile, passwordEnvDefaults(lookupEnv, "PASSWORD"), "the Redis password", lookupEnv); err != nil {
		return Connection{}, err
	}
	if len(f.Sentinels) == 0 {
		if f.SentinelUsername != "" || f.SentinelPasswordEnv != "" || f.SentinelPasswordFile != "" {
			return Connection{}, errors.New("--sentinel-username, --sentinel-password-env and --sentinel-password-file go with --sentinels")
		}
	} else if c.SentinelPassword, err = secret("--sentinel-password-env", f.SentinelPasswordEnv, "--sentinel-password-file", f.SentinelPasswordFile, passwordEnvDefaults(lookupEnv, "SENTINEL_PASSWORD"), "the sentinels' password", lookupEnv); err != nil {
		return Connection{}, err
	}
	if f.TLSCAFile != "" {
		if c.CACert, err = os.ReadFile(f.TLSCAFile); err != nil {
			return Connection{}, fmt.Errorf("reading --tls-ca-file: %w", err)
		}
	}
	return c, nil
}

// secret reads a password from a file or the environment, never from argv.
func secret(envFlag, env, fileFlag, file string, defaults []string, what string, lookupEnv func(string) (string, bool)) (string, error) {
	if file != "" && env != "" {
		return "", fmt.Errorf("give %s or %s, not both", envFlag, fileFlag)
	}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", what, err)
		}
		return strings.TrimRight(string(data), "\r\n"), nil
	}
	if env != "" {
		p, ok := lookupEnv(env)
		if !ok {
			return "", fmt.Errorf("%s %s: the variable is not set", envFlag, env)
		}
		return p, nil
	}
	for _, name := range defaults {
		if p, _ := lookupEnv(name); p != "" {
			return p, nil
		}
	}
	return "", nil
}
