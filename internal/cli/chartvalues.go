package cli

import (
	"fmt"

	"github.com/mastoscale/mastoscale/internal/chartvalues"
	"github.com/spf13/cobra"
)

func newChartValuesCommand(s Streams) *cobra.Command {
	var lf layoutFlags
	var opts chartvalues.Options
	cmd := &cobra.Command{
		Use:   "chart-values [-f layout.yaml | --preset NAME] [--deployments]",
		Short: "Turn a layout into values for the charts/mastoscale Helm chart",
		Long: `chart-values prints the values of the charts/mastoscale chart (for Argo CD or plain
helm install, where no post-renderer runs) that render the same objects as
` + "`mastoscale render`" + ` of the layout. Without --deployments the chart attaches only the
ScaledObjects and the TriggerAuthentication to the Deployments of an existing Mastodon
release; with it the chart renders the split Deployments too. Install into the layout's
metadata.namespace with -n.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			l, name, err := lf.load()
			if err != nil {
				return err
			}
			out, err := chartvalues.YAML(l, opts)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			_, err = s.Out.Write(out)
			return err
		},
	}
	lf.register(cmd)
	cmd.Flags().BoolVar(&opts.Deployments, "deployments", false, "let the chart render the split Sidekiq Deployments too (deployments.enabled)")
	return cmd
}
