// Package sidekiq reads Sidekiq's Redis the way Sidekiq writes it: how to connect (directly or
// through sentinels, TLS, ACL users, passwords from files or the environment), the key names
// under an optional REDIS_NAMESPACE, a queue's backlog and the age of its oldest job in either
// `enqueued_at` format, the processes registry and which Deployment's pods a process runs on.
//
// It is the one code path behind what `mastoscale status` shows and what `mastoscale scaler`
// serves to KEDA: both queue the same commands (ReadQueue, ReadProcess) on their own pipelines
// and compute latency, backlog and utilization with the same functions.
package sidekiq
