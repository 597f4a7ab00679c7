//go:build e2e

package e2e

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// standIns creates, in the test copy, a placeholder Deployment for every ScaledObject target
// the golden does not hold: `mastoscale render` and the chart emit only the KEDA objects (the
// Deployments are the official chart's), and KEDA makes no HPA for a missing target. The stand-in
// carries the ScaledObject's labels as its selector, as the chart's Deployment would; no
// kubelet runs it.
func standIns(byKind map[string]map[string]*unstructured.Unstructured, ns string) int {
	n := 0
	for _, name := range sortedKeys(byKind["ScaledObject"]) {
		so := byKind["ScaledObject"][name]
		target, _, _ := unstructured.NestedString(so.Object, "spec", "scaleTargetRef", "name")
		kind, _, _ := unstructured.NestedString(so.Object, "spec", "scaleTargetRef", "kind")
		if target == "" || (kind != "" && kind != "Deployment") || byKind["Deployment"][target] != nil {
			continue
		}
		labels := so.GetLabels()
		if len(labels) == 0 {
			labels = map[string]string{"app.kubernetes.io/name": target}
		}
		selector := map[string]any{}
		for k, v := range labels {
			selector[k] = v
		}
		dep := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment",
			"spec": map[string]any{
				"selector": map[string]any{"matchLabels": selector},
				"template": map[string]any{
					"metadata": map[string]any{"labels": selector},
					"spec": map[string]any{"containers": []any{map[string]any{
						"name": "sidekiq", "image": "placeholder", "command": []any{"bundle", "exec", "sidekiq", "-q", "default"},
					}}},
				},
			},
		}}
		dep.SetName(target)
		dep.SetNamespace(ns)
		dep.SetLabels(map[string]string{placeholderLabel: "true"})
		if byKind["Deployment"] == nil {
			byKind["Deployment"] = map[string]*unstructured.Unstructured{}
		}
		byKind["Deployment"][target] = dep
		n++
	}
	return n
}
