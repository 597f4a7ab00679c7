// Package postrender turns the objects of a Mastodon Helm release into the same release with
// autoscaled Sidekiq: a KEDA ScaledObject per scalable worker, the TriggerAuthentication they
// share, no replicas on scaled Deployments, and, when a layout asks for other workers than the
// release runs, the chart's Sidekiq Deployments replaced by the layout's.
//
// Transform is the one transformer, on kyaml RNodes; the Helm post-renderer (Run, on byte
// streams) and the kustomize KRM function (internal/krm) are thin adapters over it. Every document
// the transformer does not own passes through unchanged and in order, and running it on its
// own output changes nothing.
package postrender
