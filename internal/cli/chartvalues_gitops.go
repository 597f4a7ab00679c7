package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/mastoscale/mastoscale/internal/chartvalues"
	"github.com/mastoscale/mastoscale/pkg/layout"
)

// Files chart-values --out-dir writes.
const (
	officialValuesFile   = "mastodon-values.yaml"
	mastoscaleValuesFile = "mastoscale-values.yaml"
)

// writeGitOps writes the official chart's values, charts/mastoscale's (mastoscaleValues) and
// the --gitops file into --out-dir, and names each on stdout. Everything is encoded before the
// first file is written, so a failure writes none.
func writeGitOps(s Streams, f *chartValuesFlags, l *layout.SidekiqLayout, name, command string, mastoscaleValues []byte) error {
	o := chartvalues.Options{Command: command + " --out-dir " + f.outDir}
	if f.gitops != "" {
		o.Command += " --gitops " + f.gitops
	}
	official, limits, err := chartvalues.OfficialYAML(l, o)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	files := map[string][]byte{officialValuesFile: official, mastoscaleValuesFile: mastoscaleValues}
	order := []string{officialValuesFile, mastoscaleValuesFile}
	if f.gitops != "" {
		doc, err := chartvalues.GitOpsYAML(l, f.gitops, o)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		file := map[string]string{chartvalues.ArgoCD: "argocd-application.yaml", chartvalues.Flux: "flux-helmrelease.yaml"}[f.gitops]
		files[file] = doc
		order = append(order, file)
	}
	for _, line := range limits {
		fmt.Fprintf(s.ErrOut, "mastoscale: %s: warning: the official chart cannot express %s\n", name, line)
	}
	if err := os.MkdirAll(f.outDir, 0o755); err != nil {
		return err
	}
	for _, file := range order {
		path := filepath.Join(f.outDir, file)
		if err := os.WriteFile(path, files[file], 0o644); err != nil {
			return err
		}
		fmt.Fprintln(s.Out, path)
	}
	return nil
}
