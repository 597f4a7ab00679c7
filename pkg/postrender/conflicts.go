package postrender

import (
	"fmt"
	"strings"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// checkWorkerObjects refuses Sidekiq Deployments the post-renderer cannot read or copy
// safely: a key written twice (YAML keeps one silently, the API server refuses the object,
// and a clone would carry both), and registry credentials in the image.
func checkWorkerObjects(r *release, f *findings) {
	for _, rw := range r.workers {
		for _, d := range DuplicateKeys(rw.Node) {
			at := rw.Ref()
			at.Field = d.Path
			f.add(layout.Error, at, "line %d: %s: key %q is written twice (also on line %d): YAML keeps one silently and the API server refuses the object; remove one", d.Line, d.Field(), d.Key, d.First)
		}
		if layout.HasUserInfo(rw.Image) {
			at := rw.Ref()
			at.Field = rw.ContainerPath() + ".image"
			f.add(layout.Error, at, "%s: the image reference holds registry credentials (user:password@), which would be copied into every Deployment written: use an imagePullSecret and the chart's image.repository without them", at.Field)
		}
	}
}

// DuplicateKey is a key written twice in one mapping of an object.
type DuplicateKey struct {
	// Path is the mapping's field path in the object ("" for the object itself); Key the key.
	Path, Key string
	// Line is the line of the second key in the stream, First that of the first.
	Line, First int
}

// Field is the path of the key written twice.
func (d DuplicateKey) Field() string { return joinField(d.Path, d.Key) }

// DuplicateKeys finds the keys written twice in the mappings of n (lines are the stream's, as
// Parse read it). YAML keeps one of them silently; the API server refuses the object.
func DuplicateKeys(n *yaml.RNode) []DuplicateKey { return duplicateKeys(n.YNode(), "") }

func duplicateKeys(n *yaml.Node, path string) []DuplicateKey {
	var out []DuplicateKey
	switch n.Kind {
	case yaml.MappingNode:
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if first, ok := seen[k.Value]; ok {
				out = append(out, DuplicateKey{Path: path, Key: k.Value, Line: k.Line, First: first})
			} else {
				seen[k.Value] = k.Line
			}
			out = append(out, duplicateKeys(n.Content[i+1], joinField(path, k.Value))...)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			out = append(out, duplicateKeys(c, fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	return out
}

func joinField(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// checkAutoscalers finds the user's autoscalers that would fight the layout: an HPA or a
// ScaledObject on the worker consuming the scheduler queue (a singleton:
// layout.SchedulerDuplicates), an HPA on a worker that gets a ScaledObject (two HPAs on one
// Deployment), and autoscalers left on a Deployment the layout replaces.
func checkAutoscalers(m *Manifests, r *release, l *layout.Layout, f *findings) {
	byName := map[string]layout.Workload{}
	for _, w := range l.Workers {
		byName[l.DeploymentName(w)] = w
	}
	running := map[string]bool{}
	for _, rw := range r.workers {
		running[rw.Object.Name] = true
	}
	for _, h := range m.HPAs {
		if h.Namespace != l.Namespace || strings.HasPrefix(h.Name, "keda-hpa-") || hasOwner(h.Node, "ScaledObject") {
			continue
		}
		target := targetOf(h)
		checkAutoscaler(h, target, byName, running, f)
	}
	for _, so := range m.ScaledObjects {
		target := targetOf(so)
		if w, ok := byName[target]; so.Namespace != l.Namespace || ok && w.Autoscaled {
			continue // this run's ScaledObject replaces it
		}
		checkAutoscaler(so, target, byName, running, f)
	}
}

func checkAutoscaler(a *Object, target string, byName map[string]layout.Workload, running map[string]bool, f *findings) {
	w, ok := byName[target]
	at := a.Ref()
	at.Field = "spec.scaleTargetRef.name"
	line := a.Node.YNode().Line
	switch {
	case ok && w.ConsumesScheduler():
		f.add(layout.Error, at, "line %d: %s %s scales Deployment %s, which consumes the scheduler queue and must run exactly one replica (%s): remove the %s", line, a.Kind, a.Name, target, layout.SchedulerDuplicates, a.Kind)
	case ok && w.Autoscaled && a.Kind == "HorizontalPodAutoscaler":
		f.add(layout.Error, at, "line %d: HorizontalPodAutoscaler %s scales Deployment %s, which also gets the ScaledObject %s (KEDA's own HPA): two autoscalers would fight over its replicas; remove the HPA, or give the worker fixed replicas in a layout", line, a.Name, target, target)
	case ok:
		f.add(layout.Warning, at, "line %d: ScaledObject %s scaled Deployment %s, which the layout gives fixed replicas: it is removed", line, a.Name, target)
	case running[target]:
		f.add(layout.Error, at, "line %d: %s %s scales Deployment %s, which the layout replaces: it would scale nothing (or, once the chart's Deployment is back, fight the layout's); remove it or point it at one of the layout's Deployments", line, a.Kind, a.Name, target)
	}
}

func targetOf(o *Object) string {
	if kind := scalarAt(o.Node, "spec", "scaleTargetRef", "kind"); kind != "" && kind != "Deployment" {
		return ""
	}
	return scalarAt(o.Node, "spec", "scaleTargetRef", "name")
}

func hasOwner(n *yaml.RNode, kind string) bool {
	owners, _ := n.Pipe(yaml.Lookup("metadata", "ownerReferences"))
	if owners == nil || owners.YNode().Kind != yaml.SequenceNode {
		return false
	}
	for _, o := range owners.YNode().Content {
		if scalarAt(yaml.NewRNode(o), "kind") == kind {
			return true
		}
	}
	return false
}

// unreadWorkers explains the Deployments labelled as Sidekiq workers that Read found no
// Sidekiq in: their containers are not a list of mappings, or none runs Sidekiq.
func unreadWorkers(m *Manifests, f *findings) {
	for _, o := range m.Objects {
		if o.Kind != "Deployment" || !strings.HasPrefix(o.Labels[layout.LabelComponent], layout.ComponentPrefix) {
			continue
		}
		at := o.Ref()
		at.Field = "spec.template.spec.containers"
		c, _ := o.Node.Pipe(yaml.Lookup("spec", "template", "spec", "containers"))
		if c == nil || c.YNode().Kind != yaml.SequenceNode {
			f.add(layout.Error, at, "line %d: labelled a Sidekiq worker, but spec.template.spec.containers is not a list of containers", o.Node.YNode().Line)
			continue
		}
		f.add(layout.Error, at, "line %d: labelled a Sidekiq worker, but none of spec.template.spec.containers runs `bundle exec sidekiq` in its command or args", o.Node.YNode().Line)
	}
}
