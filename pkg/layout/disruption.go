package layout

import (
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// DefaultMaxUnavailable is a worker's PodDisruptionBudget by default: one pod at a time. A
// drain then stops a worker's pods one by one, each after Sidekiq's shutdown, and it is
// never blocked: with maxUnavailable 1 the single scheduler pod may always be evicted (it is
// restarted elsewhere at once), where minAvailable 1 would block the drain for good.
const DefaultMaxUnavailable = 1

func defaultDisruption(w *Worker) {
	if w.Disruption == nil {
		w.Disruption = &Disruption{}
	}
	if !w.Disruption.Disabled && w.Disruption.MaxUnavailable == nil {
		w.Disruption.MaxUnavailable = ptr.To[int32](DefaultMaxUnavailable)
	}
}

// validateDisruption checks a worker's disruption block.
func validateDisruption(r *problems, w *Worker, path *field.Path) {
	d := w.Disruption
	if d == nil || d.MaxUnavailable == nil {
		return
	}
	n := *d.MaxUnavailable
	switch {
	case d.Disabled:
		r.errorf(path.Child("maxUnavailable"), n, "disabled renders no PodDisruptionBudget: remove maxUnavailable, or disabled to keep the budget")
	case n < 1:
		r.errorf(path.Child("maxUnavailable"), n, "must be at least 1: with 0 no pod may ever be evicted and every node drain waits forever; set disabled: true for no budget")
	case n >= w.MaxReplicas() && w.MaxReplicas() > 1:
		r.warnf(path.Child("maxUnavailable"), n, "is at least the worker's %d replicas: a node drain may stop all of them at once; lower it", w.MaxReplicas())
	}
}
