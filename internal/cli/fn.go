package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/mastoscale/mastoscale/internal/krm"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/postrender"
	"github.com/spf13/cobra"
	"sigs.k8s.io/kustomize/kyaml/fn/framework"
)

// fnFlags are the flags of `mastoscale fn`.
type fnFlags struct{ verify bool }

func newFnCommand(s Streams) *cobra.Command {
	f := &fnFlags{}
	cmd := &cobra.Command{
		Use:   "fn [LAYOUT [MANIFEST... | -]]",
		Short: "Run as a kustomize or kpt KRM function, or verify that one ran",
		Long: `fn is mastoscale as a KRM function. It reads a ResourceList on stdin whose
functionConfig is a SidekiqLayout, splits and autoscales the Sidekiq Deployments of its items
exactly as the Helm post-renderer does, and writes the ResourceList to stdout with findings in
its results: the items it does not own byte for byte as they came. Warnings and errors are
also printed to stderr, since kustomize drops results; on any error the items are left as
they came and it exits 1.

With files as arguments it runs standalone: the first names the layout, the rest the
manifests ("-" for stdin), and the output is a plain manifest stream (nothing on failure).

--verify checks built output instead: kustomize skips exec functions silently without
--enable-alpha-plugins --enable-exec, so pipe the build into
  mastoscale fn --verify LAYOUT
to fail (exit 1) when the output lacks the layout's Deployments, ScaledObjects or
TriggerAuthentication, still runs another Sidekiq Deployment, or breaks a rule lint checks.`,
		Example: `  kustomize build --enable-alpha-plugins --enable-exec kustomize/autoscaled
  mastoscale fn kustomize/autoscaled/sidekiq-layout.yaml release.yaml
  kustomize build --enable-alpha-plugins --enable-exec kustomize/autoscaled | mastoscale fn --verify kustomize/autoscaled/sidekiq-layout.yaml`,
		RunE: func(_ *cobra.Command, args []string) error { return runFn(s, f, args) },
	}
	cmd.Flags().BoolVar(&f.verify, "verify", false, "check built manifests (files or stdin) against the LAYOUT instead of transforming them")
	return cmd
}

func runFn(s Streams, f *fnFlags, args []string) error {
	switch {
	case f.verify:
		return runVerify(s, args)
	case len(args) > 0:
		return runStandalone(s, args)
	}
	data, err := postrender.ReadInput(s.In)
	if err != nil {
		return fmt.Errorf("reading the ResourceList: %w", err)
	}
	out, results, err := krm.Run(data)
	if errors.Is(err, postrender.ErrTooLarge) {
		return err
	}
	if err != nil {
		return fmt.Errorf("%w: kustomize and kpt send a ResourceList on stdin; to run on files, give the layout and the manifests as arguments", err)
	}
	writeResults(s.ErrOut, results)
	if _, err := s.Out.Write(out); err != nil {
		return err
	}
	if results.ExitCode() != 0 {
		return &ExitError{Code: 1}
	}
	return nil
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

// runStandalone transforms manifest files with a layout file, as the post-renderer would.
func runStandalone(s Streams, args []string) error {
	l, input, err := layoutAndManifests(s, args)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	res, err := postrender.Run(bytes.NewReader(input), &out, postrender.Options{Layout: l})
	if res != nil {
		for _, x := range res.Findings {
			if x.Severity != layout.Info && (err == nil || x.Severity != layout.Error) {
				fmt.Fprintf(s.ErrOut, "mastoscale fn: %s: %s\n", x.Severity, x)
			}
		}
	}
	if err != nil {
		return err
	}
	_, err = s.Out.Write(out.Bytes())
	return err
}

// layoutAndManifests reads the layout file args[0] and the manifests of the rest.
func layoutAndManifests(s Streams, args []string) (*layout.SidekiqLayout, []byte, error) {
	l, err := layout.Load(args[0])
	if err != nil {
		return nil, nil, err
	}
	input, err := readManifests(s, args[1:])
	return l, input, err
}

// readManifests reads the manifest files ("-" is stdin, none is stdin) as one stream.
func readManifests(s Streams, paths []string) ([]byte, error) {
	if len(paths) == 0 {
		paths = []string{"-"}
	}
	var all []byte
	for _, p := range paths {
		var data []byte
		var err error
		if p == "-" {
			data, err = postrender.ReadInput(s.In)
		} else {
			data, err = postrender.ReadFile(p)
		}
		if err != nil {
			return nil, fmt.Errorf("reading manifests: %w", err)
		}
		if len(all) > 0 {
			if all[len(all)-1] != '\n' {
				all = append(all, '\n')
			}
			all = append(all, "---\n"...)
		}
		all = append(all, data...)
	}
	return all, nil
}

func runVerify(s Streams, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("--verify needs the layout the function was given: mastoscale fn --verify LAYOUT [MANIFEST... | -]")
	}
	l, input, err := layoutAndManifests(s, args)
	if err != nil {
		return err
	}
	items, err := postrender.Parse(input)
	if err != nil {
		return fmt.Errorf("reading manifests: %w", err)
	}
	problems := krm.Verify(l, items)
	for _, p := range problems {
		fmt.Fprintf(s.ErrOut, "mastoscale fn --verify: %s\n", p)
	}
	if len(problems) > 0 {
		return &ExitError{Code: 1}
	}
	fmt.Fprintf(s.Out, "%s: the output carries the layout (%d workers)\n", args[0], len(l.Spec.Workers))
	return nil
}
