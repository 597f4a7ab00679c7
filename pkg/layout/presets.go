package layout

import (
	"fmt"
	"slices"

	"k8s.io/utils/ptr"
)

// Preset names.
const (
	// PresetSplit is the well-known split: default, ingress, push+pull (and fasp), mailers,
	// each autoscaled, and a single scheduler process. It is the default layout.
	PresetSplit = "split"
	// PresetChartDefault is what both official charts run out of the box: one `all-queues`
	// worker consuming every queue with 25 threads and one replica. Nothing is autoscaled.
	PresetChartDefault = "chart-default"
)

// Presets lists the preset names.
var Presets = []string{PresetSplit, PresetChartDefault}

// Preset returns the named preset for Mastodon version v, undefaulted, as a user would write
// it. Its queues follow v's catalogue.
func Preset(name string, v MastodonVersion) (*SidekiqLayout, error) {
	l := &SidekiqLayout{
		APIVersion: APIVersion,
		Kind:       Kind,
		Metadata:   Metadata{Name: DefaultRelease},
		Spec:       Spec{MastodonVersion: v.String()},
	}
	catalogue := QueueCatalogue(v)
	switch name {
	case PresetChartDefault:
		l.Spec.Workers = []Worker{{
			Name:        "all-queues",
			Concurrency: ptr.To[int32](DefaultConcurrency),
			Replicas:    ptr.To[int32](1),
			Queues:      weighted(catalogue, queueNames(catalogue)...),
		}}
	case PresetSplit:
		groups := []struct {
			name   string
			queues []string
		}{
			{"default", []string{QueueDefault}},
			{"ingress", []string{QueueIngress}},
			{"push-pull", []string{QueuePush, QueuePull, QueueFASP}},
			{"mailers", []string{QueueMailers}},
		}
		for _, g := range groups {
			qs := weighted(catalogue, g.queues...)
			if len(qs) == 0 {
				continue // e.g. no ingress queue before Mastodon 4.0
			}
			if len(qs) == 1 {
				qs[0].Weight = nil
			}
			l.Spec.Workers = append(l.Spec.Workers, Worker{Name: g.name, Queues: qs, Autoscale: &Autoscale{}})
		}
		l.Spec.Workers = append(l.Spec.Workers, Worker{
			Name:        QueueScheduler,
			Concurrency: ptr.To[int32](5),
			Replicas:    ptr.To[int32](1),
			Queues:      []Queue{{Name: QueueScheduler}},
		})
	default:
		return nil, fmt.Errorf("unknown preset %q: use one of %v", name, Presets)
	}
	return l, nil
}

// weighted returns the queues of names that exist in the catalogue, in the order given, with
// their catalogue weights.
func weighted(catalogue []CatalogueQueue, names ...string) []Queue {
	var qs []Queue
	for _, n := range names {
		i := slices.IndexFunc(catalogue, func(q CatalogueQueue) bool { return q.Name == n })
		if i < 0 {
			continue
		}
		q := Queue{Name: n}
		if w := catalogue[i].Weight; w > 0 {
			q.Weight = ptr.To(w)
		}
		qs = append(qs, q)
	}
	return qs
}

func queueNames(qs []CatalogueQueue) []string {
	names := make([]string, len(qs))
	for i, q := range qs {
		names[i] = q.Name
	}
	return names
}
