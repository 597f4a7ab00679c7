package lint

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/postrender"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

const (
	// defaultGracePeriod is the pod's terminationGracePeriodSeconds when unset.
	defaultGracePeriod = 30
	// defaultMaxReplicaCount is KEDA's maxReplicaCount when a ScaledObject leaves it unset.
	defaultMaxReplicaCount = 100
	// poolBefore43 is the database pool of a Sidekiq process before Mastodon 4.3 when neither
	// DB_POOL nor MAX_THREADS is set (config/database.yml).
	poolBefore43 = 5
)

type objectKey struct{ kind, namespace, name string }

// autoscaler is a ScaledObject or an HPA, and the Deployment it scales.
type autoscaler struct {
	obj                      *postrender.Object
	targetKind, targetName   string
	minReplicas, maxReplicas int32
	target                   *postrender.Object // nil when not in the set
	worker                   *postrender.Worker // nil when the target does not run Sidekiq
}

// located is a finding and the position of its object in the input, for sorting.
type located struct {
	layout.Finding
	order int
}

type checker struct {
	m        *postrender.Manifests
	files    []string
	opts     Options
	findings []located

	byKey   map[objectKey]*postrender.Object
	byName  map[objectKey][]*postrender.Object // namespace left empty
	workers map[*yaml.RNode]*postrender.Worker
	// scalers are the autoscalers in input order; scaledBy the autoscalers of each target.
	scalers  []*autoscaler
	scaledBy map[*yaml.RNode][]*autoscaler
	// missingAt is the finding of each missing object; missingMore counts its other references.
	missingAt   map[objectKey]int
	missingMore map[int]int
}

func newChecker(m *postrender.Manifests, files []string, opts Options) *checker {
	c := &checker{
		m: m, files: files, opts: opts,
		byKey:    map[objectKey]*postrender.Object{},
		byName:   map[objectKey][]*postrender.Object{},
		workers:  map[*yaml.RNode]*postrender.Worker{},
		scaledBy: map[*yaml.RNode][]*autoscaler{},

		missingAt:   map[objectKey]int{},
		missingMore: map[int]int{},
	}
	for _, o := range m.Objects {
		if o.Hook || o.Name == "" {
			continue
		}
		c.byKey[objectKey{o.Kind, o.Namespace, o.Name}] = o
		k := objectKey{kind: o.Kind, name: o.Name}
		c.byName[k] = append(c.byName[k], o)
	}
	for _, w := range m.Workers {
		c.workers[w.Node] = w
	}
	return c
}

// find looks an object up by kind, namespace and name. An object without a namespace is taken
// to be in the namespace of the object that refers to it (helm template and kubectl apply -n
// leave namespaces out), and a reference without one matches the only object of that name.
func (c *checker) find(kind, namespace, name string) *postrender.Object {
	if o := c.byKey[objectKey{kind, namespace, name}]; o != nil {
		return o
	}
	if namespace != "" {
		return c.byKey[objectKey{kind, "", name}]
	}
	if all := c.byName[objectKey{kind: kind, name: name}]; len(all) == 1 {
		return all[0]
	}
	return nil
}

// locate is the location of a field of an object of the input.
func (c *checker) locate(o *postrender.Object, field string) layout.Location {
	at := o.Ref()
	at.File, at.Field = c.files[o.Index], field
	return at
}

func (c *checker) add(o *postrender.Object, severity layout.Severity, rule, field, format string, args ...any) {
	f := located{Finding: layout.Finding{Severity: severity, Rule: rule, Message: fmt.Sprintf(format, args...)}, order: len(c.files)}
	if o != nil {
		f.Location, f.order = c.locate(o, field), o.Index
	} else {
		f.Field = field
	}
	c.findings = append(c.findings, f)
}

// addFinding adds a finding of the Mastodon rules, placed by the object it names.
func (c *checker) addFinding(f layout.Finding, order int) {
	c.findings = append(c.findings, located{Finding: f, order: order})
}

// where names an object for messages: `Deployment/x (in file.yaml)`.
func (c *checker) where(o *postrender.Object) string {
	return c.locate(o, "").String()
}

func (c *checker) run() {
	c.checkDuplicates()
	c.readAutoscalers()
	c.checkTargets()
	for _, w := range c.m.Workers {
		c.checkWorker(w)
	}
	c.checkInstallations()
	for _, a := range c.scalers {
		if a.obj.Kind == "ScaledObject" {
			c.checkTriggers(a)
		}
	}
	c.checkTriggerAuthentications()
	c.finishMissing()
}

// checkDuplicates: an object defined twice is applied twice, and only the last one stays; the
// other checks see the last one too.
func (c *checker) checkDuplicates() {
	first := map[objectKey]*postrender.Object{}
	for _, o := range c.m.Objects {
		if o.Hook || o.Name == "" {
			continue
		}
		k := objectKey{o.Kind, o.Namespace, o.Name}
		if prev := first[k]; prev != nil {
			c.add(o, layout.Error, RuleDuplicateObject, "metadata.name",
				"%s/%s is defined twice (also in %s): only the one applied last survives; lint the objects of one installation at a time", o.Kind, o.Name, c.files[prev.Index])
			continue
		}
		first[k] = o
	}
}

