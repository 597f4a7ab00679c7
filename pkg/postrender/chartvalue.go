package postrender

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mastoscale/mastoscale/pkg/layout"
)

// chartWorkers is the value both official charts render their Sidekiq Deployments from, one
// Deployment per element, in order.
const chartWorkers = "mastodon.sidekiq.workers"

// chartWorkerValue is the chart value of the release's i-th worker, with field (queues,
// concurrency, replicas, name) when the finding is about one: what the admin changes in the
// chart's values.
func chartWorkerValue(i int, field string) string {
	v := fmt.Sprintf("%s[%d]", chartWorkers, i)
	if field != "" {
		v += "." + field
	}
	return v
}

// chartFields are the layout worker fields the charts' worker values set under the same name.
var chartFields = []string{"name", "queues", "concurrency", "replicas"}

// locateChartValues names the chart value of every finding about one of the release's chart
// workers: its Deployment, or, in attach mode (where the layout's workers are the chart's, in
// order), the layout path spec.workers[i]. Findings a layout field outside spec.workers settles
// (Redis, namespace, version) name none.
func locateChartValues(r *release, attach bool, fs []layout.Finding) {
	for k := range fs {
		x := &fs[k]
		if x.ChartValue != "" {
			continue
		}
		i, field := layoutWorker(x.Layout)
		if i < 0 && x.Layout != "" {
			continue // settled in the layout (Redis, namespace, version), not by a chart worker
		}
		if !attach || i >= len(r.workers) {
			i = slices.IndexFunc(r.workers, func(w *Worker) bool {
				return x.Kind == "Deployment" && x.Name == w.Object.Name && x.Namespace == w.Namespace
			})
			if !attach {
				field = ""
			}
		}
		if i >= 0 {
			x.ChartValue = chartWorkerValue(i, field)
		}
	}
}

// layoutWorker reads `spec.workers[i].field...` into i and field when field is one the charts
// set too; i is -1 for another path.
func layoutWorker(path string) (int, string) {
	rest, ok := strings.CutPrefix(path, workersPath.String()+"[")
	if !ok {
		return -1, ""
	}
	num, rest, ok := strings.Cut(rest, "]")
	i, err := strconv.Atoi(num)
	if !ok || err != nil {
		return -1, ""
	}
	name, _, _ := strings.Cut(strings.TrimPrefix(rest, "."), ".")
	name, _, _ = strings.Cut(name, "[")
	if !slices.Contains(chartFields, name) {
		name = ""
	}
	return i, name
}

// checkScales fails a release that would end up with no ScaledObject: a post-render that
// autoscales nothing would otherwise succeed in silence (Helm hides a succeeding
// post-renderer's output but for the manifests).
func checkScales(r *release, l *layout.Layout, attach bool, f *findings) {
	if slices.ContainsFunc(l.Workers, func(w layout.Workload) bool { return w.Autoscaled }) {
		return
	}
	if !attach {
		f.addLayout(layout.Error, workersPath, layout.Location{},
			"release %q: the layout autoscales none of its workers: give a worker autoscale (spec.workers[i].autoscale), or use --preset %s", r.name, layout.PresetSplit)
		return
	}
	names := make([]string, len(r.workers))
	for i, w := range r.workers {
		names[i] = strconv.Quote(w.Name)
	}
	at := r.workers[0].Ref()
	at.ChartValue = chartWorkers
	f.addLayout(layout.Error, workersPath, at,
		"release %q: nothing to autoscale: its workers (%s) all consume %q, which must run in one process: split the queues with --preset %s (spec.preset: %s in a layout), or list workers in a layout's spec.workers or in the chart's %s, one without %q",
		r.name, strings.Join(names, ", "), layout.SchedulerQueue, layout.PresetSplit, layout.PresetSplit, chartWorkers, layout.SchedulerQueue)
}
