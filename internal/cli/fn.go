package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/mastoscale/mastoscale/internal/krm"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/spf13/cobra"
	"sigs.k8s.io/kustomize/kyaml/fn/framework"
	"sigs.k8s.io/kustomize/kyaml/fn/framework/command"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

func newFnCommand(Streams) *cobra.Command {
	var results framework.Results
	process := framework.ResourceListProcessorFunc(func(rl *framework.ResourceList) error {
		err := krm.Process(rl)
		results = rl.Results
		return err
	})
	// kyaml's command does the ResourceList and standalone IO; we add the report and exit code.
	cmd := command.Build(process, command.StandaloneEnabled, true)
	run := cmd.RunE
	var verify bool
	cmd.Use = "fn [LAYOUT [MANIFEST... | -]]"
	cmd.Short = "Run as a kustomize or kpt KRM function, or verify that one ran"
	cmd.Long = `fn is mastoscale as a KRM function. It reads a ResourceList on stdin whose
functionConfig is a SidekiqLayout, splits and autoscales the Sidekiq Deployments of its items
exactly as the Helm post-renderer does, and writes the ResourceList to stdout with findings in
its results. Warnings and errors are also printed to stderr, since kustomize drops results;
any error exits 1.

With files as arguments it runs standalone: the first names the layout, the rest the
manifests ("-" for stdin), and the output is a plain manifest stream.

--verify checks built output instead: kustomize skips exec functions silently without
--enable-alpha-plugins --enable-exec, so pipe the build into
  mastoscale fn --verify LAYOUT
to fail (exit 1) when the output lacks the layout's Deployments, ScaledObjects or
TriggerAuthentication, or still runs another Sidekiq Deployment.`
	cmd.Example = `  kustomize build --enable-alpha-plugins --enable-exec kustomize/autoscaled
  mastoscale fn kustomize/autoscaled/sidekiq-layout.yaml release.yaml
  kustomize build --enable-alpha-plugins --enable-exec kustomize/autoscaled | mastoscale fn --verify kustomize/autoscaled/sidekiq-layout.yaml`
	cmd.Flags().BoolVar(&verify, "verify", false, "check built manifests (files or stdin) against the LAYOUT instead of transforming them")
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if verify {
			return runVerify(c, args)
		}
		err := run(c, args)
		writeResults(c.ErrOrStderr(), results)
		if err != nil {
			if results.ExitCode() == 0 {
				fmt.Fprintf(c.ErrOrStderr(), "mastoscale fn: %v\n", err)
			}
			return &ExitError{Code: 1}
		}
		return nil
	}
	return cmd
}

// writeResults prints the errors and warnings among results, one a line; notes stay in the
// ResourceList.
func writeResults(w io.Writer, results framework.Results) {
	for _, r := range results {
		if r.Severity == framework.Error || r.Severity == framework.Warning {
			fmt.Fprintf(w, "mastoscale fn: %s\n", r)
		}
	}
}

func runVerify(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("--verify needs the layout the function was given: mastoscale fn --verify LAYOUT [MANIFEST... | -]")
	}
	l, err := layout.Load(args[0])
	if err != nil {
		return err
	}
	var readers []io.Reader
	for _, a := range args[1:] {
		if a == "-" {
			readers = append(readers, c.InOrStdin())
			continue
		}
		f, err := os.Open(a)
		if err != nil {
			return fmt.Errorf("reading manifests: %w", err)
		}
		defer f.Close()
		readers = append(readers, f)
	}
	if len(readers) == 0 {
		readers = append(readers, c.InOrStdin())
	}
	var items []*yaml.RNode
	for _, r := range readers {
		nodes, err := (&kio.ByteReader{Reader: r, OmitReaderAnnotations: true}).Read()
		if err != nil {
			return fmt.Errorf("reading manifests: %w", err)
		}
		items = append(items, nodes...)
	}
	problems := krm.Verify(l, items)
	for _, p := range problems {
		fmt.Fprintf(c.ErrOrStderr(), "mastoscale fn --verify: %s\n", p)
	}
	if len(problems) > 0 {
		return &ExitError{Code: 1}
	}
	fmt.Fprintf(c.OutOrStdout(), "%s: the output carries the layout (%d workers)\n", args[0], len(l.Spec.Workers))
	return nil
}
