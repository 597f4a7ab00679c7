package postrender

import (
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/render"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// build makes the block of release r for resolved layout l: the TriggerAuthentication, then
// each worker's Deployment followed by its ScaledObject, in the layout's order.
func build(m *Manifests, r *release, l *layout.Layout, attach bool, f *findings) (*plan, error) {
	p := &plan{owned: map[*yaml.RNode]bool{}}
	style := styleOf(r.workers[0].Node)
	seqIndent := r.workers[0].Node.GetAnnotations()[kioutil.SeqIndentAnnotation]
	targets := map[string]bool{}
	for _, rw := range r.workers {
		p.owned[rw.Node] = true
		targets[rw.Object.Name] = true
	}
	var objects []*yaml.RNode
	scaled := false
	for _, w := range l.Workers {
		running := r.worker(w.Name)
		source := running
		if source == nil {
			source = templateFor(r, w)
		}
		d := source.Node
		if running == nil {
			d = d.Copy()
		}
		s := shape{l: l, w: w, running: running, attach: attach, f: f}
		if err := s.shapeDeployment(d, source.Container); err != nil {
			return nil, err
		}
		objects = append(objects, d)
		name := l.DeploymentName(w)
		targets[name] = true
		if !w.Autoscaled {
			continue
		}
		so, err := render.ScaledObjectFor(l, w, name)
		if err != nil {
			return nil, err
		}
		n, err := newDocument(so, "ScaledObject", so.Name, style, seqIndent)
		if err != nil {
			return nil, err
		}
		objects, scaled = append(objects, n), true
	}
	// Our own objects from an earlier run, and any ScaledObject on a Sidekiq Deployment, are
	// replaced by this run's.
	for _, so := range m.ScaledObjects {
		if so.Namespace == l.Namespace && targets[scalarAt(so.Node, "spec", "scaleTargetRef", "name")] {
			p.owned[so.Node] = true
		}
	}
	for _, ta := range m.TriggerAuthentications {
		if ta.Kind == "TriggerAuthentication" && ta.Namespace == l.Namespace && ta.Name == l.Redis.TriggerAuthentication && l.Redis.TriggerAuthentication != "" {
			p.owned[ta.Node] = true
		}
	}
	if ta := render.TriggerAuthenticationFor(l); ta != nil && scaled && render.NeedsRedisAuthentication(l) {
		n, err := newDocument(ta, "TriggerAuthentication", ta.Name, style, seqIndent)
		if err != nil {
			return nil, err
		}
		p.block = append(p.block, n)
	}
	p.block = append(p.block, objects...)
	scaler, err := scalerDocuments(m, l, p, style, seqIndent)
	if err != nil {
		return nil, err
	}
	p.block = append(p.block, scaler...)
	return p, nil
}

// scalerDocuments are the documents of mastoscale's scaler (render.ScalerObjectsFor), after
// the workers'; the scaler's objects of an earlier run are replaced by this run's.
func scalerDocuments(m *Manifests, l *layout.Layout, p *plan, style sourceStyle, seqIndent string) ([]*yaml.RNode, error) {
	s := render.ScalerObjectsFor(l)
	if s == nil {
		return nil, nil
	}
	var out []*yaml.RNode
	for _, obj := range s.Objects() {
		kind, name := obj.GetObjectKind().GroupVersionKind().Kind, l.Scaler.Name
		n, err := newDocument(obj, kind, name, style, seqIndent)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
		for _, o := range m.Objects {
			if o.Kind == kind && o.Name == name && o.Namespace == l.Namespace && !o.Hook {
				p.owned[o.Node] = true
			}
		}
	}
	return out, nil
}

// templateFor is the chart's worker a new worker of the layout is cloned from: the one it
// takes the most queues from (the first one on a tie), so it keeps that worker's pod (image,
// resources, scheduling).
func templateFor(r *release, w layout.Workload) *Worker {
	best, most := r.workers[0], -1
	for _, rw := range r.workers {
		n := 0
		for _, q := range w.Queues {
			if rw.Consumes(q.Name) {
				n++
			}
		}
		if n > most {
			best, most = rw, n
		}
	}
	return best
}
