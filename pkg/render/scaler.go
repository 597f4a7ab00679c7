package render

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	"github.com/mastoscale/mastoscale/pkg/layout"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// ScalerObjects are what a layout renders of mastoscale's scaler (`mastoscale scaler`): the
// TriggerAuthentication that hands KEDA its TLS client certificate, and, when the layout gives
// the scaler an image, its Deployment, Service and (from two replicas) PodDisruptionBudget.
type ScalerObjects struct {
	TriggerAuthentication *kedav1alpha1.TriggerAuthentication
	Deployment            *appsv1.Deployment
	Service               *corev1.Service
	PodDisruptionBudget   *policyv1.PodDisruptionBudget
}

// scalerUID is the scaler's user: not root, and not Mastodon's 991.
const scalerUID = 65532

// scalerTLSDir is where the scaler's pods mount spec.scaler.tls.serverSecretName.
const scalerTLSDir = "/etc/mastoscale-scaler/tls"

// ScalerObjectsFor renders the scaler's objects of a resolved layout, or nil when no worker
// scales with it.
func ScalerObjectsFor(l *layout.Layout) *ScalerObjects {
	s := l.Scaler
	if !s.Used {
		return nil
	}
	out := &ScalerObjects{}
	if s.ClientSecret != "" {
		refs := []kedav1alpha1.AuthSecretTargetRef{
			{Parameter: "caCert", Name: s.ClientSecret, Key: corev1.ServiceAccountRootCAKey},
			{Parameter: "tlsClientCert", Name: s.ClientSecret, Key: corev1.TLSCertKey},
			{Parameter: "tlsClientKey", Name: s.ClientSecret, Key: corev1.TLSPrivateKeyKey},
		}
		out.TriggerAuthentication = &kedav1alpha1.TriggerAuthentication{
			TypeMeta:   metav1.TypeMeta{APIVersion: kedav1alpha1.SchemeGroupVersion.String(), Kind: "TriggerAuthentication"},
			ObjectMeta: objectMeta(l, s.Name, scalerLabels(l)),
			Spec:       kedav1alpha1.TriggerAuthenticationSpec{SecretTargetRef: refs},
		}
	}
	if s.Image == "" {
		return out
	}
	out.Deployment = scalerDeployment(l)
	out.Service = &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: objectMeta(l, s.Name, scalerLabels(l)),
		Spec: corev1.ServiceSpec{
			Selector: scalerSelector(l),
			Ports:    []corev1.ServicePort{{Name: "grpc", Port: layout.ScalerPort, TargetPort: intstr.FromString("grpc"), AppProtocol: ptr.To("grpc")}},
		},
	}
	if s.Replicas >= 2 {
		out.PodDisruptionBudget = &policyv1.PodDisruptionBudget{
			TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
			ObjectMeta: objectMeta(l, s.Name, scalerLabels(l)),
			Spec: policyv1.PodDisruptionBudgetSpec{
				MaxUnavailable: ptr.To(intstr.FromInt32(1)),
				Selector:       &metav1.LabelSelector{MatchLabels: scalerSelector(l)},
			},
		}
	}
	return out
}

// Objects are the scaler's objects in output order: TriggerAuthentication, Deployment,
// Service, PodDisruptionBudget.
func (s *ScalerObjects) Objects() []runtime.Object {
	var out []runtime.Object
	if s == nil {
		return nil
	}
	if s.TriggerAuthentication != nil {
		out = append(out, s.TriggerAuthentication)
	}
	if s.Deployment != nil {
		out = append(out, s.Deployment, s.Service)
	}
	if s.PodDisruptionBudget != nil {
		out = append(out, s.PodDisruptionBudget)
	}
	return out
}

func scalerSelector(l *layout.Layout) map[string]string {
	return map[string]string{"app.kubernetes.io/name": "mastoscale-scaler", "app.kubernetes.io/instance": l.Release.Name}
}

func scalerLabels(l *layout.Layout) map[string]string {
	m := scalerSelector(l)
	m["app.kubernetes.io/component"] = "keda-external-scaler"
	m["app.kubernetes.io/part-of"] = "mastodon"
	return m
}

// scalerDeployment is the scaler's Deployment: non-root, read-only root filesystem, no service
// account token, small requests, the Redis password from the Secret the triggers would use.
func scalerDeployment(l *layout.Layout) *appsv1.Deployment {
	s := l.Scaler
	c := corev1.Container{
		Name:    "scaler",
		Image:   s.Image,
		Command: []string{"mastoscale-scaler"},
		Args:    ScalerArgs(l),
		Env:     scalerEnv(l.Redis),
		Ports:   []corev1.ContainerPort{{Name: "grpc", ContainerPort: layout.ScalerPort, Protocol: corev1.ProtocolTCP}},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")},
		},
		ReadinessProbe: scalerProbe(s),
		LivenessProbe:  scalerProbe(s),
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false),
			ReadOnlyRootFilesystem:   ptr.To(true),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
	}
	pod := corev1.PodSpec{
		AutomountServiceAccountToken: ptr.To(false),
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](scalerUID), RunAsGroup: ptr.To[int64](scalerUID),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
	if s.ServerSecret != "" {
		c.VolumeMounts = []corev1.VolumeMount{{Name: "tls", MountPath: scalerTLSDir, ReadOnly: true}}
		pod.Volumes = []corev1.Volume{{Name: "tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: s.ServerSecret}}}}
	}
	pod.Containers = []corev1.Container{c}
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: objectMeta(l, s.Name, scalerLabels(l)),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(s.Replicas),
			Selector: &metav1.LabelSelector{MatchLabels: scalerSelector(l)},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: scalerLabels(l)}, Spec: pod},
		},
	}
}

