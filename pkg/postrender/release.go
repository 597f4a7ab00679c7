package postrender

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

const hookAnnotation = "helm.sh/hook"

// doc is one input document with the metadata the transformer looks at, read once.
type doc struct {
	node                              *yaml.RNode
	apiVersion, kind, name, namespace string
	labels                            map[string]string
	hook                              bool
}

func (d *doc) ref() *ResourceRef {
	return &ResourceRef{APIVersion: d.apiVersion, Kind: d.kind, Name: d.name, Namespace: d.namespace}
}

type objectKey struct{ namespace, name string }

// stream indexes the input documents so every lookup is a map access: the transformer stays
// linear in the number of documents.
type stream struct {
	docs       []*doc
	configMaps map[objectKey]*doc
	secrets    map[objectKey]*doc
	// releases are the Mastodon releases found, in input order, keyed by instance label.
	releases     []*release
	releaseIndex map[string]*release
	// scaledObjects are the ScaledObjects already in the input (our own output on a second
	// run) by namespace and target Deployment; triggerAuths the TriggerAuthentications by
	// namespace and name.
	scaledObjects map[objectKey][]*doc
	triggerAuths  map[objectKey]*doc
}

// release is one Mastodon release: its Sidekiq Deployments and what they run.
type release struct {
	name    string // app.kubernetes.io/instance
	workers []*runningWorker
}

// runningWorker is a Sidekiq Deployment of the release as the chart rendered it.
type runningWorker struct {
	doc       *doc
	name      string // component label without "sidekiq-"
	container *yaml.RNode
	argv      []string // command followed by args
	sidekiq   sidekiqArgs
	replicas  *int32
	grace     *int64
}

type sidekiqArgs struct {
	concurrency *int32
	timeout     *int32
	queues      []queueArg
	parseErr    string
}

type queueArg struct {
	name   string
	weight *int32
}

func readStream(nodes []*yaml.RNode) *stream {
	s := &stream{
		configMaps:    map[objectKey]*doc{},
		secrets:       map[objectKey]*doc{},
		releaseIndex:  map[string]*release{},
		scaledObjects: map[objectKey][]*doc{},
		triggerAuths:  map[objectKey]*doc{},
	}
	for _, n := range nodes {
		d := readDoc(n)
		s.docs = append(s.docs, d)
		key := objectKey{d.namespace, d.name}
		switch {
		case d.hook:
			continue
		case d.kind == "ConfigMap" && d.apiVersion == "v1":
			s.configMaps[key] = d
		case d.kind == "Secret" && d.apiVersion == "v1":
			s.secrets[key] = d
		case d.kind == "ScaledObject" && strings.HasPrefix(d.apiVersion, "keda.sh/"):
			target := objectKey{d.namespace, scalarAt(d.node, "spec", "scaleTargetRef", "name")}
			s.scaledObjects[target] = append(s.scaledObjects[target], d)
		case d.kind == "TriggerAuthentication" && strings.HasPrefix(d.apiVersion, "keda.sh/"):
			s.triggerAuths[key] = d
		case d.kind == "Deployment" && d.apiVersion == "apps/v1":
			if w := readWorker(d); w != nil {
				instance := d.labels[layout.LabelInstance]
				r := s.releaseIndex[instance]
				if r == nil {
					r = &release{name: instance}
					s.releaseIndex[instance] = r
					s.releases = append(s.releases, r)
				}
				r.workers = append(r.workers, w)
			}
		}
	}
	return s
}

func readDoc(n *yaml.RNode) *doc {
	if n.YNode().Kind != yaml.MappingNode {
		return &doc{node: n} // not an object: pass it through
	}
	d := &doc{node: n, apiVersion: n.GetApiVersion(), kind: n.GetKind(), name: n.GetName(), namespace: n.GetNamespace()}
	d.labels = n.GetLabels()
	_, d.hook = n.GetAnnotations()[hookAnnotation]
	return d
}

// readWorker returns the Sidekiq worker a Deployment runs, or nil when it is not one: the
// charts label Sidekiq Deployments with component sidekiq-<worker> and part-of rails, and run
// `bundle exec sidekiq` in one container.
func readWorker(d *doc) *runningWorker {
	component := d.labels[layout.LabelComponent]
	if !strings.HasPrefix(component, layout.ComponentPrefix) || d.labels[layout.LabelPartOf] != layout.PartOfRails {
		return nil
	}
	containers, _ := d.node.Pipe(yaml.Lookup("spec", "template", "spec", "containers"))
	if containers == nil {
		return nil
	}
	elems, _ := containers.Elements()
	for _, c := range elems {
		argv := append(stringsAt(c, "command"), stringsAt(c, "args")...)
		i := sidekiqIndex(argv)
		if i < 0 {
			continue
		}
		w := &runningWorker{doc: d, name: strings.TrimPrefix(component, layout.ComponentPrefix), container: c, argv: argv}
		w.sidekiq = parseSidekiqArgs(argv[i+1:])
		if v := scalarAt(d.node, "spec", "replicas"); v != "" {
			if n, err := strconv.ParseInt(v, 10, 32); err == nil {
				w.replicas = ptr.To(int32(n))
			}
		}
		if v := scalarAt(d.node, "spec", "template", "spec", "terminationGracePeriodSeconds"); v != "" {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				w.grace = &n
			}
		}
		return w
	}
	return nil
}

