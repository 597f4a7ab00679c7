//go:build e2e

// Package rig starts a real Kubernetes control plane (etcd + kube-apiserver through envtest),
// KEDA's CRDs, operator and admission webhooks, and two redis-servers, all on 127.0.0.1, from
// binaries that test/e2e/rig.sh builds and caches. Nothing here is a mock.
package rig

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	"github.com/kedacore/keda/v2/pkg/metricsservice/api"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"
)

// Rig is a running platform.
type Rig struct {
	Dir        string       // scratch directory: logs, kubeconfig, certs, redis dirs
	PIDFile    string       // where PIDs are recorded
	Config     *rest.Config // admin access to the apiserver
	Client     client.Client
	Scheme     *runtime.Scheme
	Kubeconfig string // path of a kubeconfig for the same admin user

	Redis     *Redis // plain redis-server, no password
	RedisAuth *Redis // redis-server with requirepass

	MetricsService api.MetricsServiceClient // KEDA operator's gRPC metrics service (what the metrics adapter calls)
	OperatorHTTP   string                   // http://127.0.0.1:<port> of the operator's Prometheus endpoint

	// With Options.Controllers: the HPA, Deployment and ReplicaSet controllers and KEDA's
	// metrics apiserver, registered as v1beta1.external.metrics.k8s.io.
	HostIP        string // the address the metrics apiserver listens on (see controllers.go)
	HPASyncPeriod time.Duration

	opts         Options
	env          *envtest.Environment
	operatorCert string // the operator's --cert-dir: mTLS pair and CA of its gRPC service
	operatorGRPC string // 127.0.0.1:<port> of the operator's gRPC metrics service
	controllers  *process
	adapter      *process
	grpcConn     *grpc.ClientConn
	mu           sync.Mutex
	procs        []*process
	operator     *process
	webhooks     *process
}

func (o Options) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

// Start brings the whole rig up and returns once the apiserver answers, the webhook admits,
// the operator is healthy and both redis-servers answer PING. On error it stops what it started.
func Start(ctx context.Context, o Options) (r *Rig, err error) {
	dir, err := os.MkdirTemp("", "mastoscale-rig-")
	if err != nil {
		return nil, err
	}
	r = &Rig{Dir: dir, PIDFile: o.PIDFile, opts: o}
	if r.PIDFile == "" {
		r.PIDFile = filepath.Join(dir, "pids")
	}
	// The owner first: rig.sh stops it first and gives it time to stop its children in order.
	r.recordPID(os.Getpid(), "rig-owner")
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w\n%s", err, r.Diagnostics())
			r.Stop()
			r = nil
		}
	}()

	t0 := time.Now()
	if r.Redis, err = r.startRedis(ctx, "redis", ""); err != nil {
		return r, err
	}
	if r.RedisAuth, err = r.startRedis(ctx, "redis-auth", "rig-s3cret-"+fmt.Sprint(os.Getpid())); err != nil {
		return r, err
	}
	o.logf("rig: redis-servers up on %s and %s (password) in %s", r.Redis.Addr, r.RedisAuth.Addr, time.Since(t0).Round(time.Millisecond))

	if err := r.startControlPlane(ctx); err != nil {
		return r, err
	}

	t2 := time.Now()
	if err := r.startWebhooks(ctx); err != nil {
		return r, err
	}
	o.logf("rig: KEDA admission webhooks admitting on %s in %s", r.env.WebhookInstallOptions.LocalServingHost, time.Since(t2).Round(time.Millisecond))
	t3 := time.Now()
	if err := r.startOperator(ctx); err != nil {
		return r, err
	}
	o.logf("rig: KEDA operator healthy in %s", time.Since(t3).Round(time.Millisecond))
	if o.Controllers {
		if err := r.startControllers(ctx); err != nil {
			return r, err
		}
	}
	o.logf("rig: whole rig up in %s", time.Since(t0).Round(time.Millisecond))
	return r, nil
}

