package postrender

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// findings gathers what a step found.
type findings []layout.Finding

func (f *findings) add(s layout.Severity, at layout.Location, format string, args ...any) {
	*f = append(*f, layout.Finding{Severity: s, Location: at, Message: fmt.Sprintf(format, args...)})
}

// addLayout adds a finding about object at that the layout field path would settle.
func (f *findings) addLayout(s layout.Severity, path *field.Path, at layout.Location, format string, args ...any) {
	at.Layout = path.String()
	f.add(s, at, format, args...)
}

func (f findings) hasErrors() bool {
	return slices.ContainsFunc(f, func(x layout.Finding) bool { return x.Severity == layout.Error })
}

// err is the error of a failed transformation: every error finding.
func (f findings) err() error {
	var errs []layout.Finding
	for _, x := range f {
		if x.Severity == layout.Error {
			errs = append(errs, x)
		}
	}
	return &layout.FindingsError{Findings: errs}
}

// plan is what the transformer makes of one release: the objects it owns in the input and
// the block of objects that replaces them.
type plan struct {
	owned map[*yaml.RNode]bool
	block []*yaml.RNode
}

// transformObjects plans the transformation of a release's objects: the edits of the objects
// it owns (its Sidekiq Deployments and KEDA objects), every other object left as it is.
func transformObjects(nodes []*yaml.RNode, opts Options) (edits, *Result, error) {
	var f findings
	m := Read(nodes)
	releases, ok := selectReleases(m, opts, &f)
	if !ok {
		return nil, &Result{Findings: f}, f.err()
	}
	var plans []*plan
	for _, r := range releases {
		if p := planRelease(m, r, opts, &f); p != nil {
			plans = append(plans, p)
		}
	}
	if f.hasErrors() {
		return nil, &Result{Findings: f}, f.err()
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

// releases groups the workers carrying the charts' labels by release, in input order; other
// Deployments running Sidekiq are left alone, with a warning.
func releases(m *Manifests, f *findings) []*release {
	var out []*release
	index := map[string]*release{}
	for _, w := range m.Workers {
		if !w.Labelled {
			f.add(layout.Warning, w.Ref(),
				"runs Sidekiq but lacks the charts' labels %s=%s<worker> and %s=%s, so the post-renderer leaves it alone",
				layout.LabelComponent, layout.ComponentPrefix, layout.LabelPartOf, layout.PartOfRails)
			continue
		}
		r := index[w.Release]
		if r == nil {
			r = &release{name: w.Release}
			index[w.Release] = r
			out = append(out, r)
		}
		r.workers = append(r.workers, w)
	}
	return out
}

// selectReleases picks the releases to transform: every release without a layout, the one the
// layout names (or the only one) with it.
func selectReleases(m *Manifests, opts Options, f *findings) ([]*release, bool) {
	all := releases(m, f)
	if len(all) == 0 {
		if len(m.Objects) > 0 && !slices.ContainsFunc(m.Objects, func(o *Object) bool { return !o.Hook }) {
			f.add(layout.Info, layout.Location{}, "the input holds only Helm hooks; they pass through unchanged")
			return nil, true
		}
		f.add(layout.Error, layout.Location{},
			"no Sidekiq Deployment found among %d objects: expected an apps/v1 Deployment labelled %s=%s<worker> and %s=%s running `bundle exec sidekiq`, as both official Mastodon charts render",
			len(m.Objects), layout.LabelComponent, layout.ComponentPrefix, layout.LabelPartOf, layout.PartOfRails)
		unreadWorkers(m, f)
		return nil, false
	}
	if opts.attach() && (opts.Layout == nil || opts.Layout.Spec.Release.Name == "") {
		return all, true
	}
	names := make([]string, len(all))
	for i, r := range all {
		names[i] = r.name
	}
	if opts.Layout != nil && opts.Layout.Spec.Release.Name != "" {
		for _, r := range all {
			if r.name == opts.Layout.Spec.Release.Name {
				return []*release{r}, true
			}
		}
		f.addLayout(layout.Error, specPath.Child("release", "name"), layout.Location{},
			"the input has no Sidekiq Deployment of release %q (found %s): set spec.release.name to the release to transform", opts.Layout.Spec.Release.Name, strings.Join(names, ", "))
		return nil, false
	}
	if len(all) > 1 {
		f.addLayout(layout.Error, specPath.Child("release", "name"), layout.Location{},
			"the input holds several Mastodon releases (%s): set spec.release.name to the one the layout is for", strings.Join(names, ", "))
		return nil, false
	}
	return all, true
}

// planRelease infers, resolves and checks the layout of release r, then builds its
// Deployments, ScaledObjects and TriggerAuthentication.
func planRelease(m *Manifests, r *release, opts Options, f *findings) *plan {
	var errs findings
	attach := opts.attach()
	if checkWorkerObjects(r, &errs); len(errs) > 0 {
		*f = append(*f, errs...)
		return nil
	}
	for _, rw := range r.workers {
		if rw.Sidekiq.Err != "" && attach {
			errs.addLayout(layout.Error, workersPath, rw.Ref(), "cannot read the Sidekiq command: %s: give a layout (-f) that lists the workers", rw.Sidekiq.Err)
		}
	}
	if len(errs) > 0 {
		*f = append(*f, errs...)
		return nil
	}
	user := inferLayout(m, r, opts, &errs)
	if user == nil || errs.hasErrors() {
		*f = append(*f, errs...)
		return nil
	}
	l, report, _ := layout.Resolve(user)
	errs = append(errs, report.Findings...)
	if l != nil {
		checkReleaseQueues(r, l, &errs)
		checkAutoscalers(m, r, l, &errs)
	}
	*f = append(*f, errs...)
	if errs.hasErrors() {
		return nil
	}
	p, err := build(m, r, l, attach, f)
	if err != nil {
		f.add(layout.Error, layout.Location{}, "%v", err)
		return nil
	}
	return p
}

// checkReleaseQueues makes sure a layout that replaces the release's workers still consumes
// every queue they consumed. The Mastodon rules cover the queues of the Mastodon catalogue;
// this catches the others (a fork's own queues).
func checkReleaseQueues(r *release, l *layout.Layout, f *findings) {
	consumed := map[string]bool{}
	for _, q := range layout.QueueNames(l.Version) {
		consumed[q] = true
	}
	for _, w := range l.Workers {
		for _, q := range w.Queues {
			consumed[q.Name] = true
		}
	}
	for _, rw := range r.workers {
		for _, q := range rw.Sidekiq.Queues {
			if !consumed[q.Name] {
				consumed[q.Name] = true // report each queue once
				f.addLayout(layout.Error, workersPath, rw.Ref(),
					"the release's worker %q consumes queue %q, which no worker of the layout consumes: its jobs would wait forever; add it to a worker's queues", rw.Name, q.Name)
			}
		}
	}
}
