package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mastoscale/mastoscale/internal/sidekiq/sidekiqtest"
	"github.com/mastoscale/mastoscale/internal/status"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

var statusNow = time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)

// fixClock makes `status` read the time t, advancing by step at every reading.
func fixClock(t *testing.T, step time.Duration) {
	t.Helper()
	at := statusNow
	statusClock = func() time.Time {
		now := at
		at = at.Add(step)
		return now
	}
	statusAfter = func(time.Duration) <-chan time.Time {
		c := make(chan time.Time, 1)
		c <- at
		return c
	}
	t.Cleanup(func() { statusClock, statusAfter = time.Now, time.After })
}

func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Run(args, Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, Getenv: os.Getenv}) // tests set variables with t.Setenv
	return out.String(), errOut.String(), code
}

// busyIngress writes the Redis of a Mastodon 4.5 server whose ingress queue is 1567 jobs deep.
func busyIngress(t *testing.T, addr string) {
	sk := sidekiqtest.New(t, addr)
	sk.Push("ingress", 1567, statusNow.Add(-90*time.Second))
	sk.Millis = true // Sidekiq 8
	sk.Push("default", 3, statusNow.Add(-1500*time.Millisecond))
	sk.Push("mailers", 120, statusNow.Add(-4*time.Minute))
	sk.Millis = false
	beat := statusNow.Add(-2 * time.Second)
	for _, p := range []sidekiqtest.Process{
		{Hostname: "mastodon-sidekiq-ingress-6f7d9-a1", PID: 1, Concurrency: 25, Queues: []string{"ingress"}, Busy: []string{"ingress", "ingress"}, Beat: beat},
		{Hostname: "mastodon-sidekiq-default-5c4b8-b2", PID: 1, Concurrency: 25, Queues: []string{"default"}, Busy: []string{"default"}, Beat: beat},
		{Hostname: "mastodon-sidekiq-push-pull-7b8c9-c3", PID: 1, Concurrency: 25, Queues: []string{"push,6", "pull", "fasp"}, Beat: beat},
		{Hostname: "mastodon-sidekiq-scheduler-8d9e0-d4", PID: 1, Concurrency: 5, Queues: []string{"scheduler"}, Beat: beat},
	} {
		sk.Heartbeat(p)
	}
	sk.Stats(98765, 4, 12, 1)
}

func TestStatusGolden(t *testing.T) {
	addr := testutil.RedisServer(t)
	busyIngress(t, addr)
	fixClock(t, 0)
	layoutFile := filepath.Join("testdata", "status", "layout.yaml")

	table, stderr, code := run(t, "status", "--redis", "redis://"+addr+"/0", "-f", layoutFile)
	require.Equal(t, 0, code, stderr)
	testutil.Golden(t, filepath.Join("testdata", "status", "table.golden"), []byte(table))
	assert.Regexp(t, `(?m)^ingress\s+1567/1500\s+1\s+4\s+1\s+2\s+50$`, table, "the ingress worker asks for 2 replicas")

	out, stderr, code := run(t, "status", "--redis", "redis://"+addr+"/0", "-f", layoutFile, "-o", "json")
	require.Equal(t, 0, code, stderr)
	testutil.Golden(t, filepath.Join("testdata", "status", "status.json.golden"), []byte(out))
	var st status.Status
	require.NoError(t, json.Unmarshal([]byte(out), &st))
	require.Equal(t, "ingress", st.Workers[1].Name)
	assert.Equal(t, []status.Target{{Queue: "ingress", Backlog: 1567, ListLength: 1500}}, st.Workers[1].Targets)
	assert.Equal(t, int32(2), st.Workers[1].Replicas)
	assert.Equal(t, int64(50), st.Workers[1].Connections)
	assert.InDelta(t, 90.0, st.Queues[2].LatencySeconds, 1e-9)

	// Without a layout: queues only.
	bare, stderr, code := run(t, "status", "--redis", "redis://"+addr)
	require.Equal(t, 0, code, stderr)
	testutil.Golden(t, filepath.Join("testdata", "status", "nolayout.golden"), []byte(bare))
}

