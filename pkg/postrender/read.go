package postrender

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Manifests is what a set of manifests holds for Mastodon's Sidekiq: its Sidekiq workers,
// what each runs and with which environment, and the objects that scale them. The
// post-renderer, the KRM function, lint, --check and fn --verify all read manifests with Read.
type Manifests struct {
	// Objects are every object (a mapping with a kind), in input order, Helm hooks included.
	Objects []*Object
	// Workers are the Deployments that run Sidekiq, in input order.
	Workers []*Worker
	// The objects of these kinds, in input order, hooks excepted.
	ScaledObjects, TriggerAuthentications, HPAs, Secrets, ConfigMaps, PodDisruptionBudgets []*Object

	configMaps, secrets map[objectKey]*Object
}

// Object is one object of the manifests.
type Object struct {
	// Index is the object's position among the nodes given to Read, from 0.
	Index                             int
	APIVersion, Kind, Name, Namespace string
	Labels                            map[string]string
	// Hook marks a Helm hook (helm.sh/hook), which the post-renderer leaves alone.
	Hook bool
	Node *yaml.RNode
}

// Ref describes the object for findings.
func (o *Object) Ref() layout.Location {
	return layout.Location{APIVersion: o.APIVersion, Kind: o.Kind, Name: o.Name, Namespace: o.Namespace}
}

// Worker is a Deployment whose container runs Sidekiq.
type Worker struct {
	*Object
	// Name is the worker's name: the charts' component label `sidekiq-<name>`, else the
	// Deployment's name. Labelled tells whether the Deployment carries the charts' labels.
	Name     string
	Labelled bool
	// Release is the app.kubernetes.io/instance label, or "".
	Release string
	// Container is the position of the Sidekiq container in the pod template.
	Container     int
	ContainerNode *yaml.RNode
	Sidekiq       Sidekiq
	// Replicas is spec.replicas; GracePeriod spec.template.spec.terminationGracePeriodSeconds.
	Replicas    *int32
	GracePeriod *int64
	// Image is the container's image; Version the Mastodon version read from its tag or the
	// app.kubernetes.io/version label, else the appVersion of the chart version its
	// helm.sh/chart label names (VersionAssumed then says so), or "" when none tells.
	Image, Version string
	VersionAssumed string
	// Env is the container's environment as far as the manifests tell: literal values, values
	// from ConfigMaps among them, and references to Secrets.
	Env map[string]EnvVar
	// Refs are the ConfigMaps and Secrets the container's environment reads.
	Refs []Ref
}

// EnvVar is where one environment variable comes from.
type EnvVar struct {
	// Value is the value when Literal (set in env or read from a ConfigMap of the manifests).
	Value   string
	Literal bool
	// Secret is the Secret key it is read from, when not literal.
	Secret *layout.SecretKeyRef
	// From says where it is set, for messages: "env of mastodon-sidekiq", "ConfigMap mastodon-env".
	From string
	// Field is the path in the Deployment where it is set (its env entry or envFrom entry).
	Field string
}

// Ref is a ConfigMap or Secret a container's environment reads.
type Ref struct {
	Kind, Name string
	// Field is the path of the reference in the Deployment.
	Field string
	// Optional references (optional: true) do not have to exist.
	Optional bool
	// Found tells whether the manifests hold the object (in the Deployment's namespace).
	Found bool
	// Elsewhere is the namespace of an object of that kind and name in another namespace when
	// the Deployment's has none, else nil.
	Elsewhere *string
}

type objectKey struct{ namespace, name string }

const hookAnnotation = "helm.sh/hook"

// Read reads manifests: nodes are the objects in order (the items of a List, or of a KRM
// ResourceList, each on its own). Nodes that are not objects (a bare list, a scalar) are
// skipped.
func Read(nodes []*yaml.RNode) *Manifests {
	m := &Manifests{configMaps: map[objectKey]*Object{}, secrets: map[objectKey]*Object{}}
	var deployments []*Object
	for i, n := range nodes {
		if n.YNode().Kind != yaml.MappingNode {
			continue
		}
		o := &Object{Index: i, APIVersion: n.GetApiVersion(), Kind: n.GetKind(), Name: n.GetName(), Namespace: n.GetNamespace(), Labels: n.GetLabels(), Node: n}
		if o.Kind == "" {
			continue
		}
		_, o.Hook = n.GetAnnotations()[hookAnnotation]
		m.Objects = append(m.Objects, o)
		if o.Hook {
			continue
		}
		m.index(o, &deployments)
	}
	for _, d := range deployments {
		if w := m.readWorker(d); w != nil {
			m.Workers = append(m.Workers, w)
		}
	}
	return m
}

