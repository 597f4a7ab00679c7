package cli

import (
	"fmt"
	"io"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/render"
	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func newCheckCommand(s Streams) *cobra.Command {
	var lf layoutFlags
	cmd := &cobra.Command{
		Use:   "check -f layout.yaml",
		Short: "Validate a layout and show its Postgres connection budget",
		Long: `check reports every problem of a layout with its field path, then the Postgres
connections each worker uses at max replicas, and the Prometheus query of each latency
trigger. It exits 1 when the layout has errors;
warnings alone exit 0.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			l, name, err := lf.load()
			if err != nil {
				return err
			}
			d, report := layout.Prepare(l)
			writeReport(s.Out, name, report)
			fmt.Fprintf(s.Out, "\nPostgres connections at max replicas:\n%s", layout.ConnectionBudget(&d.Spec))
			writeLatencyQueries(s.Out, d)
			if report.HasErrors() {
				return &ExitError{Code: 1}
			}
			return nil
		},
	}
	lf.register(cmd)
	return cmd
}

// writeLatencyQueries shows the PromQL of each latency trigger, so an admin can paste it into
// Prometheus and see the value KEDA will compare with the target before deploying.
func writeLatencyQueries(w io.Writer, l *layout.SidekiqLayout) {
	header := false
	for i := range l.Spec.Workers {
		wk := &l.Spec.Workers[i]
		q := render.LatencyQuery(wk)
		if q == "" {
			continue
		}
		if !header {
			fmt.Fprintf(w, "\nLatency triggers (Prometheus query, target):\n")
			header = true
		}
		target := "unset"
		if wk.Autoscale.LatencyTarget != nil {
			target = wk.Autoscale.LatencyTarget.Duration.String()
		}
		fmt.Fprintf(w, "  %s: %s, %s\n", wk.Name, q, target)
	}
}

func writeReport(w io.Writer, name string, r layout.Report) {
	fmt.Fprintf(w, "%s: %s, %s\n", name, plural(len(r.Errors), "error"), plural(len(r.Warnings), "warning"))
	for _, e := range r.Errors {
		fmt.Fprintf(w, "  error: %s\n", describe(e))
	}
	for _, e := range r.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", describe(e))
	}
}

// describe prints a finding without the "Invalid value" boilerplate for values that add nothing.
func describe(e *field.Error) string {
	if e.Type == field.ErrorTypeInvalid && (e.BadValue == "" || e.BadValue == nil) {
		return fmt.Sprintf("%s: %s", e.Field, e.Detail)
	}
	return e.Error()
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
