// Package layout defines SidekiqLayout, the one configuration kind of mastoscale: which
// Sidekiq worker groups a Mastodon server runs, which queues each consumes with which
// weights and threads, how each one scales, where Sidekiq's Redis is, and how many Postgres
// connections the whole layout may use.
//
// The same kind is the CLI's layout file, the KRM function's functionConfig and the chart's
// values. Parse is strict (unknown fields are errors with their line), Default fills every
// unset knob explicitly, and Validate reports every problem with its field path.
package layout