func TestStatusPassword(t *testing.T) {
	addr := testutil.RedisServer(t, "--requirepass", "s3cret")
	fixClock(t, 0)
	url := "redis://" + addr

	_, stderr, code := run(t, "status", "--redis", "redis://:s3cret@"+addr)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "the Redis URL carries a password")
	assert.NotContains(t, stderr, "s3cret")

	t.Setenv("MASTOSCALE_REDIS_PASSWORD", "")
	t.Setenv("SIDEKIQ_REDIS_PASSWORD", "")
	t.Setenv("REDIS_PASSWORD", "")
	_, stderr, code = run(t, "status", "--redis", url)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "NOAUTH")

	t.Setenv("REDIS_PASSWORD", "s3cret")
	_, stderr, code = run(t, "status", "--redis", url)
	assert.Equal(t, 0, code, "REDIS_PASSWORD is used when the others are empty: %s", stderr)

	t.Setenv("SIDEKIQ_REDIS_PASSWORD", "s3cret")
	t.Setenv("REDIS_PASSWORD", "wrong")
	t.Setenv("SIDEKIQ_REDIS_HOST", "sidekiq-redis")
	_, stderr, code = run(t, "status", "--redis", url)
	assert.Equal(t, 0, code, "with SIDEKIQ_REDIS_HOST, Mastodon reads SIDEKIQ_REDIS_PASSWORD: %s", stderr)

	t.Setenv("SIDEKIQ_REDIS_HOST", "")
	t.Setenv("SIDEKIQ_REDIS_PASSWORD", "")
	t.Setenv("OUR_SECRET", "s3cret")
	_, stderr, code = run(t, "status", "--redis", url, "--password-env", "OUR_SECRET")
	assert.Equal(t, 0, code, stderr)
	_, stderr, code = run(t, "status", "--redis", url, "--password-env", "NOT_SET_ANYWHERE")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "--password-env NOT_SET_ANYWHERE: the variable is not set")

	file := filepath.Join(t.TempDir(), "password")
	require.NoError(t, os.WriteFile(file, []byte("s3cret\n"), 0o600))
	_, stderr, code = run(t, "status", "--redis", url, "--password-file", file)
	assert.Equal(t, 0, code, stderr)
}

func TestStatusRedisDown(t *testing.T) {
	fixClock(t, 0)
	addr := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	out, stderr, code := run(t, "status", "--redis", "redis://"+addr)
	assert.Equal(t, 2, code)
	assert.Empty(t, out)
	assert.Equal(t, fmt.Sprintf("mastoscale: reading Redis at %s: reading the queue set \"queues\": dial tcp %s: connect: connection refused\n", addr, addr), stderr)

	// The same for a watch: the first failed reading ends it.
	_, _, code = run(t, "status", "--redis", "redis://"+addr, "--watch", "--interval", "1ms")
	assert.Equal(t, 2, code)
}

func TestStatusFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"status"}, `required flag(s) "redis" not set`},
		{[]string{"status", "--redis", "redis://x", "-o", "yaml"}, "--output must be table or json"},
		{[]string{"status", "--redis", "redis://x", "--duration", "1m"}, "--duration goes with --watch or --record"},
		{[]string{"status", "--redis", "redis://x", "--watch", "--interval", "0s"}, "--interval must be positive"},
		{[]string{"status", "--redis", "redis://x?db=1"}, "query parameters"},
		{[]string{"status", "--redis", "redis://x", "--record", "t.csv", "--interval", "1500ms"}, "--record writes whole seconds"},
		{[]string{"status", "--redis", "redis://x", "--password-env", "A", "--password-file", "b"}, "not both"},
	} {
		_, stderr, code := run(t, tc.args...)
		assert.Equal(t, 1, code, tc.args)
		assert.Contains(t, stderr, tc.want, tc.args)
	}
}