// startControlPlane starts etcd and kube-apiserver (through envtest) with KEDA's CRDs and
// webhook configuration (and, with controllers, the aggregation layer's flags), and writes an
// admin kubeconfig.
func (r *Rig) startControlPlane(ctx context.Context) error {
	whc, err := readWebhookConfig(r.opts.WebhookConfig)
	if err != nil {
		return err
	}
	if r.Scheme, err = newScheme(); err != nil {
		return err
	}
	if r.opts.Controllers {
		if err := r.prepareAggregation(); err != nil {
			return err
		}
	}
	t1 := time.Now()
	r.env = &envtest.Environment{
		BinaryAssetsDirectory: r.opts.AssetsDir,
		CRDDirectoryPaths:     []string{r.opts.CRDDir},
		ErrorIfCRDPathMissing: true,
		Scheme:                r.Scheme,
		WebhookInstallOptions: envtest.WebhookInstallOptions{
			ValidatingWebhooks: []*admissionv1.ValidatingWebhookConfiguration{whc},
			LocalServingHost:   "127.0.0.1",
		},
		ControlPlaneStartTimeout: 3 * time.Minute,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	if r.opts.Controllers {
		r.configureAggregation(r.env.ControlPlane.GetAPIServer().Configure())
	}
	r.Config, err = r.env.Start()
	for pid, comm := range childPIDs() {
		if comm == "etcd" || comm == "kube-apiserver" {
			r.recordPID(pid, comm)
		}
	}
	if err != nil {
		return fmt.Errorf("envtest (etcd + kube-apiserver): %w", err)
	}
	r.opts.logf("rig: kube-apiserver %s up with KEDA CRDs in %s", r.Config.Host, time.Since(t1).Round(time.Millisecond))
	if r.Client, err = client.New(r.Config, client.Options{Scheme: r.Scheme}); err != nil {
		return err
	}
	user, err := r.env.ControlPlane.AddUser(envtest.User{Name: "rig-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return err
	}
	kc, err := user.KubeConfig()
	if err != nil {
		return err
	}
	r.Kubeconfig = filepath.Join(r.Dir, "kubeconfig")
	if err := os.WriteFile(r.Kubeconfig, kc, 0o600); err != nil {
		return err
	}
	if err := r.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "keda"}}); err != nil {
		return err
	}
	return nil
}

// newScheme knows the built-in kinds and KEDA's.
func newScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, kedav1alpha1.AddToScheme(s)
}

