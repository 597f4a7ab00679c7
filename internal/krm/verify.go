package krm

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/render"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// NotRunHint explains the usual reason for output without ScaledObjects.
const NotRunHint = "the output has no ScaledObject: the mastoscale function did not run. " +
	"kustomize skips exec functions silently unless built with `kustomize build --enable-alpha-plugins --enable-exec`, " +
	"and `kubectl kustomize` cannot run them at all"

// Verify checks built output (what `kustomize build` printed) against the layout the function
// was given, and returns every problem, or nil when the output carries the layout: a Deployment
// per worker, a ScaledObject targeting each autoscaled worker with no fixed replicas, every
// trigger's TriggerAuthentication present, and no other Deployment running Sidekiq.
//
// A function cannot tell that it was not run; Verify is the check users and CI run on the
// output instead.
func Verify(l *layout.SidekiqLayout, items []*yaml.RNode) []string {
	d := layout.Default(layout.Clone(l))
	deployments := map[string]*yaml.RNode{}
	scaledTargets := map[string]bool{}
	auths := map[string]bool{}
	var scaledObjects []*yaml.RNode
	for _, n := range items {
		switch n.GetKind() {
		case "Deployment":
			deployments[n.GetName()] = n
		case "ScaledObject":
			scaledObjects = append(scaledObjects, n)
			if t, _ := n.GetString("spec.scaleTargetRef.name"); t != "" {
				scaledTargets[t] = true
			}
		case "TriggerAuthentication", "ClusterTriggerAuthentication":
			auths[n.GetKind()+"/"+n.GetName()] = true
		}
	}
	var problems []string
	if len(scaledObjects) == 0 && slices.ContainsFunc(d.Spec.Workers, func(w layout.Worker) bool { return w.Autoscale != nil }) {
		problems = append(problems, NotRunHint)
	}
	workers := map[string]bool{}
	for i := range d.Spec.Workers {
		w := &d.Spec.Workers[i]
		name := render.DeploymentName(d, w)
		workers[name] = true
		dep, ok := deployments[name]
		if !ok {
			problems = append(problems, fmt.Sprintf("worker %q: no Deployment %s in the output", w.Name, name))
			continue
		}
		if w.Autoscale == nil {
			continue
		}
		if !scaledTargets[name] {
			problems = append(problems, fmt.Sprintf("worker %q: no ScaledObject targets Deployment %s", w.Name, name))
		}
		if r, _ := dep.Pipe(yaml.Lookup("spec", "replicas")); r != nil {
			problems = append(problems, fmt.Sprintf("worker %q: Deployment %s sets spec.replicas, which resets KEDA's count on every apply", w.Name, name))
		}
	}
	for _, so := range scaledObjects {
		problems = append(problems, missingAuths(so, auths)...)
	}
	names := make([]string, 0, len(deployments))
	for name := range deployments {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !workers[name] && runsSidekiq(deployments[name]) {
			problems = append(problems, fmt.Sprintf("Deployment %s runs Sidekiq but is no worker of the layout: beside the layout's workers it consumes the same queues (and %s twice)", name, layout.SchedulerQueue))
		}
	}
	return problems
}

// missingAuths lists the authenticationRefs of so's triggers that name no object in auths.
func missingAuths(so *yaml.RNode, auths map[string]bool) []string {
	var problems []string
	triggers, _ := so.Pipe(yaml.Lookup("spec", "triggers"))
	if triggers == nil {
		return nil
	}
	elems, _ := triggers.Elements()
	for i, t := range elems {
		name, _ := t.GetString("authenticationRef.name")
		if name == "" {
			continue
		}
		kind, _ := t.GetString("authenticationRef.kind")
		if kind == "" {
			kind = "TriggerAuthentication"
		}
		if !auths[kind+"/"+name] {
			problems = append(problems, fmt.Sprintf("ScaledObject %s: spec.triggers[%d].authenticationRef names %s %s, which is not in the output", so.GetName(), i, kind, name))
		}
	}
	return problems
}

// runsSidekiq reports whether a Deployment is a Sidekiq worker: the charts' component label
// or a `sidekiq` container command.
func runsSidekiq(dep *yaml.RNode) bool {
	if strings.HasPrefix(dep.GetLabels()[layout.LabelComponent], layout.ComponentPrefix) {
		return true
	}
	containers, _ := dep.Pipe(yaml.Lookup("spec", "template", "spec", "containers"))
	if containers == nil {
		return false
	}
	elems, _ := containers.Elements()
	for _, c := range elems {
		cmd, _ := c.GetSlice("command")
		for _, arg := range cmd {
			if s, ok := arg.(string); ok && s == "sidekiq" {
				return true
			}
		}
	}
	return false
}
