package layout

import "k8s.io/apimachinery/pkg/util/validation/field"

// layoutFields locates the parts of a layout's workers at their field paths.
type layoutFields struct{}

var workersPath = field.NewPath("spec", "workers")

func (layoutFields) Worker(w int, part Part, index int) Location {
	wp := workersPath.Index(w)
	var p *field.Path
	switch part {
	case PartQueue:
		p = wp.Child("queues").Index(index)
	case PartConcurrency, PartDBPool:
		p = wp.Child("concurrency")
	case PartTimeout:
		p = wp.Child("timeout")
	case PartGracePeriod:
		p = wp.Child("terminationGracePeriodSeconds")
	case PartReplicas:
		p = wp.Child("replicas")
	case PartAutoscaler:
		p = wp.Child("autoscale")
	case PartMinReplicas:
		p = wp.Child("autoscale", "minReplicas")
	case PartMaxReplicas:
		p = wp.Child("autoscale", "maxReplicas")
	case PartRedisNamespace:
		p = field.NewPath("spec", "redis", "namespace")
	default:
		p = wp
	}
	return Location{Layout: p.String()}
}

func (layoutFields) Workers() Location { return Location{Layout: workersPath.String()} }

func (layoutFields) Budget() Location {
	return Location{Layout: field.NewPath("spec", "database", "maxConnections").String()}
}
