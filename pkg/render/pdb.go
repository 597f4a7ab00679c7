package render

import (
	"github.com/mastoscale/mastoscale/pkg/layout"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// PodDisruptionBudgetFor renders the policy/v1 PodDisruptionBudget of worker w, named like
// its Deployment target and selecting the chart's labels of the worker's pods
// (layout.SidekiqSelectorLabels), or nil when the layout disables it. Neither official chart
// has one, so without it a node drain may stop every pod of a worker at once. Its
// maxUnavailable (default 1) never blocks a drain, not even of the single scheduler pod.
func PodDisruptionBudgetFor(l *layout.Layout, w layout.Workload, target string) *policyv1.PodDisruptionBudget {
	if w.MaxUnavailable < 1 {
		return nil
	}
	labels := layout.SidekiqSelectorLabels(l.Release.Name, w.Name)
	return &policyv1.PodDisruptionBudget{
		TypeMeta:   metav1.TypeMeta{APIVersion: policyv1.SchemeGroupVersion.String(), Kind: "PodDisruptionBudget"},
		ObjectMeta: objectMeta(l, target, labels),
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable: ptr.To(intstr.FromInt32(w.MaxUnavailable)),
			Selector:       &metav1.LabelSelector{MatchLabels: layout.SidekiqSelectorLabels(l.Release.Name, w.Name)},
		},
	}
}