func (m *Manifests) index(o *Object, deployments *[]*Object) {
	keda := strings.HasPrefix(o.APIVersion, "keda.sh/")
	key := objectKey{o.Namespace, o.Name}
	switch {
	case o.Kind == "Deployment" && o.APIVersion == "apps/v1":
		*deployments = append(*deployments, o)
	case o.Kind == "ScaledObject" && keda:
		m.ScaledObjects = append(m.ScaledObjects, o)
	case (o.Kind == "TriggerAuthentication" || o.Kind == "ClusterTriggerAuthentication") && keda:
		m.TriggerAuthentications = append(m.TriggerAuthentications, o)
	case o.Kind == "HorizontalPodAutoscaler" && strings.HasPrefix(o.APIVersion, "autoscaling/"):
		m.HPAs = append(m.HPAs, o)
	case o.Kind == "PodDisruptionBudget" && o.APIVersion == "policy/v1":
		m.PodDisruptionBudgets = append(m.PodDisruptionBudgets, o)
	case o.Kind == "Secret" && o.APIVersion == "v1":
		m.Secrets = append(m.Secrets, o)
		m.secrets[key] = o
	case o.Kind == "ConfigMap" && o.APIVersion == "v1":
		m.ConfigMaps = append(m.ConfigMaps, o)
		m.configMaps[key] = o
	}
}

// readWorker reads the Sidekiq worker a Deployment runs, or nil when none of its containers
// runs Sidekiq.
func (m *Manifests) readWorker(d *Object) *Worker {
	containers, _ := d.Node.Pipe(yaml.Lookup("spec", "template", "spec", "containers"))
	if containers == nil || containers.YNode().Kind != yaml.SequenceNode {
		return nil
	}
	for i, c := range containers.YNode().Content {
		cn := yaml.NewRNode(c)
		s, ok := sidekiqCommand(cn)
		if !ok {
			continue
		}
		w := &Worker{Object: d, Container: i, ContainerNode: cn, Sidekiq: s, Release: d.Labels[layout.LabelInstance], Image: scalarAt(cn, "image")}
		component := d.Labels[layout.LabelComponent]
		w.Labelled = strings.HasPrefix(component, layout.ComponentPrefix) && d.Labels[layout.LabelPartOf] == layout.PartOfRails
		w.Name = d.Name
		if w.Labelled {
			w.Name = strings.TrimPrefix(component, layout.ComponentPrefix)
		}
		w.Replicas = int32At(d.Node, "spec", "replicas")
		if g := int32At(d.Node, "spec", "template", "spec", "terminationGracePeriodSeconds"); g != nil {
			w.GracePeriod = ptr.To(int64(*g))
		}
		w.Version = versionOf(w.Image, d.Labels["app.kubernetes.io/version"])
		w.Env = m.environment(w)
		if w.Version == "" {
			w.Version, w.VersionAssumed = chartVersionOf(chartOf(w), d.Labels[layout.LabelHelmChart])
		}
		w.Refs = m.envRefs(w)
		w.Sidekiq.resolveConcurrency(w.Env)
		return w
	}
	return nil
}

func int32At(n *yaml.RNode, path ...string) *int32 {
	v := scalarAt(n, path...)
	if v == "" {
		return nil
	}
	i, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return nil
	}
	return ptr.To(int32(i))
}

// versionOf reads the Mastodon version from an image tag (ghcr.io/mastodon/mastodon:v4.3.2),
// else from the app.kubernetes.io/version label; "" when neither tells.
func versionOf(image, label string) string {
	if at := strings.IndexByte(image, '@'); at >= 0 {
		image = image[:at]
	}
	if colon := strings.LastIndexByte(image, ':'); colon >= 0 && !strings.Contains(image[colon:], "/") {
		if v, err := layout.ParseMastodonVersion(image[colon+1:]); err == nil {
			return v.String()
		}
	}
	if v, err := layout.ParseMastodonVersion(label); err == nil {
		return v.String()
	}
	return ""
}

// chartVersionOf is the Mastodon version the chart version named by a helm.sh/chart label
// ships (its appVersion), with the assumption in words; "" when the chart version is unknown.
func chartVersionOf(chart layout.Chart, label string) (string, string) {
	chartVersion, app, ok := layout.ChartAppVersion(chart, label)
	if !ok {
		return "", ""
	}
	v, err := layout.ParseMastodonVersion(app)
	if err != nil {
		return "", ""
	}
	return v.String(), fmt.Sprintf("Mastodon %s, the appVersion of %s %s (label %s=%s)", app, chart, chartVersion, layout.LabelHelmChart, label)
}

// ContainerPath is the path of the Sidekiq container in the Deployment.
func (w *Worker) ContainerPath() string {
	return "spec.template.spec.containers[" + strconv.Itoa(w.Container) + "]"
}

// CommandField is the path of the container field holding Sidekiq's arguments.
func (w *Worker) CommandField() string {
	if sidekiqIndex(stringsAt(w.ContainerNode, "command")) >= 0 || len(stringsAt(w.ContainerNode, "args")) == 0 {
		return w.ContainerPath() + ".command"
	}
	return w.ContainerPath() + ".args"
}

// Consumes reports whether w consumes queue.
func (w *Worker) Consumes(queue string) bool {
	for _, q := range w.Sidekiq.Queues {
		if q.Name == queue {
			return true
		}
	}
	return false
}
