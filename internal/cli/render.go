package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/render"
	"github.com/spf13/cobra"
)

// renderFlags are the flags of `mastoscale render`.
type renderFlags struct {
	layout layoutFlags
	output string
	out    outputFlags
}

func newRenderCommand(s Streams) *cobra.Command {
	f := &renderFlags{}
	cmd := &cobra.Command{
		Use:   "render [-f layout.yaml | --preset NAME] [-o yaml|json] [--check FILE | --write FILE]",
		Short: "Render the ScaledObjects, the TriggerAuthentication and the PodDisruptionBudgets of a layout",
		Long: `render prints the KEDA objects of a layout: a ScaledObject per autoscaled worker and the
TriggerAuthentication for Redis; then a PodDisruptionBudget per worker (maxUnavailable 1 unless
its disruption block says otherwise), since neither official chart has one. Without flags it
renders the built-in "split" preset.

It renders no Deployments: a Sidekiq pod needs everything the official chart gives it
(secrets, volumes, service account). Let the official chart run the layout's workers (its
mastodon.sidekiq.workers, named like the layout's), or use the post-renderer or the KRM
function, which clone the chart's own Deployment.

--check FILE compares FILE with what would be rendered, as objects (formatting and order do
not matter), and exits 1 with a diff when they differ. --write FILE regenerates FILE.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return runRender(s, f) },
	}
	f.layout.register(cmd)
	cmd.Flags().StringVarP(&f.output, "output", "o", "yaml", "output format: yaml or json")
	f.out.register(cmd)
	return cmd
}

func runRender(s Streams, f *renderFlags) error {
	if f.output != "yaml" && f.output != "json" {
		return fmt.Errorf("--output must be yaml or json, not %q", f.output)
	}
	l, name, err := f.layout.load()
	if err != nil {
		return err
	}
	r, _, err := layout.Resolve(l)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	set, err := render.Render(r)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if len(set.ScaledObjects) == 0 {
		fmt.Fprintf(s.ErrOut, "mastoscale: %s autoscales no worker, so only the workers' PodDisruptionBudgets are rendered: give a worker an autoscale block\n", name)
	}
	encode := render.YAML
	if f.output == "json" {
		encode = render.JSON
	}
	data, err := encode(set.Objects())
	if err != nil {
		return err
	}
	return f.out.emit(s, data, "mastoscale render "+strings.Join(f.layout.args(), " "))
}

// outputFlags send a command's manifest output to stdout, to a file (--write), or compare it
// with a committed file (--check).
type outputFlags struct {
	check string
	write string
	// input is how the command reads its input, shown after the regenerate command line
	// (" < input" for commands reading stdin).
	input string
}

func (f *outputFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.check, "check", "", "compare FILE with the output as objects; exit 1 with a diff when they differ")
	cmd.Flags().StringVar(&f.write, "write", "", "write the output to FILE instead of stdout")
}

// emit writes data where the flags say. regenerate is the command line that produced data,
// shown when a check fails.
func (f *outputFlags) emit(s Streams, data []byte, regenerate string) error {
	switch {
	case f.check != "" && f.write != "":
		return fmt.Errorf("give --check or --write, not both")
	case f.write != "":
		if err := os.WriteFile(f.write, data, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", f.write, err)
		}
		fmt.Fprintf(s.ErrOut, "wrote %s\n", f.write)
		return nil
	case f.check != "":
		return checkDrift(s, f.check, data, strings.TrimSpace(regenerate)+" --write "+f.check+f.input)
	default:
		_, err := s.Out.Write(data)
		return err
	}
}
