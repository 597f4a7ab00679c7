// Package mastodon holds the facts about Mastodon that mastoscale builds on: which Sidekiq
// queues each Mastodon version runs and with which default weights, which queue must be
// consumed by exactly one process, how Redis list names are formed (with and without
// REDIS_NAMESPACE), and the naming conventions of the two official Helm charts.
//
// Everything here is pure data and small functions; nothing reads files or talks to Redis.
package mastodon