// readWebhookConfig loads KEDA's own ValidatingWebhookConfiguration and makes it strict:
// failurePolicy Fail, so an unreachable webhook is an error instead of a silent admit.
func readWebhookConfig(path string) (*admissionv1.ValidatingWebhookConfiguration, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	whc := &admissionv1.ValidatingWebhookConfiguration{}
	if err := yaml.UnmarshalStrict(data, whc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(whc.Webhooks) == 0 {
		return nil, fmt.Errorf("%s: no webhooks", path)
	}
	fail := admissionv1.Fail
	for i := range whc.Webhooks {
		whc.Webhooks[i].FailurePolicy = &fail
	}
	whc.TypeMeta = metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingWebhookConfiguration"}
	return whc, nil
}

func kedaEnv(kubeconfig string) []string {
	return []string{
		"KUBECONFIG=" + kubeconfig,
		"WATCH_NAMESPACE=",
		"POD_NAMESPACE=keda",
		"POD_NAME=keda-operator-rig",
		"OPERATOR_NAME=keda-operator",
		"KEDA_CLUSTER_OBJECT_NAMESPACE=keda",
	}
}

func (r *Rig) startWebhooks(ctx context.Context) error {
	wio := &r.env.WebhookInstallOptions
	probe, err := freePort()
	if err != nil {
		return err
	}
	metrics, err := freePort()
	if err != nil {
		return err
	}
	r.webhooks, err = r.startProcess("keda-webhooks", r.opts.WebhooksBin, []string{
		"--cert-dir=" + wio.LocalServingCertDir,
		fmt.Sprintf("--port=%d", wio.LocalServingPort),
		fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", probe),
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", metrics),
		"--zap-log-level=info",
	}, kedaEnv(r.Kubeconfig))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := r.waitHTTP(ctx, r.webhooks, fmt.Sprintf("http://127.0.0.1:%d/readyz", probe)); err != nil {
		return fmt.Errorf("keda-webhooks not ready: %w", err)
	}
	// The apiserver must reach the webhook: a dry-run create runs every validating webhook.
	probeTA := &kedav1alpha1.TriggerAuthentication{
		TypeMeta:   metav1.TypeMeta{APIVersion: "keda.sh/v1alpha1", Kind: "TriggerAuthentication"},
		ObjectMeta: metav1.ObjectMeta{Name: "rig-probe", Namespace: "keda"},
		Spec: kedav1alpha1.TriggerAuthenticationSpec{SecretTargetRef: []kedav1alpha1.AuthSecretTargetRef{
			{Parameter: "password", Name: "rig-probe", Key: "password"},
		}},
	}
	return poll(ctx, 250*time.Millisecond, func() (bool, error) {
		if r.webhooks.exited() {
			return false, fmt.Errorf("keda-webhooks exited: %v", r.webhooks.err)
		}
		err := r.Client.Create(ctx, probeTA.DeepCopy(), client.DryRunAll)
		return err == nil, err
	})
}

func (r *Rig) startOperator(ctx context.Context) error {
	certDir := filepath.Join(r.Dir, "operator-certs")
	r.operatorCert = certDir
	var extra []net.IP
	if r.HostIP != "" {
		extra = append(extra, net.ParseIP(r.HostIP))
	}
	tlsCfg, err := writeMTLSDir(certDir, extra...)
	if err != nil {
		return err
	}
	caDir := filepath.Join(r.Dir, "operator-custom-ca")
	if err := os.MkdirAll(caDir, 0o700); err != nil {
		return err
	}
	ports := make([]int, 3)
	for i := range ports {
		if ports[i], err = freePort(); err != nil {
			return err
		}
	}
	probe, metrics, grpcPort := ports[0], ports[1], ports[2]
	r.operator, err = r.startProcess("keda-operator", r.opts.OperatorBin, []string{
		"--cert-dir=" + certDir,
		"--ca-dir=" + caDir,
		"--enable-cert-rotation=false",
		"--leader-elect=false",
		fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", probe),
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", metrics),
		fmt.Sprintf("--metrics-service-bind-address=127.0.0.1:%d", grpcPort),
		"--zap-log-level=info",
	}, kedaEnv(r.Kubeconfig))
	if err != nil {
		return err
	}
	r.OperatorHTTP = fmt.Sprintf("http://127.0.0.1:%d", metrics)
	r.operatorGRPC = fmt.Sprintf("127.0.0.1:%d", grpcPort)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := r.waitHTTP(ctx, r.operator, fmt.Sprintf("http://127.0.0.1:%d/healthz", probe)); err != nil {
		return fmt.Errorf("keda-operator not healthy: %w", err)
	}
	if err := r.waitTCP(ctx, r.operator, fmt.Sprintf("127.0.0.1:%d", grpcPort)); err != nil {
		return fmt.Errorf("keda-operator metrics service not listening: %w", err)
	}
	r.grpcConn, err = grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", grpcPort), grpc.WithTransportCredentials(credentials.NewTLS(tlsCfg)))
	if err != nil {
		return err
	}
	r.MetricsService = api.NewMetricsServiceClient(r.grpcConn)
	return nil
}

// OperatorAlive reports an error if the operator or the webhooks process has exited.
func (r *Rig) OperatorAlive() error {
	for _, p := range []*process{r.operator, r.webhooks, r.adapter, r.controllers} {
		if p != nil && p.exited() {
			return fmt.Errorf("%s exited: %v\n%s", p.name, p.err, p.tail(4000))
		}
	}
	return nil
}

// Diagnostics returns the tail of every process log: what a failing test prints.
func (r *Rig) Diagnostics() string {
	if r == nil {
		return ""
	}
	var b strings.Builder
	r.mu.Lock()
	procs := append([]*process(nil), r.procs...)
	r.mu.Unlock()
	for _, p := range procs {
		fmt.Fprintf(&b, "---- %s (%s, exited=%v) ----\n%s\n", p.name, p.logPath, p.exited(), p.tail(3000))
	}
	return b.String()
}

// OperatorLogTail returns the last n bytes of the operator's log.
func (r *Rig) OperatorLogTail(n int64) string {
	if r.operator == nil {
		return ""
	}
	return r.operator.tail(n)
}

// Stop stops every process the rig started, newest first, by PID; then the control plane.
// Set RIG_KEEP=1 to keep the scratch directory (logs) afterwards.
func (r *Rig) Stop() {
	if r == nil {
		return
	}
	if r.grpcConn != nil {
		_ = r.grpcConn.Close()
	}
	r.mu.Lock()
	procs := append([]*process(nil), r.procs...)
	r.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].stop(15 * time.Second)
	}
	if r.env != nil {
		if err := r.env.Stop(); err != nil {
			r.opts.logf("rig: stopping envtest: %v", err)
		}
	}
	if os.Getenv("RIG_KEEP") == "" {
		_ = os.RemoveAll(r.Dir)
	} else {
		r.opts.logf("rig: kept %s", r.Dir)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
