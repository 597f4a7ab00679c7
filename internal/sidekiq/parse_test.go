package sidekiq

import (
	"testing"
	"time"

	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var _ = testutil.Update

func TestEnqueuedAt(t *testing.T) {
	want := time.Date(2026, 11, 23, 20, 0, 0, 250_000_000, time.UTC)
	for name, tc := range map[string]struct {
		job  string
		want time.Time
		ok   bool
	}{
		"Sidekiq 7 float seconds":   {job: `{"class":"A","enqueued_at":1795464000.25}`, want: want, ok: true},
		"Sidekiq 8 integer millis":  {job: `{"class":"A","enqueued_at":1795464000250}`, want: want, ok: true},
		"whole seconds":             {job: `{"enqueued_at":1795464000}`, want: want.Truncate(time.Second), ok: true},
		"no enqueued_at (new job)":  {job: `{"class":"A","created_at":1795464000.25}`},
		"not JSON":                  {job: `garbage`},
		"string timestamp":          {job: `{"enqueued_at":"soon"}`},
		"microsecond float precise": {job: `{"enqueued_at":1795464000.000001}`, want: time.Date(2026, 11, 23, 20, 0, 0, 1000, time.UTC), ok: true},
	} {
		t.Run(name, func(t *testing.T) {
			got, ok := EnqueuedAt([]byte(tc.job))
			assert.Equal(t, tc.ok, ok)
			assert.True(t, tc.want.Equal(got), "got %v, want %v", got, tc.want)
		})
	}
}

func TestParseProcess(t *testing.T) {
	info := `{"hostname":"web-1","started_at":1795460400.5,"pid":7,"tag":"mastodon","concurrency":25,` +
		`"queues":["push","pull","push"],"weights":[{"push":6,"pull":0}],"labels":[],"identity":"web-1:7:abc","version":"8.0.8","embedded":false}`
	p, err := ParseProcess("web-1:7:abc", Heartbeat{Info: info, Busy: "3", Beat: "1795464000.5", Quiet: "false"})
	require.NoError(t, err)
	assert.Equal(t, Process{
		Identity: "web-1:7:abc", Hostname: "web-1", PID: 7, Tag: "mastodon", Version: "8.0.8", Concurrency: 25,
		Queues: []string{"pull", "push"}, Busy: 3, Beat: time.Date(2026, 11, 23, 20, 0, 0, 500_000_000, time.UTC),
	}, p)

	p, err = ParseProcess("x", Heartbeat{Info: info, Busy: "0", Beat: "1795464000.5", Quiet: "true"})
	require.NoError(t, err)
	assert.True(t, p.Quiet)

	// Sidekiq 8.1.2 and later keep the concurrency in the hash, not in the info.
	p, err = ParseProcess("x", Heartbeat{Info: `{"hostname":"web-1","pid":7,"queues":["default"]}`, Busy: "1", Concurrency: "10"})
	require.NoError(t, err)
	assert.Equal(t, int32(10), p.Concurrency)
	p, err = ParseProcess("x", Heartbeat{Info: info, Concurrency: "12"})
	require.NoError(t, err)
	assert.Equal(t, int32(12), p.Concurrency, "the hash's field is the current one")

	_, err = ParseProcess("x", Heartbeat{Info: "{", Busy: "0", Quiet: "false"})
	assert.ErrorContains(t, err, `process "x": reading its info`)
	_, err = ParseProcess("x", Heartbeat{Info: info, Busy: "lots", Quiet: "false"})
	assert.ErrorContains(t, err, `busy "lots" is not a number`)
	_, err = ParseProcess("x", Heartbeat{Info: info, Concurrency: "many"})
	assert.ErrorContains(t, err, `concurrency "many" is not a number`)
}

func TestWorkQueue(t *testing.T) {
	q, ok := WorkQueue(`{"queue":"ingress","payload":"{\"class\":\"A\"}","run_at":1795464000}`)
	assert.True(t, ok)
	assert.Equal(t, "ingress", q)
	_, ok = WorkQueue(`{"payload":{}}`)
	assert.False(t, ok)
}
