// Package simulate replays a day of Sidekiq traffic through a layout before it happens: job
// arrivals per queue, Sidekiq pods serving them with their threads and weighted queue order,
// KEDA polling Redis, and the HPA of kube-controller-manager deciding replicas, one second at a
// time. It reports per worker how long jobs waited, how many pod-minutes that cost, the peak
// replicas and Postgres connections, and how far that is from an oracle that knew the future.
//
// The model is pure: a Trace and a defaulted layout in, a Result out; the RNG is seeded, so a
// run is reproducible.
package simulate
