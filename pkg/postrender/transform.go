package postrender

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/render"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// plan is what the transformer makes of one release: the documents it owns in the input and
// the block of documents that replaces them.
type plan struct {
	owned map[*yaml.RNode]bool
	block []*yaml.RNode
}

// transformObjects plans the transformation of a release's objects: the edits of the objects
// it owns (its Sidekiq Deployments and KEDA objects), every other object left as it is.
func transformObjects(nodes []*yaml.RNode, opts Options) (edits, *Result, error) {
	var f findings
	s := readStream(nodes)
	releases, ok := selectReleases(s, opts, &f)
	if !ok {
		return nil, &Result{Findings: f}, summarize(f)
	}
	var plans []*plan
	for _, r := range releases {
		if p := planRelease(s, r, opts, &f); p != nil {
			plans = append(plans, p)
		}
	}
	if f.hasErrors() {
		return nil, &Result{Findings: f}, summarize(f)
	}
	// Each release's block takes the place of the first object it owns; its other objects go.
	e := edits{}
	for _, p := range plans {
		placed := false
		for _, n := range nodes {
			if !p.owned[n] {
				continue
			}
			if placed {
				e[n] = nil
				continue
			}
			e[n], placed = p.block, true
		}
	}
	return e, &Result{Findings: f}, nil
}

// apply returns nodes with the edits made: each edited object replaced by its nodes.
func (e edits) apply(nodes []*yaml.RNode) []*yaml.RNode {
	out := make([]*yaml.RNode, 0, len(nodes)+8)
	for _, n := range nodes {
		if repl, ok := e[n]; ok {
			out = append(out, repl...)
			continue
		}
		out = append(out, n)
	}
	return out
}

// selectReleases picks the releases to transform: every release without a layout, the one the
// layout names (or the only one) with it.
func selectReleases(s *stream, opts Options, f *findings) ([]*release, bool) {
	if len(s.releases) == 0 {
		onlyHooks := len(s.docs) > 0
		for _, d := range s.docs {
			onlyHooks = onlyHooks && d.hook
		}
		if onlyHooks {
			f.add(SeverityInfo, nil, nil, "the input holds only Helm hooks; they pass through unchanged")
			return nil, true
		}
		f.add(SeverityError, nil, nil,
			"no Sidekiq Deployment found: expected an apps/v1 Deployment labelled %s=%s<worker> and %s=%s running `bundle exec sidekiq`, as both official Mastodon charts render",
			layout.LabelComponent, layout.ComponentPrefix, layout.LabelPartOf, layout.PartOfRails)
		return nil, false
	}
	if opts.Layout == nil && opts.Preset == "" {
		return s.releases, true
	}
	names := make([]string, len(s.releases))
	for i, r := range s.releases {
		names[i] = r.name
	}
	if opts.Layout != nil && opts.Layout.Spec.Release.Name != "" {
		if r := s.releaseIndex[opts.Layout.Spec.Release.Name]; r != nil {
			return []*release{r}, true
		}
		f.add(SeverityError, specPath.Child("release", "name"), nil,
			"the input has no Sidekiq Deployment of release %q (found %s): set spec.release.name to the release to transform", opts.Layout.Spec.Release.Name, strings.Join(names, ", "))
		return nil, false
	}
	if len(s.releases) > 1 {
		f.add(SeverityError, specPath.Child("release", "name"), nil,
			"the input holds several Mastodon releases (%s): set spec.release.name to the one the layout is for", strings.Join(names, ", "))
		return nil, false
	}
	return s.releases, true
}

// planRelease infers, defaults and validates the layout of release r, then builds its
// Deployments, ScaledObjects and TriggerAuthentication.
func planRelease(s *stream, r *release, opts Options, f *findings) *plan {
	var errs findings
	for _, rw := range r.workers {
		if rw.sidekiq.parseErr != "" {
			errs.add(SeverityError, workersPath, rw.doc.ref(), "cannot read the Sidekiq command: %s: give a layout (-f) that lists the workers", rw.sidekiq.parseErr)
		}
	}
	if len(errs) > 0 && opts.Layout == nil && opts.Preset == "" {
		*f = append(*f, errs...)
		return nil
	}
	errs = nil
	user := inferLayout(s, r, opts, &errs)
	if user == nil || errs.hasErrors() {
		*f = append(*f, errs...)
		return nil
	}
	l := layout.Default(user)
	report := layout.Validate(l)
	errs.addReport(report.Errors, SeverityError)
	errs.addReport(report.Warnings, SeverityWarning)
	checkReleaseQueues(r, l, &errs)
	*f = append(*f, errs...)
	if errs.hasErrors() {
		return nil
	}
	p, err := build(s, r, l)
	if err != nil {
		f.add(SeverityError, nil, nil, "%v", err)
		return nil
	}
	return p
}

