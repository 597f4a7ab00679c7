// Command mastoscale-scaler is `mastoscale scaler` alone: the KEDA external scaler that reads
// Sidekiq's Redis, in a binary without Helm, kustomize and the Kubernetes clients, for the
// scaler's Deployment (it idles at about a third of mastoscale's memory).
package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mastoscale/mastoscale/internal/scaler"
)

func main() {
	cmd := scaler.NewCommand(scaler.Streams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr, LookupEnv: os.LookupEnv, Now: time.Now})
	cmd.Use = strings.Replace(cmd.Use, "scaler", "mastoscale-scaler", 1)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	if err := cmd.Execute(); err != nil {
		fmt.Fprintf(os.Stderr, "mastoscale-scaler: %v\n", err)
		os.Exit(1)
	}
}
