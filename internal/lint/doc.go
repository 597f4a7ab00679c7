// Package lint checks Kubernetes manifests that mastoscale did not write (hand-written,
// kustomized, copied from the well-known article) for the mistakes that break Mastodon's
// Sidekiq under KEDA: a scheduler queue consumed twice, triggers that read the wrong Redis
// lists, a password in trigger metadata, a database pool smaller than the thread count, a grace
// period that kills jobs on scale-in, a connection budget that overflows at max replicas.
//
// It is pure: documents in, findings out. It reads Deployments the way the post-renderer
// reads a Helm release (postrender.ReadRelease), so both agree on what a Sidekiq worker runs.
//
// Rules (Finding.Rule):
//
//	scheduler-shared          error    the scheduler queue is consumed by several Deployments, or by
//	                                   one with spec.replicas above 1
//	scheduler-autoscaled      error    a ScaledObject or HPA targets a Deployment consuming scheduler
//	scale-target-missing      error    the target of a ScaledObject or HPA is not in the set
//	scale-target-conflict     error    a Deployment targeted by two ScaledObjects, or by a
//	                                   ScaledObject and an HPA
//	trigger-queues            error    a redis trigger's listName names a queue the target does not
//	                                   consume, or a queue the target consumes has no trigger
//	redis-namespace           error    listName without the REDIS_NAMESPACE prefix, with a prefix the
//	                                   target does not set, or any prefix (or REDIS_NAMESPACE) on
//	                                   Mastodon 4.4 and later
//	password-in-metadata      error    a password (or a redis:// address with credentials) written in
//	                                   trigger metadata
//	db-pool                   error    DB_POOL below -c (before Mastodon 4.3 also an unset DB_POOL,
//	                                   which leaves the pool at MAX_THREADS or 5)
//	connection-budget         error    at max replicas Sidekiq needs more Postgres connections than
//	                                   maxConnections minus reserved
//	grace-period              error    terminationGracePeriodSeconds (default 30) not above Sidekiq's
//	                          /warning -t (default 25): an error on an autoscaled Deployment, where
//	                                   every scale-in stops pods, a warning on a fixed one, where only
//	                                   rollouts do
//	duplicate-object          error    the same object twice in the set (lint one installation at a time)
//	duplicate-key             error    a key written twice in a Sidekiq Deployment (the API server refuses it)
//	replicas-on-scaled        warning  spec.replicas left on an autoscaled Deployment: every helm
//	                                   upgrade or kubectl apply resets the count
//	missing-reference         warning  a TriggerAuthentication, Secret or ConfigMap that a trigger or
//	                                   an autoscaled container reads is not in the set (it may be
//	                                   made elsewhere)
//	sidekiq-args              warning  the Sidekiq command cannot be read fully (e.g. -C config file),
//	                                   so the checks that need its queues or timeout are skipped
//	mastodon-version          warning  a check needs the Mastodon version and neither the image tag
//	                                   nor app.kubernetes.io/version tells it, or the image names
//	                                   none (latest, a digest) and the chart version's appVersion
//	                                   is assumed
package lint
