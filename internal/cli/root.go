package cli

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
)

// Streams are what a command gets from the world: its standard streams, the environment and
// the clock. main passes the process's own; tests pass their own.
type Streams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// Getenv reads an environment variable; nil reads an empty environment.
	Getenv func(string) string
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// env reads environment variable key.
func (s Streams) env(key string) string {
	if s.Getenv == nil {
		return ""
	}
	return s.Getenv(key)
}

// now is the time on the streams' clock.
func (s Streams) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// ExitError ends a command with Code after its output has been written; the message, if any,
// has already been printed.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// NewRootCommand builds the mastoscale command tree on the given streams.
func NewRootCommand(s Streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "mastoscale",
		Short: "Split and autoscale Mastodon's Sidekiq on Kubernetes with KEDA",
		Long: `mastoscale models Mastodon's Sidekiq queue layouts and renders split Sidekiq
Deployments with KEDA ScaledObjects and a TriggerAuthentication: on its own (render), as a
Helm post-renderer (post-render), or as a kustomize KRM function (fn).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.ErrOut)
	for _, add := range commands {
		root.AddCommand(add(s))
	}
	return root
}

// commands are the subcommands, each in its own file.
var commands = []func(Streams) *cobra.Command{
	newRenderCommand,
	newCheckCommand,
	newPlanCommand,
	newTuneCommand,
	newSimulateCommand,
	newChartValuesCommand,
	newPostRenderCommand,
	newStatusCommand,
	newScalerCommand,
	newFnCommand,
	newLintCommand,
	newVersionCommand,
}

// Run executes the command line args on s and returns the process exit code.
func Run(args []string, s Streams) int {
	root := NewRootCommand(s)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var exit *ExitError
	if errors.As(err, &exit) {
		return exit.Code
	}
	fmt.Fprintf(s.ErrOut, "mastoscale: %v\n", err)
	return 1
}
