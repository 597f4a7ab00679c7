package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mastoscale/mastoscale/internal/chartvalues"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/spf13/cobra"
)

// chartValuesFlags are the flags of `mastoscale chart-values`.
type chartValuesFlags struct {
	layout layoutFlags
	// deployments is the removed --deployments flag, kept hidden so that using it says what
	// to do instead of "unknown flag".
	deployments bool
	// outDir, when set, receives both halves of the GitOps path without exec (see gitOpsFiles).
	outDir string
	// gitops names the tool whose replica-field handling goes into outDir: argocd or flux.
	gitops string
}

// errDeploymentsRemoved explains the removed --deployments flag.
var errDeploymentsRemoved = errors.New("--deployments was removed: charts/mastoscale no longer renders Sidekiq Deployments, " +
	"because they could not boot Mastodon (they lacked the secrets, volumes and service account the official chart gives its pods). " +
	"Let the official Mastodon chart run the layout's workers (its mastodon.sidekiq.workers, with the same names, queues and concurrency), " +
	"or use `mastoscale post-render` or the KRM function (`mastoscale fn`), which clone the chart's own Deployment; drop --deployments")

func newChartValuesCommand(s Streams) *cobra.Command {
	f := &chartValuesFlags{}
	cmd := &cobra.Command{
		Use:   "chart-values [-f layout.yaml | --preset NAME]",
		Short: "Check a layout and write it as sealed values for the charts/mastoscale Helm chart",
		Long: `chart-values checks a layout like ` + "`mastoscale check`" + ` and writes the values of the
charts/mastoscale chart (for Argo CD, Flux or plain helm install, where no post-renderer runs):
the layout's spec with every default filled in, its warnings (the chart's NOTES show them) and a
seal. The chart checks no rule itself: it renders the same KEDA objects as ` + "`mastoscale render`" + `
and refuses values whose seal does not match, so edit the layout and run chart-values again
rather than editing the values. An invalid layout gets every problem on stderr and nothing on
stdout.

The chart renders no Deployments: the official Mastodon chart runs the workers (its
mastodon.sidekiq.workers, with the layout's names, queues and concurrency). Install into the
layout's metadata.namespace with -n.

With --out-dir DIR, chart-values writes both halves for Argo CD or Flux without exec:
DIR/mastodon-values.yaml (the official chart's mastodon.sidekiq.workers for the layout, the same
fields in mastodon/chart and mastodon/helm-charts), DIR/mastoscale-values.yaml (the values above)
and, with --gitops argocd, DIR/argocd-application.yaml (ignoreDifferences on /spec/replicas of the
scaled Deployments, RespectIgnoreDifferences=true) or, with --gitops flux,
DIR/flux-helmrelease.yaml (a postRenderers patch removing /spec/replicas from them).`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return runChartValues(s, f) },
	}
	f.layout.register(cmd)
	cmd.Flags().BoolVar(&f.deployments, "deployments", false, "removed: the chart renders no Deployments")
	_ = cmd.Flags().MarkHidden("deployments")
	cmd.Flags().StringVar(&f.outDir, "out-dir", "", "write mastodon-values.yaml, mastoscale-values.yaml and the --gitops file into this directory")
	cmd.Flags().StringVar(&f.gitops, "gitops", "", "with --out-dir: also write the replica handling of argocd or flux")
	return cmd
}

func runChartValues(s Streams, f *chartValuesFlags) error {
	if f.deployments {
		return errDeploymentsRemoved
	}
	if f.gitops != "" && f.outDir == "" {
		return errors.New("--gitops writes a file: give --out-dir DIR too")
	}
	if f.gitops != "" && f.gitops != chartvalues.ArgoCD && f.gitops != chartvalues.Flux {
		return fmt.Errorf("--gitops %q: give %s or %s", f.gitops, chartvalues.ArgoCD, chartvalues.Flux)
	}
	l, name, err := f.layout.load()
	if err != nil {
		return err
	}
	command := strings.Join(append([]string{"mastoscale chart-values"}, f.layout.args()...), " ")
	out, err := chartvalues.YAML(l, chartvalues.Options{Command: command})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	// The warnings are in the values (and the chart's NOTES); say them here too.
	_, report, _ := layout.Resolve(l)
	for _, w := range report.Warnings() {
		fmt.Fprintf(s.ErrOut, "mastoscale: %s: warning: %s\n", name, describe(w))
	}
	if !autoscalesAny(l) {
		fmt.Fprintf(s.ErrOut, "mastoscale: %s autoscales no worker, so the chart will render nothing: give a worker an autoscale block\n", name)
	}
	if f.outDir != "" {
		return writeGitOps(s, f, l, name, command, out)
	}
	_, err = s.Out.Write(out)
	return err
}

// autoscalesAny reports whether the defaulted layout (a preset's workers included) autoscales a
// worker.
func autoscalesAny(l *layout.SidekiqLayout) bool {
	for _, w := range layout.Default(layout.Clone(l)).Spec.Workers {
		if w.Autoscale != nil {
			return true
		}
	}
	return false
}