// scalerProbe asks the scaler's gRPC health service; Kubernetes' gRPC probe speaks no TLS, so
// with TLS it only checks the port.
func scalerProbe(s layout.ScalerTarget) *corev1.Probe {
	p := &corev1.Probe{PeriodSeconds: 10}
	if s.ServerSecret != "" {
		p.TCPSocket = &corev1.TCPSocketAction{Port: intstr.FromString("grpc")}
	} else {
		p.GRPC = &corev1.GRPCAction{Port: layout.ScalerPort}
	}
	return p
}

// Environment variables of the scaler's container, from the Redis Secret.
const (
	scalerPasswordEnv = "MASTOSCALE_REDIS_PASSWORD"
	scalerUsernameEnv = "MASTOSCALE_REDIS_USERNAME"
)

func scalerEnv(r layout.RedisTarget) []corev1.EnvVar {
	ref := func(name, key string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: r.Auth.Name}, Key: key}}}
	}
	var env []corev1.EnvVar
	if r.Auth.Name != "" && r.Auth.UsernameKey != "" {
		env = append(env, ref(scalerUsernameEnv, r.Auth.UsernameKey))
	}
	if r.Auth.Name != "" {
		env = append(env, ref(scalerPasswordEnv, r.Auth.PasswordKey))
	}
	return env
}

// ScalerArgs are the arguments of `mastoscale-scaler` for the layout's Redis: the URL (without
// password: that comes from the environment), sentinels, REDIS_NAMESPACE and the gRPC TLS files.
// A username kept in the Secret reaches the URL through Kubernetes' $(VAR) expansion.
func ScalerArgs(l *layout.Layout) []string {
	r := l.Redis
	scheme := "redis"
	if r.TLS {
		scheme = "rediss"
	}
	user := r.Username
	if r.Auth.Name != "" && r.Auth.UsernameKey != "" {
		user = "$(" + scalerUsernameEnv + ")"
	}
	host := net.JoinHostPort(r.Host, strconv.Itoa(int(r.Port)))
	switch {
	case len(r.SentinelAddresses) > 0:
		host = r.SentinelMaster
	case r.Address != "":
		host = r.Address
	}
	if user != "" {
		host = user + "@" + host
	}
	u := fmt.Sprintf("%s://%s", scheme, host)
	if r.HasDatabaseIndex {
		u += "/" + strconv.Itoa(int(r.DatabaseIndex))
	}
	args := []string{"--redis", u, "--listen", ":" + strconv.Itoa(layout.ScalerPort)}
	if len(r.SentinelAddresses) > 0 {
		args = append(args, "--sentinels", strings.Join(r.SentinelAddresses, ","))
	}
	if r.TLS && r.UnsafeSSL {
		args = append(args, "--tls-insecure")
	}
	if r.Namespace != "" {
		args = append(args, "--namespace", r.Namespace)
	}
	if l.Scaler.ServerSecret != "" {
		args = append(args, "--grpc-tls-cert-file", scalerTLSDir+"/"+corev1.TLSCertKey, "--grpc-tls-key-file", scalerTLSDir+"/"+corev1.TLSPrivateKeyKey,
			"--grpc-client-ca-file", scalerTLSDir+"/"+corev1.ServiceAccountRootCAKey)
	}
	return args
}

// scalerTriggers are worker w's triggers on mastoscale's scaler: the backlog of its queues
// against listLength (AverageValue, like the redis trigger), its latency against latencyTarget
// and its busy threads against utilizationTarget (Value: neither is shared out among pods).
// A worker that may sleep gets external-push triggers: the scaler's StreamIsActive wakes it as
// soon as a job waits, instead of at the next poll.
func scalerTriggers(l *layout.Layout, w layout.Workload) []kedav1alpha1.ScaleTriggers {
	a := w.Scaling
	typ := "external"
	if a.MinReplicas == 0 {
		typ = "external-push"
	}
	trigger := func(metric string, mt autoscalingv2.MetricTargetType, target float64) kedav1alpha1.ScaleTriggers {
		t := kedav1alpha1.ScaleTriggers{Type: typ, MetricType: mt, Metadata: map[string]string{
			"scalerAddress": l.Scaler.Address,
			"metric":        metric,
			"deployment":    l.DeploymentName(w),
			"queues":        strings.Join(w.QueueNames(), ","),
			"target":        strconv.FormatFloat(target, 'f', -1, 64),
		}}
		if l.Scaler.ClientSecret != "" {
			t.AuthenticationRef = &kedav1alpha1.AuthenticationRef{Name: l.Scaler.Name}
		}
		return t
	}
	backlog := trigger("backlog", autoscalingv2.AverageValueMetricType, float64(a.ListLength))
	if a.HasActivation {
		backlog.Metadata["activationBacklog"] = strconv.FormatInt(a.ActivationListLength, 10)
	}
	if a.IncludeDue {
		backlog.Metadata["includeDue"] = "true"
	}
	out := []kedav1alpha1.ScaleTriggers{backlog}
	if a.LatencyTarget > 0 {
		out = append(out, trigger("latency", autoscalingv2.ValueMetricType, a.LatencyTarget.Seconds()))
	}
	if a.UtilizationTarget > 0 {
		out = append(out, trigger("utilization", autoscalingv2.ValueMetricType, a.UtilizationTarget))
	}
	return out
}
