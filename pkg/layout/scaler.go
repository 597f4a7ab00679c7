package layout

import (
	"net"
	"strconv"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// What reads an autoscaled worker's metrics (autoscale.scaler).
const (
	// ScalerRedis is KEDA's redis scaler: the length of each queue's list (the default).
	ScalerRedis = "redis"
	// ScalerSidekiq is mastoscale's external scaler (`mastoscale scaler`): the worker's backlog,
	// its oldest job's wait and its busy threads, read from Sidekiq's Redis.
	ScalerSidekiq = "sidekiq"
)

// ScalerNames are the values autoscale.scaler accepts; unset is ScalerRedis.
var ScalerNames = []string{ScalerRedis, ScalerSidekiq}

// ScalerPort is the port the scaler's Deployment listens on and its Service exposes.
const ScalerPort = 50051

// ScalerSpec is mastoscale's external scaler as the layout's workers reach it.
type ScalerSpec struct {
	// Image, when set, renders the scaler's Deployment, Service and PodDisruptionBudget; the
	// image must hold the mastoscale-scaler binary (cmd/mastoscale-scaler) on its PATH.
	// Without it the scaler runs elsewhere, and Address says where.
	Image string `json:"image,omitempty"`
	// Address is the host:port KEDA's operator dials. Default, with an image:
	// <fullname>-mastoscale-scaler.<metadata.namespace>.svc:50051.
	Address string `json:"address,omitempty"`
	// Replicas of the scaler's Deployment; default 1. It is stateless: 2 for HA.
	Replicas *int32 `json:"replicas,omitempty"`
	// TLS secures the gRPC connection between KEDA and the scaler.
	TLS *ScalerTLS `json:"tls,omitempty"`
}

// ScalerTLS names the Secrets of the scaler's TLS with client-certificate authentication.
type ScalerTLS struct {
	// ClientSecretName is KEDA's side (ca.crt: the CA of the scaler's certificate; tls.crt and
	// tls.key: KEDA's client certificate), given to the triggers by a TriggerAuthentication.
	ClientSecretName string `json:"clientSecretName"`
	// ServerSecretName is the scaler's side (tls.crt and tls.key: its certificate; ca.crt: the
	// CA of KEDA's client certificate), mounted into the scaler's pods.
	ServerSecretName string `json:"serverSecretName,omitempty"`
}

// ScalerTarget is the resolved scaler: where KEDA reaches it, and what to deploy of it.
type ScalerTarget struct {
	// Used is whether any autoscaled worker scales with the scaler.
	Used bool
	// Name is the Deployment, Service and TriggerAuthentication name:
	// <fullname>-mastoscale-scaler.
	Name string
	// Image is "" when the scaler is not deployed by us.
	Image    string
	Address  string
	Replicas int32
	// ClientSecret and ServerSecret are "" without TLS.
	ClientSecret, ServerSecret string
}

// ScalerName is the scaler's Deployment, Service and TriggerAuthentication name.
func ScalerName(fullname string) string { return fullname + "-mastoscale-scaler" }

func defaultScaler(l *SidekiqLayout) {
	s := l.Spec.Scaler
	if s == nil {
		return
	}
	if s.Replicas == nil {
		s.Replicas = ptr.To[int32](1)
	}
	if s.Address == "" && s.Image != "" && l.Metadata.Namespace != "" {
		s.Address = ScalerAddress(l.Spec.Release.Fullname, l.Metadata.Namespace)
	}
}

// ScalerAddress is where KEDA's operator reaches the scaler's Service of release fullname in
// namespace: <fullname>-mastoscale-scaler.<namespace>.svc:50051.
func ScalerAddress(fullname, namespace string) string {
	return net.JoinHostPort(ScalerName(fullname)+"."+namespace+".svc", strconv.Itoa(ScalerPort))
}

// usesScaler reports whether any autoscaled worker of l scales with the Sidekiq scaler.
func usesScaler(l *SidekiqLayout) bool {
	for _, w := range l.Spec.Workers {
		if w.Autoscale != nil && w.Autoscale.Scaler == ScalerSidekiq {
			return true
		}
	}
	return false
}

// validateScalerSpec checks spec.scaler against the workers that use it.
func validateScalerSpec(r *problems, l *SidekiqLayout, path *field.Path) {
	s, used := l.Spec.Scaler, usesScaler(l)
	switch {
	case s == nil && used:
		r.add(Error, field.Required(path, `a worker has autoscale.scaler "sidekiq": set spec.scaler.image (the scaler's Deployment is rendered) or spec.scaler.address (where it already runs)`))
		return
	case s == nil:
		return
	case !used:
		r.warnf(path, "", `no autoscaled worker has autoscale.scaler "sidekiq": nothing of the scaler is rendered`)
	}
	if s.Image == "" && s.Address == "" {
		r.add(Error, field.Required(path.Child("image"), "set image (rendered as a Deployment) or address (a scaler that already runs)"))
	}
	if s.Image != "" && s.Address == "" && l.Metadata.Namespace == "" {
		r.add(Error, field.Required(path.Child("address"), "KEDA's operator runs in its own namespace and dials the scaler's Service by <service>.<namespace>: set metadata.namespace or spec.scaler.address"))
	}
	if s.Address != "" {
		if _, port, err := net.SplitHostPort(s.Address); err != nil || port == "" {
			r.errorf(path.Child("address"), s.Address, "must be host:port, e.g. mastoscale-scaler.mastodon.svc:%d", ScalerPort)
		}
	}
	if s.Replicas != nil && *s.Replicas < 1 {
		r.errorf(path.Child("replicas"), *s.Replicas, "must be at least 1: the workers' triggers fail without a scaler")
	}
	if t := s.TLS; t != nil {
		if t.ClientSecretName == "" {
			r.add(Error, field.Required(path.Child("tls", "clientSecretName"), "the Secret with ca.crt, tls.crt and tls.key that KEDA presents to the scaler"))
		}
		if t.ServerSecretName == "" && s.Image != "" {
			r.add(Error, field.Required(path.Child("tls", "serverSecretName"), "the Secret with the scaler's tls.crt and tls.key, and the ca.crt of KEDA's client certificate"))
		}
	}
}

// validateAutoscaleScaler checks the fields of worker w (at wp) that depend on its scaler.
func validateAutoscaleScaler(r *problems, w *Worker, wp *field.Path) {
	a, ap := w.Autoscale, wp.Child("autoscale")
	if a.Scaler != "" && a.Scaler != ScalerRedis && a.Scaler != ScalerSidekiq {
		r.add(Error, field.NotSupported(ap.Child("scaler"), a.Scaler, ScalerNames))
		return
	}
	if u := a.UtilizationTarget; u != nil {
		switch {
		case a.Scaler != ScalerSidekiq:
			r.errorf(ap.Child("utilizationTarget"), *u, "only the Sidekiq scaler measures busy threads: set autoscale.scaler: sidekiq, or remove utilizationTarget")
		case !(*u > 0 && *u <= 1):
			r.errorf(ap.Child("utilizationTarget"), *u, "must be a fraction of the worker's threads above 0 and at most 1, e.g. 0.7")
		}
	}
	if a.IncludeDue && a.Scaler != ScalerSidekiq {
		r.errorf(ap.Child("includeDue"), true, "only the Sidekiq scaler reads the retry and schedule sets: set autoscale.scaler: sidekiq, or remove includeDue")
	}
	if a.Scaler != ScalerSidekiq {
		return
	}
	if a.LatencyTrigger != nil {
		r.errorf(ap.Child("latencyTrigger"), a.LatencyTrigger.ServerAddress, "the Sidekiq scaler measures the latency itself, against latencyTarget: remove latencyTrigger, or set autoscale.scaler: redis to keep Prometheus")
	}
	for j, q := range w.Queues {
		if q.ListLength != nil {
			r.errorf(wp.Child("queues").Index(j).Child("listLength"), *q.ListLength, "the Sidekiq scaler counts the worker's queues together against autoscale.listLength: remove the queue's listLength, or set autoscale.scaler: redis")
		}
	}
}

func resolvedScaler(d *SidekiqLayout) ScalerTarget {
	t := ScalerTarget{Used: usesScaler(d), Name: ScalerName(d.Spec.Release.Fullname)}
	if s := d.Spec.Scaler; s != nil {
		t.Image, t.Address, t.Replicas = s.Image, s.Address, deref(s.Replicas)
		if s.TLS != nil {
			t.ClientSecret, t.ServerSecret = s.TLS.ClientSecretName, s.TLS.ServerSecretName
		}
	}
	return t
}

// UsesSidekiqScaler reports whether w scales with mastoscale's scaler.
func (w Workload) UsesSidekiqScaler() bool { return w.Autoscaled && w.Scaling.Scaler == ScalerSidekiq }
