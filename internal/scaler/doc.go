// Package scaler is `mastoscale scaler`: a KEDA external scaler (the ExternalScaler gRPC service
// of KEDA's externalscaler.proto, with the generated types of the keda module) that reads
// Sidekiq's Redis and serves, per trigger, the latency of a worker's queues, the utilization of
// its threads, or its backlog.
//
// ParseTrigger (metadata.go) is the trigger metadata contract; Poller (poller.go) coalesces the
// triggers asking within a second into one Redis pipeline; Reading (reading.go) computes the
// metrics with internal/sidekiq, the code status uses; Service (service.go) is the gRPC service
// and Serve (server.go) runs it with TLS, health and graceful shutdown; command.go is the
// command line. The package imports neither Kubernetes nor Helm, so cmd/mastoscale-scaler, the
// binary of the scaler's Deployment, stays small.
package scaler
