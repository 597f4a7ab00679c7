//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/render"
	"github.com/mastoscale/mastoscale/test/e2e/rig"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

const scalerNS = "scaler-e2e"

// scalerMetric is one trigger of the test's ScaledObjects, as KEDA names it.
type scalerMetric struct {
	so, name   string // ScaledObject, KEDA's metric name (s<index>-sidekiq-<metric>)
	metricType autoscalingv2.MetricTargetType
	target     float64
}

var scalerMetrics = []scalerMetric{
	{"mastodon-sidekiq-push-pull", "s0-sidekiq-backlog", autoscalingv2.AverageValueMetricType, 1500},
	{"mastodon-sidekiq-push-pull", "s1-sidekiq-latency", autoscalingv2.ValueMetricType, 30},
	{"mastodon-sidekiq-push-pull", "s2-sidekiq-utilization", autoscalingv2.ValueMetricType, 0.7},
	{"mastodon-sidekiq-ingress", "s0-sidekiq-backlog", autoscalingv2.AverageValueMetricType, 1500},
	{"mastodon-sidekiq-ingress", "s1-sidekiq-utilization", autoscalingv2.ValueMetricType, 0.7},
	{"mastodon-sidekiq-mailers", "s0-sidekiq-backlog", autoscalingv2.AverageValueMetricType, 1500},
	{"mastodon-sidekiq-mailers", "s1-sidekiq-latency", autoscalingv2.ValueMetricType, 60},
}

// readyPods are the pods the test marks Running and Ready (the rig has no kubelet): KEDA divides
// a Value metric's fallback by them. fallbackReplicas are the ScaledObjects' fallback.replicas.
var (
	readyPods        = map[string]int{"mastodon-sidekiq-push-pull": 2, "mastodon-sidekiq-ingress": 1}
	fallbackReplicas = map[string]int{"mastodon-sidekiq-push-pull": 4, "mastodon-sidekiq-ingress": 3}
)

// scalerUnderTest is mastoscale's scaler as a process on 127.0.0.1 with its own Redis.
type scalerUnderTest struct {
	redis *rig.Redis
	proc  *rig.Process
	bin   string
	args  []string
	env   []string
	addr  string
	ca    *testutil.CA
	mu    sync.Mutex
}

func (s *scalerUnderTest) start(t *testing.T) {
	t.Helper()
	p, err := platform.StartProcess("mastoscale-scaler", s.bin, s.args, s.env)
	require.NoError(t, err)
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	require.True(t, eventually(t, time.Minute, 100*time.Millisecond, "the scaler listens", func() (bool, string) {
		log := p.Log(1 << 20)
		return strings.Contains(log, "serving KEDA's ExternalScaler") && !p.Exited(), log
	}))
}

func (s *scalerUnderTest) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc.Log(1 << 20)
}

// startScaler builds cmd/mastoscale-scaler, starts a password-protected redis-server for it
// and runs it with TLS and client-certificate authentication, as KEDA's external trigger
// supports them.
func startScaler(t *testing.T, ctx context.Context) *scalerUnderTest {
	root := testutil.RepoRoot(t)
	s := &scalerUnderTest{bin: filepath.Join(platform.Dir, "mastoscale-scaler"), ca: testutil.NewCA(t)}
	build := exec.Command("go", "build", "-o", s.bin, "./cmd/mastoscale-scaler")
	build.Dir = root
	out, err := build.CombinedOutput()
	require.NoError(t, err, "building the scaler: %s", out)
	s.redis, err = platform.StartRedis(ctx, "redis-scaler", "scaler-redis-pw")
	require.NoError(t, err)
	cert, key := s.ca.Issue(t, "mastoscale-scaler")
	s.addr = fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	s.args = []string{"--redis", "redis://" + s.redis.Addr + "/0", "--listen", s.addr, "--log-level", "debug",
		"--grpc-tls-cert-file", cert, "--grpc-tls-key-file", key, "--grpc-client-ca-file", s.ca.CertFile}
	s.env = []string{"MASTOSCALE_REDIS_PASSWORD=" + s.redis.Password}
	s.start(t)
	return s
}

// applyScalerObjects creates the namespace, KEDA's client certificate, the Deployments of
// testdata/scaler/deployments.yaml with their ready pods, and the KEDA objects that
// render.FromLayout makes of testdata/scaler/layout.yaml, pointed at the running scaler.
func applyScalerObjects(t *testing.T, ctx context.Context, s *scalerUnderTest) {
	c := platform.Client
	require.NoError(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: scalerNS}}))
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: scalerNS}}
	if err := c.Create(ctx, sa); err != nil && !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	kedaCert, kedaKey := s.ca.Issue(t, "keda-operator")
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "mastoscale-scaler-tls", Namespace: scalerNS}, Data: map[string][]byte{}}
	for k, f := range map[string]string{"ca.crt": s.ca.CertFile, "tls.crt": kedaCert, "tls.key": kedaKey} {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		secret.Data[k] = data
	}
	require.NoError(t, c.Create(ctx, secret))

	raw, err := os.ReadFile(filepath.Join("testdata", "scaler", "deployments.yaml"))
	require.NoError(t, err)
	objs := decodeObjects(t, raw)
	l, err := layout.Load(filepath.Join("testdata", "scaler", "layout.yaml"))
	require.NoError(t, err)
	l.Spec.Scaler.Address = s.addr
	set, err := render.FromLayout(l)
	require.NoError(t, err)
	keda, err := render.YAML(set.Objects())
	require.NoError(t, err)
	objs = append(objs, decodeObjects(t, keda)...)
	for _, kind := range []string{"Deployment", "TriggerAuthentication", "ScaledObject"} {
		for _, u := range objs {
			if u.GetKind() != kind {
				continue
			}
			require.NoError(t, apply(ctx, u, false), "%s %s", kind, u.GetName())
			if kind == "Deployment" {
				createReadyPods(t, ctx, u.GetName(), readyPods[u.GetName()])
			}
		}
	}
}

// decodeObjects reads a YAML stream into objects of the test's namespace.
func decodeObjects(t *testing.T, raw []byte) []*unstructured.Unstructured {
	var objs []*unstructured.Unstructured
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		u := &unstructured.Unstructured{}
		require.NoError(t, yaml.Unmarshal([]byte(doc), &u.Object))
		if len(u.Object) == 0 {
			continue
		}
		u.SetNamespace(scalerNS)
		objs = append(objs, u)
	}
	return objs
}

// createReadyPods creates n pods matching the Deployment's selector (but not its ReplicaSets'),
// Running and Ready, as a kubelet would report them.
func createReadyPods(t *testing.T, ctx context.Context, deployment string, n int) {
	d := &appsv1.Deployment{}
	require.NoError(t, platform.Client.Get(ctx, client.ObjectKey{Namespace: scalerNS, Name: deployment}, d))
	for i := range n {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-ready-%d", deployment, i), Namespace: scalerNS, Labels: d.Spec.Selector.MatchLabels},
			Spec:       corev1.PodSpec{Containers: d.Spec.Template.Spec.Containers},
		}
		require.NoError(t, platform.Client.Create(ctx, pod))
		pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()},
		}}
		require.NoError(t, platform.Client.Status().Update(ctx, pod))
	}
}
