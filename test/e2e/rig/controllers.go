//go:build e2e

package rig

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// The loop's control plane: kube-controller-manager with the controllers that turn an HPA's
// decision into Sidekiq pods (HPA -> Deployment -> ReplicaSet -> Pods), and KEDA's metrics
// apiserver behind the apiserver's aggregation layer, so the HPA reads KEDA's external metrics
// through /apis/external.metrics.k8s.io as it does in a cluster:
//
//	HPA controller -> kube-apiserver (aggregator, front-proxy client cert) -> keda-adapter
//	  (request-header authentication) -> KEDA operator gRPC metrics service (mTLS) -> redis-server
//
// The aggregator resolves the APIService's Service through its EndpointSlice
// (--enable-aggregator-routing); an EndpointSlice may not hold a loopback address, so the
// adapter listens on the host's first non-loopback IPv4 address instead of 127.0.0.1.

const (
	adapterService   = "keda-metrics-apiserver"
	frontProxyClient = "front-proxy-client"
	externalMetrics  = "v1beta1.external.metrics.k8s.io"
)

// controllerNames are the kube-controller-manager controllers the loop runs (their 1.34 names;
// the aliases horizontalpodautoscaling, deployment and replicaset work too).
var controllerNames = "horizontal-pod-autoscaler-controller,deployment-controller,replicaset-controller"

// prepareAggregation picks the adapter's address and writes the front-proxy certificates, before
// the apiserver starts.
func (r *Rig) prepareAggregation() error {
	ip, err := hostIPv4()
	if err != nil {
		return err
	}
	r.HostIP = ip.String()
	r.HPASyncPeriod = r.opts.HPASyncPeriod
	return writeFrontProxy(filepath.Join(r.Dir, "front-proxy"))
}

// configureAggregation sets the apiserver's aggregation-layer flags (what kubeadm sets).
func (r *Rig) configureAggregation(args *envtest.Arguments) {
	dir := filepath.Join(r.Dir, "front-proxy")
	args.Set("requestheader-client-ca-file", filepath.Join(dir, "front-proxy-ca.crt"))
	args.Set("requestheader-allowed-names", frontProxyClient)
	args.Set("requestheader-username-headers", "X-Remote-User")
	args.Set("requestheader-group-headers", "X-Remote-Group")
	args.Set("requestheader-extra-headers-prefix", "X-Remote-Extra-")
	args.Set("proxy-client-cert-file", filepath.Join(dir, "front-proxy-client.crt"))
	args.Set("proxy-client-key-file", filepath.Join(dir, "front-proxy-client.key"))
	args.Set("enable-aggregator-routing", "true")
}

// startControllers starts the metrics apiserver, registers it, and starts the controller-manager.
func (r *Rig) startControllers(ctx context.Context) error {
	t0 := time.Now()
	if err := r.startAdapter(ctx); err != nil {
		return err
	}
	r.opts.logf("rig: KEDA metrics apiserver serving %s on %s in %s", externalMetrics, r.HostIP, time.Since(t0).Round(time.Millisecond))
	t1 := time.Now()
	if err := r.startControllerManager(ctx); err != nil {
		return err
	}
	r.opts.logf("rig: kube-controller-manager healthy (HPA sync %s) in %s", r.HPASyncPeriod, time.Since(t1).Round(time.Millisecond))
	return nil
}

func (r *Rig) startAdapter(ctx context.Context) error {
	ports := make([]int, 2)
	for i := range ports {
		p, err := freePortOn(r.HostIP)
		if err != nil {
			return err
		}
		ports[i] = p
	}
	secure, metrics := ports[0], ports[1]
	// Its gRPC client reads ca.crt/tls.crt/tls.key from --cert-dir: the operator's own files.
	var err error
	r.adapter, err = r.startProcess("keda-adapter", r.opts.AdapterBin, []string{
		"--cert-dir=" + r.operatorCert,
		"--tls-cert-file=" + filepath.Join(r.operatorCert, "tls.crt"),
		"--tls-private-key-file=" + filepath.Join(r.operatorCert, "tls.key"),
		"--bind-address=" + r.HostIP,
		fmt.Sprintf("--secure-port=%d", secure),
		fmt.Sprintf("--port=%d", metrics),
		"--kubeconfig=" + r.Kubeconfig,
		"--lister-kubeconfig=" + r.Kubeconfig,
		"--authentication-kubeconfig=" + r.Kubeconfig,
		"--authorization-kubeconfig=" + r.Kubeconfig,
		"--metrics-service-address=" + r.operatorGRPC,
		"--zap-log-level=info",
	}, kedaEnv(r.Kubeconfig))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := r.waitTCP(ctx, r.adapter, net.JoinHostPort(r.HostIP, fmt.Sprint(secure))); err != nil {
		return fmt.Errorf("keda-adapter not listening: %w", err)
	}
	if err := r.registerAdapter(ctx, secure); err != nil {
		return err
	}
	return r.waitAPIService(ctx)
}

