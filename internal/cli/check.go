package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/render"
	"github.com/spf13/cobra"
)

// checkFlags are the flags of `mastoscale check`.
type checkFlags struct{ layout layoutFlags }

func newCheckCommand(s Streams) *cobra.Command {
	f := &checkFlags{}
	cmd := &cobra.Command{
		Use:   "check -f layout.yaml",
		Short: "Validate a layout and show its Postgres connection budget",
		Long: `check reports every problem of a layout with its field path, then the Postgres
connections each worker uses at max replicas, and the Prometheus query of each latency
trigger. It exits 1 when the layout has errors;
warnings alone exit 0.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return runCheck(s, f) },
	}
	f.layout.register(cmd)
	return cmd
}

func runCheck(s Streams, f *checkFlags) error {
	l, name, err := f.layout.load()
	if err != nil {
		return err
	}
	r, report, err := layout.Resolve(l)
	writeReport(s.Out, name, report)
	fmt.Fprintf(s.Out, "\nPostgres connections at max replicas:\n%s", layout.ConnectionBudget(r.Workers, r.Database))
	writeLatencyQueries(s.Out, r)
	if err != nil {
		return &ExitError{Code: 1}
	}
	return nil
}

// writeLatencyQueries shows the PromQL of each latency trigger, so an admin can paste it into
// Prometheus and see the value KEDA will compare with the target before deploying.
func writeLatencyQueries(w io.Writer, l *layout.Layout) {
	header := false
	for _, wk := range l.Workers {
		q := render.LatencyQuery(wk)
		if q == "" {
			continue
		}
		if !header {
			fmt.Fprintf(w, "\nLatency triggers (Prometheus query, target):\n")
			header = true
		}
		target := "unset"
		if wk.Scaling.LatencyTarget > 0 {
			target = wk.Scaling.LatencyTarget.String()
		}
		fmt.Fprintf(w, "  %s: %s, %s\n", wk.Name, q, target)
	}
}

func writeReport(w io.Writer, name string, r layout.Report) {
	errs, warns := r.Errors(), r.Warnings()
	fmt.Fprintf(w, "%s: %s, %s\n", name, plural(len(errs), "error"), plural(len(warns), "warning"))
	for _, e := range errs {
		fmt.Fprintf(w, "  error: %s\n", describe(e))
	}
	for _, e := range warns {
		fmt.Fprintf(w, "  warning: %s\n", describe(e))
	}
}

// describe prints a finding without the "Invalid value" boilerplate for values that add nothing.
func describe(f layout.Finding) string {
	f.Message = strings.TrimPrefix(f.Message, `Invalid value: "": `)
	return f.String()
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
