// Package status reads what Sidekiq's queues look like right now from its Redis and works out
// what KEDA and the HPA would do about it under a layout.
//
// The package keeps I/O and computation apart: Read (read.go) is the only code that talks to
// Redis and returns a Snapshot, plain data; Compute, the estimator of the recorder and the
// renderers are pure functions of snapshots, a layout and a clock reading, so they are tested
// without a server and the CLI decides when time is taken.
package status
