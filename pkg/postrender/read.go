package postrender

import (
	"strconv"
	"strings"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// This file exports how the post-renderer reads a release, so that `mastoscale lint` checks
// manifests we did not write with the same understanding of Sidekiq Deployments, their
// arguments and their environment.

// Manifest is what a manifest stream says about Mastodon's Sidekiq and its autoscaling.
type Manifest struct {
	// Workers are the Deployments that run Sidekiq, in input order.
	Workers []*Worker
	// Objects are all the Kubernetes objects of the stream (those with a kind and a name),
	// Helm hooks excepted, in input order.
	Objects []*Object
	// ScaledObjects, TriggerAuthentications (and ClusterTriggerAuthentications),
	// HorizontalPodAutoscalers, Secrets and ConfigMaps of the stream, in input order.
	ScaledObjects          []*Object
	TriggerAuthentications []*Object
	HPAs                   []*Object
	Secrets                []*Object
	ConfigMaps             []*Object
}

// Object is one document of the stream.
type Object struct {
	// Index is the document's position in the nodes given to ReadRelease, from 0.
	Index      int
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	Node       *yaml.RNode
}

// Worker is a Deployment running Sidekiq, read like the post-renderer reads the charts'.
type Worker struct {
	Object
	// Release is the app.kubernetes.io/instance label, or "".
	Release string
	// ContainerIndex is the position of the Sidekiq container in the pod template.
	ContainerIndex int
	Container      *yaml.RNode
	// Concurrency (-c) and Timeout (-t) are nil when the command does not set them.
	Concurrency *int32
	Timeout     *int32
	Queues      []Queue
	// ArgsError says why the Sidekiq command could not be read fully (e.g. -C), or "".
	ArgsError string
	// Replicas is spec.replicas; GracePeriod spec.template.spec.terminationGracePeriodSeconds.
	Replicas    *int32
	GracePeriod *int64
	// Image is the container's image; Version the Mastodon version read from its tag or the
	// app.kubernetes.io/version label, or "" when neither tells.
	Image   string
	Version string
	// Env is the container's environment as far as the stream tells: literal values, values
	// from ConfigMaps in the stream, and references to Secrets.
	Env map[string]EnvVar
	// Refs are the ConfigMaps and Secrets the container's environment reads.
	Refs []Ref
}

// Queue is one -q argument.
type Queue struct {
	Name   string
	Weight *int32
}

// EnvVar is where one environment variable comes from.
type EnvVar struct {
	// Value is the value when Literal (set in env or read from a ConfigMap of the stream).
	Value   string
	Literal bool
	// Secret is the Secret key it is read from, when not literal.
	Secret *layout.SecretKeyRef
	// From says where it is set, for messages: "env of mastodon-sidekiq", "ConfigMap mastodon-env".
	From string
}

// Ref is a ConfigMap or Secret a container's environment reads.
type Ref struct {
	Kind string // ConfigMap or Secret
	Name string
	// Field is the path of the reference in the Deployment, e.g.
	// spec.template.spec.containers[0].envFrom[0].configMapRef.name.
	Field string
	// Optional references (optional: true) do not have to exist.
	Optional bool
	// Found tells whether the stream holds the object (in the Deployment's namespace).
	Found bool
}

// ReadRelease reads the Sidekiq workers and the autoscaling objects of a manifest stream.
// Deployments that run `bundle exec sidekiq` are workers whether or not they carry the
// charts' labels. Helm hooks are left out, as the post-renderer leaves them alone.
func ReadRelease(nodes []*yaml.RNode) (*Manifest, error) {
	s := readStream(nodes)
	index := make(map[*yaml.RNode]int, len(nodes))
	for i, n := range nodes {
		index[n] = i
	}
	object := func(d *doc) *Object {
		return &Object{Index: index[d.node], APIVersion: d.apiVersion, Kind: d.kind, Name: d.name, Namespace: d.namespace, Node: d.node}
	}
	read := map[*yaml.RNode]*runningWorker{}
	for _, r := range s.releases {
		for _, w := range r.workers {
			read[w.doc.node] = w
		}
	}
	m := &Manifest{}
	for _, d := range s.docs {
		if d.hook {
			continue
		}
		o := object(d)
		if d.kind != "" && d.name != "" {
			m.Objects = append(m.Objects, o)
		}
		isKEDA := strings.HasPrefix(d.apiVersion, "keda.sh/")
		switch {
		case d.kind == "Deployment" && d.apiVersion == "apps/v1":
			rw := read[d.node]
			if rw == nil {
				rw = readUnlabelled(d)
			}
			if rw != nil {
				m.Workers = append(m.Workers, s.exportWorker(rw, o))
			}
		case d.kind == "ScaledObject" && isKEDA:
			m.ScaledObjects = append(m.ScaledObjects, o)
		case (d.kind == "TriggerAuthentication" || d.kind == "ClusterTriggerAuthentication") && isKEDA:
			m.TriggerAuthentications = append(m.TriggerAuthentications, o)
		case d.kind == "HorizontalPodAutoscaler" && strings.HasPrefix(d.apiVersion, "autoscaling/"):
			m.HPAs = append(m.HPAs, o)
		case d.kind == "Secret" && d.apiVersion == "v1":
			m.Secrets = append(m.Secrets, o)
		case d.kind == "ConfigMap" && d.apiVersion == "v1":
			m.ConfigMaps = append(m.ConfigMaps, o)
		}
	}
	return m, nil
}

// readUnlabelled reads a Deployment without the charts' labels (hand-written, or renamed by
// kustomize) as readWorker reads the charts': it is shown the labels readWorker looks for,
// with the Deployment's name as the worker's.
func readUnlabelled(d *doc) *runningWorker {
	labelled := *d
	labelled.labels = map[string]string{}
	for k, v := range d.labels {
		labelled.labels[k] = v
	}
	labelled.labels[layout.LabelComponent] = layout.ComponentPrefix + d.name
	labelled.labels[layout.LabelPartOf] = layout.PartOfRails
	rw := readWorker(&labelled)
	if rw != nil {
		rw.doc = d
	}
	return rw
}

func (s *stream) exportWorker(rw *runningWorker, o *Object) *Worker {
	w := &Worker{
		Object:         *o,
		Release:        rw.doc.labels[layout.LabelInstance],
		ContainerIndex: rw.containerIndex(),
		Container:      rw.container,
		Concurrency:    rw.sidekiq.concurrency,
		Timeout:        rw.sidekiq.timeout,
		ArgsError:      rw.sidekiq.parseErr,
		Replicas:       rw.replicas,
		GracePeriod:    rw.grace,
		Image:          scalarAt(rw.container, "image"),
		Env:            map[string]EnvVar{},
	}
	for _, q := range rw.sidekiq.queues {
		w.Queues = append(w.Queues, Queue{Name: q.name, Weight: q.weight})
	}
	var ignored findings
	w.Version, _ = inferVersion(nil, rw, &ignored)
	for k, v := range s.environment(rw) {
		w.Env[k] = EnvVar{Value: v.value, Literal: v.literal, Secret: v.secret, From: v.from}
	}
	w.Refs = s.envRefs(rw, w.ContainerIndex)
	return w
}

// envRefs lists the ConfigMaps and Secrets the worker's container reads its environment from.
func (s *stream) envRefs(rw *runningWorker, container int) []Ref {
	ns := rw.doc.namespace
	base := "spec.template.spec.containers[" + strconv.Itoa(container) + "]"
	var refs []Ref
	add := func(kind, name, path string, optional bool) {
		index := s.configMaps
		if kind == "Secret" {
			index = s.secrets
		}
		_, found := index[objectKey{ns, name}]
		refs = append(refs, Ref{Kind: kind, Name: name, Field: path, Optional: optional, Found: found})
	}
	if envFrom, _ := rw.container.Pipe(yaml.Lookup("envFrom")); envFrom != nil {
		elems, _ := envFrom.Elements()
		for i, e := range elems {
			p := base + ".envFrom[" + strconv.Itoa(i) + "]"
			if name := scalarAt(e, "configMapRef", "name"); name != "" {
				add("ConfigMap", name, p+".configMapRef.name", scalarAt(e, "configMapRef", "optional") == "true")
			}
			if name := scalarAt(e, "secretRef", "name"); name != "" {
				add("Secret", name, p+".secretRef.name", scalarAt(e, "secretRef", "optional") == "true")
			}
		}
	}
	if env, _ := rw.container.Pipe(yaml.Lookup("env")); env != nil {
		elems, _ := env.Elements()
		for i, e := range elems {
			p := base + ".env[" + strconv.Itoa(i) + "].valueFrom"
			if name := scalarAt(e, "valueFrom", "configMapKeyRef", "name"); name != "" {
				add("ConfigMap", name, p+".configMapKeyRef.name", scalarAt(e, "valueFrom", "configMapKeyRef", "optional") == "true")
			}
			if name := scalarAt(e, "valueFrom", "secretKeyRef", "name"); name != "" {
				add("Secret", name, p+".secretKeyRef.name", scalarAt(e, "valueFrom", "secretKeyRef", "optional") == "true")
			}
		}
	}
	return refs
}
