package cli

import (
	"fmt"

	"github.com/mastoscale/mastoscale/internal/drift"
	"github.com/mastoscale/mastoscale/pkg/postrender"
)

// checkDrift compares the committed file with the rendered data and reports the difference.
func checkDrift(s Streams, path string, rendered []byte, regenerate string) error {
	committed, err := postrender.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	report, err := drift.Compare(rendered, committed)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if report.Clean() {
		fmt.Fprintf(s.Out, "%s is up to date (%d objects)\n", path, report.Objects)
		return nil
	}
	fmt.Fprintf(s.Out, "%s has drifted from the layout: %d changed, %d missing, %d not rendered\n%s\nregenerate it with:\n  %s\n",
		path, len(report.Changed), len(report.Missing), len(report.Extra), report.Diff(), regenerate)
	return &ExitError{Code: 1}
}