// sidekiqIndex finds `sidekiq` in `bundle exec sidekiq ...` (or a bare `sidekiq ...`).
func sidekiqIndex(argv []string) int {
	for i, a := range argv {
		if a == "sidekiq" && (i == 0 || (i >= 2 && argv[i-1] == "exec" && argv[i-2] == "bundle")) {
			return i
		}
	}
	return -1
}

// parseSidekiqArgs reads -c/--concurrency, -t/--timeout and -q/--queue name[,weight].
func parseSidekiqArgs(args []string) sidekiqArgs {
	var s sidekiqArgs
	for i := 0; i < len(args); i++ {
		opt, val, inline := strings.Cut(args[i], "=")
		next := func() (string, bool) {
			if inline {
				return val, true
			}
			if i+1 < len(args) {
				i++
				return args[i], true
			}
			return "", false
		}
		number := func(flag string) *int32 {
			v, ok := next()
			n, err := strconv.ParseInt(v, 10, 32)
			if !ok || err != nil {
				s.parseErr = fmt.Sprintf("%s %q is not a number", flag, v)
				return nil
			}
			return ptr.To(int32(n))
		}
		switch opt {
		case "-c", "--concurrency":
			if n := number("-c"); n != nil {
				s.concurrency = n
			}
		case "-t", "--timeout":
			if n := number("-t"); n != nil {
				s.timeout = n
			}
		case "-q", "--queue":
			v, ok := next()
			if !ok {
				s.parseErr = "-q without a queue"
				continue
			}
			name, weight, hasWeight := strings.Cut(v, ",")
			q := queueArg{name: name}
			if hasWeight {
				n, err := strconv.ParseInt(weight, 10, 32)
				if err != nil {
					s.parseErr = fmt.Sprintf("-q %q has a weight that is not a number", v)
					continue
				}
				q.weight = ptr.To(int32(n))
			}
			s.queues = append(s.queues, q)
		case "-C", "--config":
			s.parseErr = "the queues come from a Sidekiq config file (-C), which mastoscale cannot read"
			next()
		}
	}
	if s.parseErr == "" && len(s.queues) == 0 {
		s.parseErr = "the command names no queue (-q)"
	}
	return s
}

// envSource is where a container's environment variable comes from.
type envSource struct {
	value   string
	literal bool
	secret  *layout.SecretKeyRef
	from    string // for messages: "ConfigMap mastodon-env"
}

// environment resolves the container's environment the way the kubelet does: envFrom in
// order (later wins), then env (wins over envFrom). ConfigMaps and Secrets are looked up in
// the stream; a Secret's keys are known only when it is in the stream.
func (s *stream) environment(w *runningWorker) map[string]envSource {
	env := map[string]envSource{}
	ns := w.doc.namespace
	envFrom, _ := w.container.Pipe(yaml.Lookup("envFrom"))
	if envFrom != nil {
		elems, _ := envFrom.Elements()
		for _, e := range elems {
			prefix := scalarAt(e, "prefix")
			if name := scalarAt(e, "configMapRef", "name"); name != "" {
				if cm := s.configMaps[objectKey{ns, name}]; cm != nil {
					for k, v := range cm.node.GetDataMap() {
						env[prefix+k] = envSource{value: v, literal: true, from: "ConfigMap " + name}
					}
				}
			}
			if name := scalarAt(e, "secretRef", "name"); name != "" {
				if sec := s.secrets[objectKey{ns, name}]; sec != nil {
					for _, k := range secretKeys(sec.node) {
						env[prefix+k] = envSource{secret: &layout.SecretKeyRef{Name: name, Key: k}, from: "Secret " + name}
					}
				}
			}
		}
	}
	list, _ := w.container.Pipe(yaml.Lookup("env"))
	if list != nil {
		elems, _ := list.Elements()
		for _, e := range elems {
			name := scalarAt(e, "name")
			switch {
			case e.Field("valueFrom") == nil:
				env[name] = envSource{value: scalarAt(e, "value"), literal: true, from: "env of " + w.doc.name}
			case scalarAt(e, "valueFrom", "secretKeyRef", "name") != "":
				env[name] = envSource{secret: &layout.SecretKeyRef{
					Name: scalarAt(e, "valueFrom", "secretKeyRef", "name"),
					Key:  scalarAt(e, "valueFrom", "secretKeyRef", "key"),
				}, from: "env of " + w.doc.name}
			case scalarAt(e, "valueFrom", "configMapKeyRef", "name") != "":
				cmName, key := scalarAt(e, "valueFrom", "configMapKeyRef", "name"), scalarAt(e, "valueFrom", "configMapKeyRef", "key")
				if cm := s.configMaps[objectKey{ns, cmName}]; cm != nil {
					if v, ok := cm.node.GetDataMap()[key]; ok {
						env[name] = envSource{value: v, literal: true, from: "ConfigMap " + cmName}
					}
				}
			}
		}
	}
	return env
}

func secretKeys(n *yaml.RNode) []string {
	var keys []string
	for _, f := range []string{"data", "stringData"} {
		m, _ := n.Pipe(yaml.Lookup(f))
		if m == nil || m.YNode().Kind != yaml.MappingNode {
			continue
		}
		fields, _ := m.Fields()
		keys = append(keys, fields...)
	}
	return keys
}