func TestStatusWatchAndRecord(t *testing.T) {
	addr := testutil.RedisServer(t)
	busyIngress(t, addr)
	fixClock(t, time.Second)
	trace := filepath.Join(t.TempDir(), "trace.csv")

	out, stderr, code := run(t, "status", "--redis", "redis://"+addr, "--watch", "--record", trace, "--interval", "1s", "--duration", "2s")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, 3, strings.Count(out, "--- 2026-11-23T20:00:0"), "a baseline and two readings, appended, not redrawn")
	assert.NotContains(t, out, "\x1b[", "no terminal escapes into a pipe")
	assert.Equal(t, "recorded 2 intervals of 1s to "+trace+"\n", stderr)
	data, err := os.ReadFile(trace)
	require.NoError(t, err)
	testutil.Golden(t, filepath.Join("testdata", "status", "trace.csv.golden"), data)

	// Appending to an existing trace continues it: no second header, times go on.
	_, stderr, code = run(t, "status", "--redis", "redis://"+addr, "--record", trace, "--interval", "1s", "--duration", "1s")
	require.Equal(t, 0, code, stderr)
	data, err = os.ReadFile(trace)
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(string(data), "time,queue,enqueued"))
	assert.True(t, strings.HasSuffix(string(data), "1,scheduler,0\n2,default,0\n2,fasp,0\n2,ingress,0\n2,mailers,0\n2,pull,0\n2,push,0\n2,scheduler,0\n"), string(data))

	notATrace := filepath.Join(t.TempDir(), "other.csv")
	require.NoError(t, os.WriteFile(notATrace, []byte("a,b\n1,2\n"), 0o600))
	_, stderr, code = run(t, "status", "--redis", "redis://"+addr, "--record", notATrace, "--interval", "1s", "--duration", "1s")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `not a trace: the header is "a,b", not "time,queue,enqueued"`)

	out, stderr, code = run(t, "status", "--redis", "redis://"+addr, "--watch", "-o", "json", "--interval", "1ms", "--duration", "1ms")
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2, "one JSON document a line")
	for _, line := range lines {
		var st status.Status
		require.NoError(t, json.Unmarshal([]byte(line), &st))
	}
}

func TestStatusNamespaceFromLayout(t *testing.T) {
	addr := testutil.RedisServer(t)
	sk := sidekiqtest.New(t, addr)
	sk.Namespace = "masto5"
	sk.Push("default", 7, statusNow.Add(-time.Second))
	sk.Heartbeat(sidekiqtest.Process{Hostname: "sidekiq", PID: 1, Concurrency: 25,
		Queues: []string{"default,8", "push,6", "ingress,4", "mailers,2", "pull", "scheduler"}, Beat: statusNow})
	fixClock(t, 0)
	layoutFile := filepath.Join("testdata", "status", "layout-4.3.yaml")

	out, stderr, code := run(t, "status", "--redis", "redis://"+addr, "-f", layoutFile, "-o", "json")
	require.Equal(t, 0, code, stderr)
	var st status.Status
	require.NoError(t, json.Unmarshal([]byte(out), &st))
	assert.Equal(t, "masto5", st.Namespace)
	assert.Equal(t, int64(7), st.Queues[0].Backlog)
	assert.Equal(t, []string{"process sidekiq:1:000000000001: REDIS_NAMESPACE is deprecated in Mastodon 4.3 and removed in 4.4: plan the key migration before upgrading"},
		st.Warnings, "the processes run with REDIS_NAMESPACE, and the layout's rules say of it what they say of the layout")
	assert.Equal(t, 1, st.Workers[0].Processes)

	// --namespace overrides the layout; reading the wrong one warns where the keys are.
	out, stderr, code = run(t, "status", "--redis", "redis://"+addr, "-f", layoutFile, "--namespace", "")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, `warning: Redis holds Sidekiq keys under namespace "masto5" (masto5:queues) while no namespace was read (--namespace)`)
	assert.Contains(t, out, "warning: no live Sidekiq process is registered")

	// A watch scans for other namespaces once and keeps warning at every reading.
	out, stderr, code = run(t, "status", "--redis", "redis://"+addr, "-f", layoutFile, "--namespace", "", "--watch", "--interval", "1s", "--duration", "2s")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, 3, strings.Count(out, `under namespace "masto5"`))
}

