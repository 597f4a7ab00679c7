package cli

import (
	"os"
	"time"

	"github.com/mastoscale/mastoscale/internal/scaler"
	"github.com/spf13/cobra"
)

// newScalerCommand is `mastoscale scaler`. Its flags and run function live in internal/scaler,
// which cmd/mastoscale-scaler also builds on: a binary without Helm and Kubernetes, whose
// memory is a third of this one's.
func newScalerCommand(s Streams) *cobra.Command {
	return scaler.NewCommand(scaler.Streams{In: s.In, Out: s.Out, ErrOut: s.ErrOut, LookupEnv: os.LookupEnv, Now: time.Now})
}
