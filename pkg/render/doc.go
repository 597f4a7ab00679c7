// Package render turns a SidekiqLayout into typed Kubernetes objects: one apps/v1 Deployment
// per worker, one KEDA ScaledObject per autoscaled worker (a redis trigger per queue) and the
// TriggerAuthentication the triggers share. It is pure: no files, no clock, no network, and
// the same layout always gives the same objects in the same order.
//
// The building blocks (ScaledObjectFor, TriggerAuthenticationFor, SidekiqCommand) are exported
// so the post-renderer and the KRM function attach the very same objects to a release.
package render
