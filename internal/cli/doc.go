// Package cli is the mastoscale command line: the only place that touches files, streams and
// exit codes. Commands get their streams injected so tests run them in-process.
package cli
