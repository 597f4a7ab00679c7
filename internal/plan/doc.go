// Package plan sizes autoscaled Sidekiq workers from a latency goal: Little's law turns a
// worker's measured throughput and the longest a job may wait into the backlog one replica may
// carry (KEDA's listLength), a peak arrival rate into the replicas needed, and the Postgres
// connection budget into the replicas allowed. It says which of these limits binds.
package plan