// checkReleaseQueues makes sure a layout that replaces the release's workers still consumes
// every queue they consumed. Validate already covers the queues of the Mastodon catalogue;
// this catches the others (a fork's own queues).
func checkReleaseQueues(r *release, l *layout.SidekiqLayout, f *findings) {
	consumed := map[string]bool{}
	if v, err := layout.ParseMastodonVersion(l.Spec.MastodonVersion); err == nil {
		for _, q := range layout.QueueNames(v) {
			consumed[q] = true
		}
	}
	for _, w := range l.Spec.Workers {
		for _, q := range w.Queues {
			consumed[q.Name] = true
		}
	}
	for _, rw := range r.workers {
		for _, q := range rw.sidekiq.queues {
			if !consumed[q.name] {
				consumed[q.name] = true // report each queue once
				f.add(SeverityError, workersPath, rw.doc.ref(),
					"the release's worker %q consumes queue %q, which no worker of the layout consumes: its jobs would wait forever; add it to a worker's queues", rw.name, q.name)
			}
		}
	}
}

func build(s *stream, r *release, l *layout.SidekiqLayout) (*plan, error) {
	p := &plan{owned: map[*yaml.RNode]bool{}}
	ns := l.Metadata.Namespace
	template := r.workers[0]
	style := styleOf(template.doc.node)
	seqIndent := template.doc.node.GetAnnotations()[kioutil.SeqIndentAnnotation]
	targets := map[string]bool{}
	for _, rw := range r.workers {
		p.owned[rw.doc.node] = true
		targets[rw.doc.name] = true
	}
	var deployments, scaled []*yaml.RNode
	for i := range l.Spec.Workers {
		w := &l.Spec.Workers[i]
		running := r.worker(w.Name)
		source := running
		if source == nil {
			source = template
		}
		d := source.doc.node
		if running == nil {
			d = d.Copy()
		}
		if err := shapeDeployment(l, w, d, source.containerIndex(), running); err != nil {
			return nil, err
		}
		deployments = append(deployments, d)
		name := render.DeploymentName(l, w)
		targets[name] = true
		if w.Autoscale == nil {
			scaled = append(scaled, nil)
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
		scaled = append(scaled, n)
	}
	// Our own objects from an earlier run, and any ScaledObject on a Sidekiq Deployment, are
	// replaced by this run's.
	for target := range targets {
		for _, d := range s.scaledObjects[objectKey{ns, target}] {
			p.owned[d.node] = true
		}
	}
	var auth *yaml.RNode
	if ta := render.TriggerAuthenticationFor(l); ta != nil && hasAny(scaled) {
		n, err := newDocument(ta, "TriggerAuthentication", ta.Name, style, seqIndent)
		if err != nil {
			return nil, err
		}
		auth = n
	}
	if a := l.Spec.Redis.Auth; a != nil && a.TriggerAuthenticationName != "" {
		if d := s.triggerAuths[objectKey{ns, a.TriggerAuthenticationName}]; d != nil {
			p.owned[d.node] = true
		}
	}
	// The order of render.Set.Objects: the TriggerAuthentication, then each Deployment
	// followed by its ScaledObject.
	if auth != nil {
		p.block = append(p.block, auth)
	}
	for i, d := range deployments {
		p.block = append(p.block, d)
		if scaled[i] != nil {
			p.block = append(p.block, scaled[i])
		}
	}
	return p, nil
}

func hasAny(nodes []*yaml.RNode) bool {
	for _, n := range nodes {
		if n != nil {
			return true
		}
	}
	return false
}

// containerIndex is the position of the Sidekiq container in the pod.
func (rw *runningWorker) containerIndex() int {
	containers, _ := rw.doc.node.Pipe(yaml.Lookup("spec", "template", "spec", "containers"))
	for i, c := range containers.YNode().Content {
		if c == rw.container.YNode() {
			return i
		}
	}
	return 0
}

// summarize is the error of a failed Transform: every error finding, one a line.
func summarize(f findings) error {
	var lines []string
	for _, x := range f {
		if x.Severity == SeverityError {
			lines = append(lines, x.String())
		}
	}
	if len(lines) == 1 {
		return errors.New(lines[0])
	}
	return fmt.Errorf("%d problems:\n  %s", len(lines), strings.Join(lines, "\n  "))
}
