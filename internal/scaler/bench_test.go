package scaler

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	pb "github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"github.com/mastoscale/mastoscale/internal/sidekiq"
	"github.com/mastoscale/mastoscale/internal/sidekiq/sidekiqtest"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// bigFleet plants 50 queues (jobs in each) and 200 processes on 25 workers' pods, and returns
// one latency, utilization and backlog trigger per worker, each over two queues.
func bigFleet(b *testing.B, addr string) []*pb.ScaledObjectRef {
	sk := sidekiqtest.New(b, addr)
	t0 := time.Now()
	for q := range 50 {
		sk.Millis = q%2 == 0
		sk.Push(fmt.Sprintf("queue-%02d", q), 20+q, t0.Add(-time.Duration(q)*time.Second))
	}
	for i := range 200 {
		w := i % 25
		busy := make([]string, i%6)
		for j := range busy {
			busy[j] = fmt.Sprintf("queue-%02d", 2*w)
		}
		sk.Heartbeat(sidekiqtest.Process{Hostname: fmt.Sprintf("mastodon-sidekiq-w%02d-5c4b8d9f7-%s", w, podSuffix(i)), PID: i + 1,
			Concurrency: 5, Queues: []string{fmt.Sprintf("queue-%02d", 2*w), fmt.Sprintf("queue-%02d", 2*w+1)}, Busy: busy, Beat: t0})
	}
	var refs []*pb.ScaledObjectRef
	for w := range 25 {
		queues := fmt.Sprintf("queue-%02d,queue-%02d", 2*w, 2*w+1)
		dep := fmt.Sprintf("mastodon-sidekiq-w%02d", w)
		for _, m := range []string{"latency", "utilization", "backlog"} {
			target := map[string]string{"latency": "30", "utilization": "0.7", "backlog": "1500"}[m]
			refs = append(refs, &pb.ScaledObjectRef{Name: dep, Namespace: "mastodon", ScalerMetadata: md(m, dep, queues, target)})
		}
	}
	return refs
}

// podSuffix is a 5-character pod name suffix in Kubernetes' alphabet, different for each i.
func podSuffix(i int) string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	s := make([]byte, 5)
	for j := range s {
		s[j] = alphabet[i%len(alphabet)]
		i /= len(alphabet)
	}
	return string(s)
}

// BenchmarkGetMetrics is GetMetrics over real gRPC on loopback, against a real redis-server with
// 50 queues and 200 processes. "every-request-reads" makes each request a full reading (one
// pipeline: 100 queue commands, 200 heartbeats); "coalesced" is the served configuration, where
// requests within a second share a reading. Reported: p50 and p99 per request, in ms.
func BenchmarkGetMetrics(b *testing.B) {
	for name, maxAge := range map[string]time.Duration{"every-request-reads": 0, "coalesced": time.Second} {
		b.Run(name, func(b *testing.B) {
			addr := testutil.RedisServer(b)
			refs := bigFleet(b, addr)
			p, _, _ := newPoller(b, sidekiq.Connection{URL: "redis://" + addr}, "")
			p.Now, p.MaxAge = time.Now, maxAge
			client, _, _, _ := served(b, &Service{Poller: p})
			ctx := context.Background()
			ask := func(i int) {
				r := refs[i%len(refs)]
				if _, err := client.GetMetrics(ctx, &pb.GetMetricsRequest{ScaledObjectRef: r, MetricName: "sidekiq-" + r.ScalerMetadata["metric"]}); err != nil {
					b.Fatal(err)
				}
			}
			for i := range refs {
				ask(i) // every queue of interest, every process known
			}
			took := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				t0 := time.Now()
				ask(i)
				took = append(took, time.Since(t0))
			}
			b.StopTimer()
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// BenchmarkScalerRSS runs the scaler binaries as processes against the 50-queue, 200-process
// Redis, sends 10,000 requests (GetMetrics and IsActive, all 75 triggers) per iteration and
// reports the process's resident memory afterwards (VmRSS, MiB). Run it with -benchtime=1x.
func BenchmarkScalerRSS(b *testing.B) {
	root := testutil.RepoRoot(b)
	for _, bin := range []struct{ name, pkg string }{
		{"mastoscale-scaler", "./cmd/mastoscale-scaler"},
		{"mastoscale_scaler", "./cmd/mastoscale"},
	} {
		b.Run(bin.name, func(b *testing.B) {
			exe := filepath.Join(b.TempDir(), "bin")
			build := exec.Command("go", "build", "-o", exe, bin.pkg)
			build.Dir = root
			if out, err := build.CombinedOutput(); err != nil {
				b.Fatalf("go build %s: %v\n%s", bin.pkg, err, out)
			}
			addr := testutil.RedisServer(b)
			refs := bigFleet(b, addr)
			args := []string{"--redis", "redis://" + addr, "--listen", "127.0.0.1:0"}
			if bin.pkg == "./cmd/mastoscale" {
				args = append([]string{"scaler"}, args...)
			}
			pid, listen := startProcess(b, exe, args)
			conn, err := grpc.NewClient(listen, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			client := pb.NewExternalScalerClient(conn)
			ctx := context.Background()
			for b.Loop() {
				for i := range 10000 {
					r := refs[i%len(refs)]
					var err error
					if i%2 == 0 {
						_, err = client.GetMetrics(ctx, &pb.GetMetricsRequest{ScaledObjectRef: r, MetricName: "sidekiq-" + r.ScalerMetadata["metric"]})
					} else {
						_, err = client.IsActive(ctx, r)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(rssKiB(b, pid))/1024, "RSS-MiB")
		})
	}
}

// startProcess starts exe and returns its PID and the address it logs that it listens on; the
// process is killed when the benchmark ends.
func startProcess(b *testing.B, exe string, args []string) (int, string) {
	cmd := exec.Command(exe, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(stderr)
	for lines.Scan() {
		if m := listenLine.FindStringSubmatch(lines.Text()); m != nil {
			go func() {
				for lines.Scan() { // keep draining the log
				}
			}()
			return cmd.Process.Pid, m[1]
		}
	}
	b.Fatalf("%s did not say where it listens", exe)
	return 0, ""
}

func rssKiB(b *testing.B, pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
