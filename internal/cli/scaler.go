package cli

import (
	"github.com/mastoscale/mastoscale/internal/scaler"
	"github.com/spf13/cobra"
)

// newScalerCommand is `mastoscale scaler`. Its flags and run function live in internal/scaler,
// which cmd/mastoscale-scaler also builds on: a binary without Helm and Kubernetes, whose
// memory is less than half of this one's.
func newScalerCommand(s Streams) *cobra.Command {
	return scaler.NewCommand(scaler.Streams{In: s.In, Out: s.Out, ErrOut: s.ErrOut, LookupEnv: s.lookupEnv, Now: s.now})
}

// lookupEnv reads environment variable key for flags that tell "set" from "not set"; the
// streams' environment has no unset variables, so an empty one counts as not set.
func (s Streams) lookupEnv(key string) (string, bool) {
	v := s.env(key)
	return v, v != ""
}
