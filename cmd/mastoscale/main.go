// Command mastoscale splits and autoscales Mastodon's Sidekiq on Kubernetes with KEDA.
package main

import (
	"os"
	"time"

	"github.com/mastoscale/mastoscale/internal/cli"
)

func main() {
	os.Exit(cli.Run(os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr, Getenv: os.Getenv, Now: time.Now}))
}
