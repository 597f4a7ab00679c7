package krm

import (
	"fmt"
	"slices"

	"github.com/mastoscale/mastoscale/internal/lint"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/postrender"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// NotRunHint explains the usual reason for output without ScaledObjects.
const NotRunHint = "the output has no ScaledObject: the mastoscale function did not run. " +
	"kustomize skips exec functions silently unless built with `kustomize build --enable-alpha-plugins --enable-exec`, " +
	"and `kubectl kustomize` cannot run them at all"

// Verify checks built output (what `kustomize build` printed) against the layout the function
// was given, completed from the release as the function completes it (postrender.Resolve), and
// returns every problem, or nil when the output carries the layout: a Deployment
// per worker and a ScaledObject targeting each autoscaled one, no other Deployment running
// Sidekiq, and nothing lint finds an error in (the Mastodon rules and the manifest rules, the
// same ones `mastoscale lint` applies), nor replicas left on a scaled Deployment or a trigger's
// TriggerAuthentication missing.
//
// A function cannot tell that it was not run; Verify is the check users and CI run on the
// output instead.
func Verify(l *layout.SidekiqLayout, items []*yaml.RNode) []string {
	m := postrender.Read(items)
	if len(m.Workers) == 0 {
		return []string{NotRunHint + "; and the output holds no Sidekiq Deployment at all"}
	}
	r, _, err := postrender.Resolve(items, postrender.Options{Layout: l})
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	if len(m.ScaledObjects) == 0 && slices.ContainsFunc(r.Workers, func(w layout.Workload) bool { return w.Autoscaled }) {
		problems = append(problems, NotRunHint)
	}
	workers := map[string]*postrender.Worker{}
	for _, w := range m.Workers {
		workers[w.Object.Name] = w
	}
	scaled := map[string]bool{}
	for _, so := range m.ScaledObjects {
		if t, _ := so.Node.GetString("spec.scaleTargetRef.name"); t != "" {
			scaled[t] = true
		}
	}
	names := map[string]bool{}
	for _, w := range r.Workers {
		name := r.DeploymentName(w)
		names[name] = true
		if workers[name] == nil {
			problems = append(problems, fmt.Sprintf("worker %q: no Deployment %s running Sidekiq in the output", w.Name, name))
		} else if w.Autoscaled && !scaled[name] {
			problems = append(problems, fmt.Sprintf("worker %q: no ScaledObject targets Deployment %s", w.Name, name))
		}
	}
	for _, w := range m.Workers {
		if !names[w.Object.Name] {
			problems = append(problems, fmt.Sprintf("Deployment %s runs Sidekiq but is no worker of the layout: beside the layout's workers it consumes the same queues (and %s twice)", w.Object.Name, layout.SchedulerQueue))
		}
	}
	return append(problems, lintProblems(r, items)...)
}

// lintProblems are lint's errors on the output, and the warnings that mean the function's
// objects are incomplete: replicas left on a scaled Deployment, a TriggerAuthentication missing.
func lintProblems(r *layout.Layout, items []*yaml.RNode) []string {
	findings, err := lint.Lint([]lint.Source{{Nodes: items}}, lint.Options{
		MastodonVersion: &r.Version,
		Budget:          &lint.Budget{MaxConnections: r.Database.MaxConnections, Reserved: r.Database.Reserved, Field: "spec.database.maxConnections"},
	})
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	for _, f := range findings {
		incomplete := f.Rule == lint.RuleReplicasOnScaled || (f.Rule == lint.RuleMissingReference && f.Kind == "ScaledObject")
		if f.Severity == layout.Error || incomplete {
			problems = append(problems, fmt.Sprintf("%s %s: %s: %s", f.Kind, f.Name, f.Field, f.Message))
		}
	}
	return problems
}
