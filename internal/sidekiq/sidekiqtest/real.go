package sidekiqtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/redis/go-redis/v9"
)

// jobsRuby configures real Sidekiq from the environment and defines the job the tests run:
// SleepJob sleeps, so a test can hold threads busy for as long as it needs.
const jobsRuby = `require "sidekiq"
redis = { url: ENV.fetch("MASTOSCALE_TEST_REDIS_URL") }
redis[:password] = ENV["MASTOSCALE_TEST_REDIS_PASSWORD"] if ENV["MASTOSCALE_TEST_REDIS_PASSWORD"]
redis[:namespace] = ENV["REDIS_NAMESPACE"] if ENV["REDIS_NAMESPACE"]
Sidekiq.configure_server { |c| c.redis = redis }
Sidekiq.configure_client { |c| c.redis = redis }
class SleepJob
  include Sidekiq::Worker
  def perform(seconds)
    sleep seconds
  end
end
`

// Real is a real Sidekiq process: Debian's ruby-sidekiq (Sidekiq 6.4.1), the version the
// project tests Sidekiq's behaviour against.
type Real struct {
	T         testing.TB
	Hostname  string
	Namespace string
	env       []string
	dir       string
	log       string
	redis     *redis.Client
}

// RealOptions say how to run real Sidekiq.
type RealOptions struct {
	Addr      string // host:port of the Redis, database 0
	Password  string
	Namespace string // REDIS_NAMESPACE, through redis-namespace (Debian's ruby-redis-namespace)
	// Hostname is what the process registers as its hostname (Sidekiq reads DYNO before
	// Socket.gethostname): a pod name, to test attribution to Deployments.
	Hostname    string
	Concurrency int
	Queues      []string // as given to -q, weights included ("default,8")
}

// StartReal starts `sidekiq` as o says and waits until its heartbeat is in Redis; the process
// is stopped when the test ends. Without the sidekiq binary the test is skipped (failed with
// CI=true): .ci/run installs ruby-sidekiq.
func StartReal(t testing.TB, o RealOptions) *Real {
	t.Helper()
	bin := testutil.Command(t, "sidekiq")
	if o.Namespace != "" {
		if err := exec.Command("ruby", "-e", `require "redis-namespace"`).Run(); err != nil {
			msg := "the redis-namespace gem is missing: .ci/run installs ruby-redis-namespace"
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	r := &Real{T: t, Hostname: o.Hostname, Namespace: o.Namespace, dir: t.TempDir()}
	if err := os.WriteFile(filepath.Join(r.dir, "jobs.rb"), []byte(jobsRuby), 0o600); err != nil {
		t.Fatal(err)
	}
	r.env = append(os.Environ(), "MASTOSCALE_TEST_REDIS_URL=redis://"+o.Addr+"/0", "DYNO="+o.Hostname, "RUBYOPT=-W0")
	if o.Password != "" {
		r.env = append(r.env, "MASTOSCALE_TEST_REDIS_PASSWORD="+o.Password)
	}
	if o.Namespace != "" {
		r.env = append(r.env, "REDIS_NAMESPACE="+o.Namespace)
	}
	args := []string{"-c", strconv.Itoa(o.Concurrency), "-t", "1", "-r", "./jobs.rb"}
	for _, q := range o.Queues {
		args = append(args, "-q", q)
	}
	r.log = filepath.Join(r.dir, "sidekiq.log")
	logFile, err := os.Create(r.log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = r.dir, r.env, logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting sidekiq: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		_ = logFile.Close()
	})
	r.client(o.Addr, o.Password)
	r.WaitBusy(0)
	return r
}

func (r *Real) client(addr, password string) {
	c := redis.NewClient(&redis.Options{Addr: addr, Password: password, Protocol: 2, DisableIdentity: true})
	r.T.Cleanup(func() { _ = c.Close() })
	r.redis = c
}

// Enqueue pushes n SleepJobs of seconds each onto queue with Sidekiq's own client.
func (r *Real) Enqueue(queue string, n int, seconds float64) {
	r.T.Helper()
	script := fmt.Sprintf(`%d.times { SleepJob.set(queue: %q).perform_async(%g) }`, n, queue, seconds)
	cmd := exec.Command("ruby", "-r", "./jobs.rb", "-e", script)
	cmd.Dir, cmd.Env = r.dir, r.env
	if out, err := cmd.CombinedOutput(); err != nil {
		r.T.Fatalf("enqueueing with Sidekiq's client: %v\n%s", err, out)
	}
}

// WaitBusy waits until the process's heartbeat reports busy threads (Sidekiq 6 beats every 5 s).
func (r *Real) WaitBusy(busy int) string {
	r.T.Helper()
	ns := ""
	if r.Namespace != "" {
		ns = r.Namespace + ":"
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ids, _ := r.redis.SMembers(context.Background(), ns+"processes").Result()
		for _, id := range ids {
			if !strings.HasPrefix(id, r.Hostname+":") {
				continue
			}
			if b, err := r.redis.HGet(context.Background(), ns+id, "busy").Int(); err == nil && b == busy {
				return id
			}
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(r.log)
			r.T.Fatalf("sidekiq %s did not report %d busy threads within 30 s; its log:\n%s", r.Hostname, busy, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
