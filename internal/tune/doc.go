// Package tune searches, per autoscaled Sidekiq worker, the settings with the fewest
// pod-minutes that keep the worker's p99 wait within its goal on a trace, within the Postgres
// budget at max replicas: concurrency, minReplicas, maxReplicas, the trigger's listLength and
// the scale-up/scale-down pace. Every candidate is a run of internal/simulate; the search is
// coordinate descent from the input's settings and from a fast start, seeded and deterministic,
// and spreads the simulations over all cores.
package tune