// registerAdapter creates the Service, its EndpointSlice and the APIService, as KEDA's
// manifests do (the EndpointSlice stands in for the endpoints controller).
func (r *Rig) registerAdapter(ctx context.Context, port int) error {
	ca, err := os.ReadFile(filepath.Join(r.operatorCert, "ca.crt"))
	if err != nil {
		return err
	}
	objs := []map[string]any{
		{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": adapterService, "namespace": "keda"},
			"spec": map[string]any{"ports": []any{map[string]any{"name": "https", "port": int64(443), "targetPort": int64(port)}}}},
		{"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
			"metadata": map[string]any{"name": adapterService + "-rig", "namespace": "keda",
				"labels": map[string]any{"kubernetes.io/service-name": adapterService}},
			"addressType": "IPv4",
			"endpoints":   []any{map[string]any{"addresses": []any{r.HostIP}, "conditions": map[string]any{"ready": true}}},
			"ports":       []any{map[string]any{"name": "https", "port": int64(port), "protocol": "TCP"}}},
		{"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": map[string]any{"name": externalMetrics},
			"spec": map[string]any{"group": "external.metrics.k8s.io", "version": "v1beta1",
				"service":  map[string]any{"name": adapterService, "namespace": "keda", "port": int64(443)},
				"caBundle": base64.StdEncoding.EncodeToString(ca), "groupPriorityMinimum": int64(100), "versionPriority": int64(100)}},
	}
	for _, o := range objs {
		if err := r.Client.Create(ctx, &unstructured.Unstructured{Object: o}); err != nil {
			return fmt.Errorf("registering the metrics apiserver: %w", err)
		}
	}
	return nil
}

// waitAPIService waits for the aggregator to report the APIService Available and for the group
// to answer through the apiserver.
func (r *Rig) waitAPIService(ctx context.Context) error {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("apiregistration.k8s.io/v1")
	u.SetKind("APIService")
	return poll(ctx, 250*time.Millisecond, func() (bool, error) {
		if r.adapter.exited() {
			return false, fmt.Errorf("keda-adapter exited: %v\n%s", r.adapter.err, r.adapter.tail(3000))
		}
		if err := r.Client.Get(ctx, client.ObjectKey{Name: externalMetrics}, u); err != nil {
			return false, err
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Available" && m["status"] == "True" {
				return true, nil
			}
			if m["type"] == "Available" {
				return false, fmt.Errorf("APIService %s: %v: %v", externalMetrics, m["reason"], m["message"])
			}
		}
		return false, fmt.Errorf("APIService %s has no Available condition yet", externalMetrics)
	})
}

func (r *Rig) startControllerManager(ctx context.Context) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	certDir := filepath.Join(r.Dir, "kube-controller-manager")
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		return err
	}
	r.controllers, err = r.startProcess("kube-controller-manager", r.opts.ControllerBin, []string{
		"--kubeconfig=" + r.Kubeconfig,
		"--authentication-kubeconfig=" + r.Kubeconfig,
		"--authorization-kubeconfig=" + r.Kubeconfig,
		"--bind-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", port),
		"--cert-dir=" + certDir,
		"--controllers=" + controllerNames,
		"--leader-elect=false",
		"--use-service-account-credentials=false",
		"--horizontal-pod-autoscaler-sync-period=" + r.HPASyncPeriod.String(),
		"--v=2",
	}, nil)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := r.waitHTTP(ctx, r.controllers, fmt.Sprintf("https://127.0.0.1:%d/healthz", port)); err != nil {
		return fmt.Errorf("kube-controller-manager not healthy: %w", err)
	}
	return nil
}

// Controllers reports whether the rig runs kube-controller-manager and the metrics apiserver.
func (r *Rig) Controllers() bool { return r.controllers != nil }

// ControllerLogTail returns the last n bytes of kube-controller-manager's log.
func (r *Rig) ControllerLogTail(n int64) string {
	if r.controllers == nil {
		return ""
	}
	return r.controllers.tail(n)
}

// hostIPv4 is the first non-loopback, non-link-local IPv4 address of an interface that is up.
func hostIPv4() (net.IP, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			if ip := n.IP.To4(); ip != nil && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() {
				return ip, nil
			}
		}
	}
	return nil, errors.New("no non-loopback IPv4 address on this machine: the aggregation layer routes to the metrics apiserver through an EndpointSlice, which may not hold 127.0.0.1")
}

func freePortOn(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
