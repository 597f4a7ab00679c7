package sidekiq

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConnectionOptions(t *testing.T) {
	o, err := Connection{URL: "redis://mastoscale@redis.example:6380/3", Password: "pw"}.Options()
	require.NoError(t, err)
	assert.Equal(t, "redis.example:6380", o.Addr)
	assert.Equal(t, "mastoscale", o.Username)
	assert.Equal(t, "pw", o.Password)
	assert.Equal(t, 3, o.DB)
	assert.Nil(t, o.TLSConfig)
	assert.Equal(t, DialTimeout, o.DialTimeout)
	assert.Equal(t, IOTimeout, o.ReadTimeout)

	o, err = Connection{URL: "rediss://redis.example", TLSInsecure: true}.Options()
	require.NoError(t, err)
	assert.Equal(t, "redis.example:6379", o.Addr)
	assert.Equal(t, 0, o.DB)
	require.NotNil(t, o.TLSConfig)
	assert.True(t, o.TLSConfig.InsecureSkipVerify)
	assert.Equal(t, "redis.example", o.TLSConfig.ServerName)

	for url, want := range map[string]string{
		"redis://:secret@redis:6379/0":     "carries a password",
		"redis://user:secret@redis:6379/0": "carries a password",
		"http://redis:6379":                "must start with redis:// or rediss://",
		"redis://redis:6379/0?password=x":  "query parameters",
		"redis://redis:6379/zero":          "must be a database index",
		"redis:///0":                       "names no host",
	} {
		_, err := Connection{URL: url}.Options()
		assert.ErrorContains(t, err, want, url)
		if err != nil {
			assert.NotContains(t, err.Error(), "secret", "an error must not echo the password")
		}
	}
	_, err = Connection{URL: "redis://redis", TLSInsecure: true}.Options()
	assert.ErrorContains(t, err, "--tls-insecure and --tls-ca-file need a rediss:// URL")
	_, err = Connection{URL: "rediss://redis", CACert: []byte("not PEM")}.Options()
	assert.ErrorContains(t, err, "the CA file holds no PEM certificate")
}

func TestFailoverOptions(t *testing.T) {
	o, err := Connection{URL: "rediss://mastoscale@mymaster/2", Password: "pw", Sentinels: []string{"s1:26379", "s2:26379"},
		SentinelUsername: "watcher", SentinelPassword: "spw"}.FailoverOptions()
	require.NoError(t, err)
	assert.Equal(t, "mymaster", o.MasterName)
	assert.Equal(t, []string{"s1:26379", "s2:26379"}, o.SentinelAddrs)
	assert.Equal(t, [4]string{"mastoscale", "pw", "watcher", "spw"}, [4]string{o.Username, o.Password, o.SentinelUsername, o.SentinelPassword})
	assert.Equal(t, 2, o.DB)
	require.NotNil(t, o.TLSConfig)
	assert.Empty(t, o.TLSConfig.ServerName, "each server is named by the address the sentinels give")

	_, err = Connection{URL: "redis://mymaster:6379", Sentinels: []string{"s1:26379"}}.FailoverOptions()
	assert.ErrorContains(t, err, "names the sentinel master, not a server")
	_, err = Connection{URL: "redis://mymaster", Sentinels: []string{"s1"}}.FailoverOptions()
	assert.ErrorContains(t, err, `sentinel address "s1" must be host:port`)
	_, err = Connection{URL: "redis://:pw@mymaster", Sentinels: []string{"s1:26379"}}.FailoverOptions()
	assert.ErrorIs(t, err, ErrPasswordInURL)
	_, err = Connection{URL: "redis://mymaster", Sentinels: []string{"s1:26379"}}.Options()
	assert.Error(t, err)
}
