package cli

import (
	"fmt"

	"github.com/mastoscale/mastoscale/pkg/render"
	"github.com/spf13/cobra"
)

func newRenderCommand(s Streams) *cobra.Command {
	var lf layoutFlags
	var output string
	cmd := &cobra.Command{
		Use:   "render [-f layout.yaml | --preset NAME] [-o yaml|json]",
		Short: "Render Deployments, ScaledObjects and the TriggerAuthentication of a layout",
		Long: `render prints the objects of a layout: one Deployment per worker, a ScaledObject per
autoscaled worker and the TriggerAuthentication for Redis. Without flags it renders the
built-in "split" preset.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if output != "yaml" && output != "json" {
				return fmt.Errorf("--output must be yaml or json, not %q", output)
			}
			l, name, err := lf.load()
			if err != nil {
				return err
			}
			set, err := render.Render(l)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			encode := render.YAML
			if output == "json" {
				encode = render.JSON
			}
			out, err := encode(set.Objects())
			if err != nil {
				return err
			}
			_, err = s.Out.Write(out)
			return err
		},
	}
	lf.register(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "yaml", "output format: yaml or json")
	return cmd
}
