package sidekiq_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/mastoscale/mastoscale/internal/sidekiq"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// aclUser is the least a Redis ACL user needs to read Sidekiq's keys (see internal/status).
var aclUser = []string{"--user", "mastoscale", "on", ">pw", "~*", "+@read", "+@transaction", "+@connection", "-@dangerous", "+scan"}

func TestSentinel(t *testing.T) {
	master := testutil.RedisServer(t, append(aclUser, "--requirepass", "masterpw")...)
	sentinel := testutil.RedisSentinel(t, "mymaster", master, "masterpw", "--requirepass", "sentinelpw")
	admin := client(t, sidekiq.Connection{URL: "redis://" + master, Password: "masterpw"})
	require.NoError(t, admin.LPush(context.Background(), "queue:default", `{"enqueued_at":1795464000.5}`).Err())

	c := sidekiq.Connection{URL: "redis://mastoscale@mymaster/0", Password: "pw", Sentinels: []string{sentinel}, SentinelPassword: "sentinelpw"}
	rc, where, err := c.NewClient()
	require.NoError(t, err)
	defer rc.Close()
	assert.Equal(t, `master "mymaster" of sentinels `+sentinel, where)
	n, err := rc.LLen(context.Background(), "queue:default").Result()
	require.NoError(t, err, "the ACL user reads the master the sentinel names")
	assert.Equal(t, int64(1), n)

	c.SentinelPassword = "wrong"
	bad, _, err := c.NewClient()
	require.NoError(t, err)
	defer bad.Close()
	assert.Error(t, bad.LLen(context.Background(), "queue:default").Err(), "a sentinel refusing the password yields no master")
}

func TestConnectionFlags(t *testing.T) {
	env := map[string]string{"SIDEKIQ_REDIS_PASSWORD": "sidekiq", "REDIS_PASSWORD": "redis", "MASTOSCALE_REDIS_PASSWORD": "", "MINE": "mine", "SIDEKIQ_REDIS_SENTINEL_PASSWORD": "sent"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	file := filepath.Join(t.TempDir(), "pw")
	require.NoError(t, os.WriteFile(file, []byte("from-file\n"), 0o600))

	parse := func(args ...string) (sidekiq.Connection, error) {
		var f sidekiq.ConnectionFlags
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		f.Register(fs)
		require.NoError(t, fs.Parse(args))
		return f.Connection(lookup)
	}
	c, err := parse("--redis", "redis://r")
	require.NoError(t, err)
	assert.Equal(t, "redis", c.Password, "without SIDEKIQ_REDIS_HOST Mastodon reads REDIS_PASSWORD; empty ones are skipped")
	env["SIDEKIQ_REDIS_HOST"] = " "
	c, err = parse("--redis", "redis://r")
	require.NoError(t, err)
	assert.Equal(t, "redis", c.Password, "a blank SIDEKIQ_REDIS_HOST is unset, as in Mastodon")
	env["SIDEKIQ_REDIS_HOST"] = "sk-redis"
	c, err = parse("--redis", "redis://r")
	require.NoError(t, err)
	assert.Equal(t, "sidekiq", c.Password, "with SIDEKIQ_REDIS_HOST Mastodon reads SIDEKIQ_REDIS_PASSWORD")
	delete(env, "SIDEKIQ_REDIS_PASSWORD")
	c, err = parse("--redis", "redis://r")
	require.NoError(t, err)
	assert.Empty(t, c.Password, "and never falls back to REDIS_PASSWORD")
	env["SIDEKIQ_REDIS_PASSWORD"] = "sidekiq"
	c, err = parse("--redis", "redis://r", "--password-env", "MINE")
	require.NoError(t, err)
	assert.Equal(t, "mine", c.Password)
	c, err = parse("--redis", "redis://r", "--password-file", file)
	require.NoError(t, err)
	assert.Equal(t, "from-file", c.Password, "the trailing newline is not part of it")
	c, err = parse("--redis", "redis://m", "--sentinels", "a:26379,b:26379")
	require.NoError(t, err)
	assert.Equal(t, []string{"a:26379", "b:26379"}, c.Sentinels)
	assert.Equal(t, "sent", c.SentinelPassword)

	for want, args := range map[string][]string{
		"give --password-env or --password-file, not both":                   {"--password-env", "MINE", "--password-file", file},
		"--password-env NOPE: the variable is not set":                       {"--password-env", "NOPE"},
		"reading the Redis password":                                         {"--password-file", "/nonexistent"},
		"go with --sentinels":                                                {"--sentinel-username", "u"},
		"give --sentinel-password-env or --sentinel-password-file, not both": {"--sentinels", "a:1", "--sentinel-password-env", "MINE", "--sentinel-password-file", file},
		"reading --tls-ca-file":                                              {"--tls-ca-file", "/nonexistent"},
	} {
		_, err := parse(append([]string{"--redis", "redis://r"}, args...)...)
		assert.ErrorContains(t, err, want)
	}
}
