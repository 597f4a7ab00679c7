package chartvalues

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"sigs.k8s.io/yaml"
)

// defaultGracePeriod is a pod's terminationGracePeriodSeconds when the chart sets none: neither
// official chart has a value for it.
const defaultGracePeriod = 30

// Official returns the official Mastodon chart's values that run the layout's workers, and
// what the chart cannot express of them (one line each). Both charts, mastodon/chart 6.x and
// mastodon/helm-charts 1.x, read the same fields of each mastodon.sidekiq.workers item: name,
// concurrency, replicas (a scaled worker's starting count: KEDA owns it afterwards), queues as
// "name[,weight]" and an optional image.repository and image.tag; a Helm list replaces the
// chart's default all-queues worker as a whole. The Deployment of each is
// <fullname>-sidekiq-<name>, which charts/mastoscale's ScaledObjects target.
func Official(l *layout.SidekiqLayout) (map[string]any, []string, error) {
	r, _, err := layout.Resolve(l)
	if err != nil {
		return nil, nil, err
	}
	var workers []any
	var limits []string
	for i, w := range r.Workers {
		queues := make([]any, len(w.Queues))
		for j, q := range w.Queues {
			queues[j] = q.Name
			if q.Weight > 0 {
				queues[j] = q.Name + "," + strconv.Itoa(int(q.Weight))
			}
		}
		replicas := w.Replicas
		if w.Autoscaled {
			replicas = w.Scaling.MinReplicas
		}
		item := map[string]any{"name": w.Name, "concurrency": float64(w.Concurrency), "replicas": float64(replicas), "queues": queues}
		if image, ok := splitImage(r.Image); ok {
			item["image"] = image
		} else if r.Image != "" {
			limits = append(limits, fmt.Sprintf("spec.image %q: the charts write an image as repository:tag, not by digest; set it in the chart's image values", r.Image))
		}
		workers = append(workers, item)
		limits = append(limits, workerLimits(r, w, fmt.Sprintf("spec.workers[%d]", i))...)
	}
	return map[string]any{"mastodon": map[string]any{"sidekiq": map[string]any{"workers": workers}}}, limits, nil
}

// workerLimits are the settings of worker w the official chart has no value for.
func workerLimits(r *layout.Layout, w layout.Workload, path string) []string {
	var limits []string
	if w.Timeout != layout.SidekiqDefaultTimeout {
		limits = append(limits, fmt.Sprintf("%s.timeout %d: the chart's Sidekiq command has no -t, so its workers stop after Sidekiq's default %d s", path, w.Timeout, layout.SidekiqDefaultTimeout))
	}
	if w.Timeout >= defaultGracePeriod {
		limits = append(limits, fmt.Sprintf("%s: the chart sets no terminationGracePeriodSeconds, so scale-in may kill a job after %d s (the pod's default), before Sidekiq's timeout", path, defaultGracePeriod))
	}
	if r.Version.Less(layout.MastodonVersion{Major: 4, Minor: 3}) {
		limits = append(limits, fmt.Sprintf("%s: the chart sets no %s per worker; before Mastodon 4.3 set it to at least %d (the worker's concurrency) in the chart's environment", path, layout.EnvDBPool, w.Concurrency))
	}
	return limits
}

// splitImage is image as the charts' image.repository and image.tag.
func splitImage(image string) (map[string]any, bool) {
	if image == "" || strings.Contains(image, "@") {
		return nil, false
	}
	i := strings.LastIndex(image, ":")
	if i < 0 || strings.Contains(image[i:], "/") {
		return map[string]any{"repository": image}, true
	}
	return map[string]any{"repository": image[:i], "tag": image[i+1:]}, true
}

// OfficialYAML is the official chart's values file of layout l, with a comment saying what it
// is, how to regenerate it and what the chart cannot express.
func OfficialYAML(l *layout.SidekiqLayout, o Options) ([]byte, []string, error) {
	v, limits, err := Official(l)
	if err != nil {
		return nil, nil, err
	}
	body, err := yaml.Marshal(v)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding values: %w", err)
	}
	head := fmt.Sprintf(`# Values for the official Mastodon chart (mastodon/chart or mastodon/helm-charts), written by
#   %s
# They replace the chart's Sidekiq workers with the layout's.
# Give them to the chart after your own values; charts/mastoscale autoscales these workers.
`, command(o))
	for _, line := range limits {
		head += "# Not expressed: " + line + "\n"
	}
	return append([]byte(head), body...), limits, nil
}

func command(o Options) string {
	if o.Command == "" {
		return "mastoscale chart-values -f layout.yaml"
	}
	return o.Command
}