func (c *checker) readAutoscalers() {
	scaledObjects := map[objectKey]bool{}
	for _, o := range c.m.ScaledObjects {
		scaledObjects[objectKey{namespace: o.Namespace, name: o.Name}] = true
		a := &autoscaler{obj: o, minReplicas: 0, maxReplicas: defaultMaxReplicaCount}
		a.minReplicas = intOr(o.Node, 0, "spec", "minReplicaCount")
		a.maxReplicas = intOr(o.Node, defaultMaxReplicaCount, "spec", "maxReplicaCount")
		c.scalers = append(c.scalers, a)
	}
	for _, o := range c.m.HPAs {
		// KEDA's own HPA (keda-hpa-<scaledobject>) shows up when manifests come from a
		// cluster: it is the ScaledObject, not a second autoscaler.
		if strings.HasPrefix(o.Name, "keda-hpa-") && scaledObjects[objectKey{namespace: o.Namespace, name: strings.TrimPrefix(o.Name, "keda-hpa-")}] {
			continue
		}
		if ownedByScaledObject(o.Node) {
			continue
		}
		a := &autoscaler{obj: o, minReplicas: intOr(o.Node, 1, "spec", "minReplicas"), maxReplicas: intOr(o.Node, 0, "spec", "maxReplicas")}
		c.scalers = append(c.scalers, a)
	}
	for _, a := range c.scalers {
		a.targetKind = scalar(a.obj.Node, "spec", "scaleTargetRef", "kind")
		a.targetName = scalar(a.obj.Node, "spec", "scaleTargetRef", "name")
		if a.targetKind == "" {
			a.targetKind = "Deployment" // KEDA's default
		}
		if a.targetName == "" {
			continue
		}
		a.target = c.find(a.targetKind, a.obj.Namespace, a.targetName)
		if a.target != nil {
			a.worker = c.workers[a.target.Node]
			c.scaledBy[a.target.Node] = append(c.scaledBy[a.target.Node], a)
		}
	}
}

func ownedByScaledObject(n *yaml.RNode) bool {
	owners, _ := n.Pipe(yaml.Lookup("metadata", "ownerReferences"))
	if owners == nil {
		return false
	}
	elems, _ := owners.Elements()
	return slices.ContainsFunc(elems, func(e *yaml.RNode) bool { return scalar(e, "kind") == "ScaledObject" })
}

// checkTargets: every autoscaler's target exists and is scaled by it alone.
func (c *checker) checkTargets() {
	for _, a := range c.scalers {
		const f = "spec.scaleTargetRef.name"
		switch {
		case a.targetName == "":
			c.add(a.obj, layout.Error, RuleScaleTargetMissing, f, "names no target: set the Deployment to scale")
			continue
		case a.target == nil:
			c.add(a.obj, layout.Error, RuleScaleTargetMissing, f,
				"%s %q is not in the files linted: fix the name, or lint the Deployment together with its %s", a.targetKind, a.targetName, a.obj.Kind)
			continue
		}
		var others []string
		for _, b := range c.scaledBy[a.target.Node] {
			if b != a {
				others = append(others, c.where(b.obj))
			}
		}
		if len(others) > 0 {
			c.add(a.obj, layout.Error, RuleScaleTargetConflict, f,
				"%s/%s is also scaled by %s: two autoscalers fight over its replicas (KEDA's webhook rejects this): keep one, with a trigger per queue",
				a.targetKind, a.targetName, strings.Join(others, ", "))
		}
	}
}

// missing reports a reference to an object that is not in the set, once per object: later
// references are counted in the first one's message.
func (c *checker) missing(from *postrender.Object, field, kind, name, consequence string) {
	key := objectKey{kind, from.Namespace, name}
	if i, ok := c.missingAt[key]; ok {
		c.missingMore[i]++
		return
	}
	c.missingAt[key] = len(c.findings)
	c.add(from, layout.Warning, RuleMissingReference, field,
		"%s %q is not in the files linted: %s (ignore this if it is made elsewhere)", kind, name, consequence)
}

// finishMissing appends to each missing-reference finding how many other references it stands for.
func (c *checker) finishMissing() {
	for i, n := range c.missingMore {
		c.findings[i].Message += fmt.Sprintf("; %s to it in the files", plural(n, "other reference"))
	}
}

// scalar returns the value at path written as text, or "" when it is absent or not a scalar.
func scalar(n *yaml.RNode, path ...string) string {
	v, err := n.GetFieldValue(strings.Join(path, "."))
	if err != nil || v == nil {
		return ""
	}
	switch v.(type) {
	case map[string]any, []any:
		return ""
	}
	return fmt.Sprint(v)
}

func intOr(n *yaml.RNode, def int32, path ...string) int32 {
	v, err := strconv.ParseInt(scalar(n, path...), 10, 32)
	if err != nil {
		return def
	}
	return int32(v)
}