func TestStatusRefusesABadLayout(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte(`apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
spec:
  workers:
    - name: everything
      queues: [{name: default}, {name: scheduler}]
      autoscale: {maxReplicas: 3}
`), 0o600))
	out, stderr, code := run(t, "status", "--redis", "redis://127.0.0.1:1", "-f", bad)
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Contains(t, stderr, `spec.workers[0].autoscale: worker "everything" consumes "scheduler"`)
	assert.NotContains(t, stderr, "connection refused", "the layout is checked before Redis is dialled")
}

// openPTY returns the two ends of a new pseudo-terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slave.Close() })
	return master, slave
}

func TestStatusWatchRedrawsATerminal(t *testing.T) {
	addr := testutil.RedisServer(t)
	busyIngress(t, addr)
	fixClock(t, time.Second)
	master, slave := openPTY(t)
	got := make(chan string)
	go func() {
		data, _ := io.ReadAll(master) // ends with EIO once the slave is closed
		got <- string(data)
	}()
	var errOut bytes.Buffer
	code := Run([]string{"status", "--redis", "redis://" + addr, "--watch", "--interval", "1ms", "--duration", "1ms"},
		Streams{In: strings.NewReader(""), Out: slave, ErrOut: &errOut})
	require.Equal(t, 0, code, errOut.String())
	slave.Close()
	out := <-got
	assert.Equal(t, 2, strings.Count(out, "\x1b[H\x1b[2J"), "home and clear before each of the two readings")
	assert.Contains(t, out, "2026-11-23T20:00:01Z  every 1ms, Ctrl-C to stop")
	assert.Contains(t, out, "ingress    1567")
	assert.NotContains(t, out, "--- 2026", "no appended blocks on a terminal")
}

func TestStatusRecordsAnOutage(t *testing.T) {
	addr := testutil.RedisServer(t)
	busyIngress(t, addr)
	fixClock(t, time.Second)
	admin := sidekiqtest.New(t, addr).Client
	ctx := t.Context()
	waits := 0
	statusAfter = func(time.Duration) <-chan time.Time {
		waits++
		switch waits {
		case 1: // Redis goes away for the second reading ...
			require.NoError(t, admin.ConfigSet(ctx, "requirepass", "locked").Err())
			require.NoError(t, admin.Do(ctx, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes").Err())
		case 2: // ... and is back for the third.
			require.NoError(t, admin.ConfigSet(ctx, "requirepass", "").Err())
		}
		c := make(chan time.Time, 1)
		c <- statusNow
		return c
	}
	trace := filepath.Join(t.TempDir(), "trace.csv")
	t.Setenv("MASTOSCALE_REDIS_PASSWORD", "")
	t.Setenv("SIDEKIQ_REDIS_PASSWORD", "")
	t.Setenv("REDIS_PASSWORD", "")

	_, stderr, code := run(t, "status", "--redis", "redis://"+addr, "--record", trace, "--interval", "1s", "--duration", "3s")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "(recorded as an outage)")
	assert.True(t, strings.HasSuffix(stderr, "recorded 1 interval of 1s to "+trace+", and 2 intervals Redis could not be read\n"), stderr)
	data, err := os.ReadFile(trace)
	require.NoError(t, err)
	assert.Equal(t, `time,queue,enqueued
0,@redis-down,1
1,@redis-down,1
2,default,0
2,fasp,0
2,ingress,0
2,mailers,0
2,pull,0
2,push,0
2,scheduler,0
`, string(data))
}
