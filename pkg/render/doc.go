// Package render turns a resolved layout (layout.Resolve) into typed KEDA objects: one
// ScaledObject per autoscaled worker (a redis trigger per queue, and a prometheus trigger for a
// latency goal) and the TriggerAuthentication the triggers share. It is pure: no files, no
// clock, no network, and the same layout always gives the same objects in the same order.
//
// It renders no Deployments: a Sidekiq pod must carry everything the official chart gives it
// (secrets, volumes, service account), which only the chart knows. The chart renders the
// layout's workers from `mastoscale chart-values`, or the post-renderer clones the chart's own
// Deployment; both use ScaledObjectFor and TriggerAuthenticationFor from here.
package render
