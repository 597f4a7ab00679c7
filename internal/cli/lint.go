package cli

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/mastoscale/mastoscale/internal/lint"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/postrender"
	"github.com/spf13/cobra"
)

// Exit codes of lint.
const (
	lintExitFindings = 1 // errors, or warnings with --warnings-as-errors
	lintExitInput    = 2 // the input or the flags could not be read
)

const stdinName = "<stdin>"

// lintFlags are the flags of `mastoscale lint`.
type lintFlags struct {
	layoutFile, version, output string
	maxConnections, reserved    int32
	warningsAsErrors            bool
	// budgetFlagged and reservedFlagged tell that --max-connections and --reserved were given.
	budgetFlagged, reservedFlagged bool
}

func newLintCommand(s Streams) *cobra.Command {
	f := &lintFlags{}
	cmd := &cobra.Command{
		Use:   "lint PATH... [-f layout.yaml | --max-connections N [--reserved N]] [--mastodon-version V] [-o text|json]",
		Short: "Check hand-written Sidekiq Deployments, ScaledObjects and HPAs for the mistakes that break Mastodon",
		Long: `lint reads Kubernetes manifests that mastoscale did not write (a directory, read
recursively for *.yaml and *.yml, files, or - for stdin: kustomize build | mastoscale lint -),
finds the Deployments running Sidekiq, the ScaledObjects, TriggerAuthentications and HPAs, and
reports, by file, object and field:

  errors    scheduler consumed by several Deployments or processes, or autoscaled; a
            ScaledObject or HPA whose target is missing or already scaled; redis triggers whose
            listNames miss or add queues, or get the REDIS_NAMESPACE prefix wrong (none on
            Mastodon 4.4+); a password in trigger metadata; DB_POOL below -c; the Postgres
            connection budget at max replicas (with -f or --max-connections); a
            terminationGracePeriodSeconds not above Sidekiq's -t on an autoscaled Deployment
  warnings  spec.replicas left on an autoscaled Deployment; a TriggerAuthentication, Secret or
            ConfigMap reference not in the files; the same grace period problem on a fixed
            Deployment; a Sidekiq command lint cannot read

Lint the objects as they are applied (rendered output), not kustomize sources or chart
templates. The Mastodon version is read from each image tag or app.kubernetes.io/version
label unless --mastodon-version gives it.

Exit status: 0 no errors (warnings allowed), 1 errors (or warnings with
--warnings-as-errors), 2 the input could not be read.`,
		Args: func(_ *cobra.Command, paths []string) error {
			if len(paths) == 0 {
				fmt.Fprintln(s.ErrOut, "mastoscale lint: give at least one PATH: a directory, a file, or - for stdin")
				return &ExitError{Code: lintExitInput}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, paths []string) error {
			f.budgetFlagged, f.reservedFlagged = cmd.Flags().Changed("max-connections"), cmd.Flags().Changed("reserved")
			return runLint(s, f, paths)
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		fmt.Fprintf(s.ErrOut, "mastoscale lint: %v\n", err)
		return &ExitError{Code: lintExitInput}
	})
	fl := cmd.Flags()
	fl.StringVarP(&f.layoutFile, "file", "f", "", "layout whose spec.database (maxConnections, reserved) and mastodonVersion apply")
	fl.Int32Var(&f.maxConnections, "max-connections", 0, "Postgres (or PgBouncer) max_connections the workers must fit at max replicas")
	fl.Int32Var(&f.reserved, "reserved", 0, "connections reserved for web, streaming and other clients (with --max-connections)")
	fl.StringVar(&f.version, "mastodon-version", "", "Mastodon version of every Deployment (default: read from image tags and labels)")
	fl.StringVarP(&f.output, "output", "o", "text", "output format: text or json")
	fl.BoolVar(&f.warningsAsErrors, "warnings-as-errors", false, "exit 1 on warnings too")
	return cmd
}

func runLint(s Streams, f *lintFlags, paths []string) error {
	usage := func(format string, args ...any) error {
		fmt.Fprintf(s.ErrOut, "mastoscale lint: "+format+"\n", args...)
		return &ExitError{Code: lintExitInput}
	}
	if f.output != "text" && f.output != "json" {
		return usage("--output must be text or json, not %q", f.output)
	}
	opts, err := f.options()
	if err != nil {
		return usage("%v", err)
	}
	sources, err := readLintSources(paths, s.In)
	if err != nil {
		return usage("%v", err)
	}
	findings, err := lint.Lint(sources, opts)
	if err != nil {
		return usage("%v", err)
	}
	if f.output == "json" {
		err = lint.WriteJSON(s.Out, findings)
	} else {
		objects := 0
		for _, src := range sources {
			objects += len(src.Nodes)
		}
		err = lint.WriteText(s.Out, findings, len(sources), objects)
	}
	if err != nil {
		return err
	}
	if lint.Errors(findings) > 0 || (f.warningsAsErrors && len(findings) > 0) {
		return &ExitError{Code: lintExitFindings}
	}
	return nil
}

// options are lint's options from the flags: the Mastodon version (--mastodon-version, else
// the layout's) and the connection budget.
func (f *lintFlags) options() (lint.Options, error) {
	var opts lint.Options
	if f.version != "" {
		v, err := layout.ParseMastodonVersion(f.version)
		if err != nil {
			return opts, fmt.Errorf("--mastodon-version: %w", err)
		}
		opts.MastodonVersion = &v
	}
	budget, err := f.budget()
	if err != nil {
		return opts, err
	}
	opts.Budget = budget
	if opts.MastodonVersion == nil && f.layoutFile != "" {
		if l, err := layout.Load(f.layoutFile); err == nil && l.Spec.MastodonVersion != "" {
			if v, err := layout.ParseMastodonVersion(l.Spec.MastodonVersion); err == nil {
				opts.MastodonVersion = &v
			}
		}
	}
	return opts, nil
}

// budget is the connection limit from --max-connections, or from the layout's
// spec.database; nil when neither gives one.
func (f *lintFlags) budget() (*lint.Budget, error) {
	if f.reservedFlagged && !f.budgetFlagged {
		return nil, fmt.Errorf("--reserved needs --max-connections")
	}
	var b *lint.Budget
	switch {
	case f.budgetFlagged && f.layoutFile != "":
		return nil, fmt.Errorf("give -f or --max-connections, not both")
	case f.budgetFlagged:
		b = &lint.Budget{MaxConnections: f.maxConnections, Reserved: f.reserved, Field: "--max-connections"}
	case f.layoutFile != "":
		l, err := layout.Load(f.layoutFile)
		if err != nil {
			return nil, err
		}
		if l.Spec.Database.MaxConnections == 0 {
			return nil, nil
		}
		b = &lint.Budget{MaxConnections: l.Spec.Database.MaxConnections, Reserved: l.Spec.Database.Reserved,
			File: f.layoutFile, Field: "spec.database.maxConnections"}
	default:
		return nil, nil
	}
	switch {
	case b.MaxConnections <= 0:
		return nil, fmt.Errorf("%s: max connections must be above 0", b.Field)
	case b.Reserved < 0 || b.Reserved >= b.MaxConnections:
		return nil, fmt.Errorf("%s: reserved (%d) must be 0 or more and below max connections (%d)", b.Field, b.Reserved, b.MaxConnections)
	}
	return b, nil
}

// readLintSources reads every path: a directory recursively (*.yaml and *.yml, hidden
// directories skipped), a file, or - for stdin.
func readLintSources(paths []string, stdin io.Reader) ([]lint.Source, error) {
	var sources []lint.Source
	read := func(name string, data []byte) error {
		src, err := lint.Parse(name, data)
		if err != nil {
			return err
		}
		sources = append(sources, src)
		return nil
	}
	for _, p := range paths {
		var err error
		switch info, statErr := os.Stat(p); {
		case p == "-":
			var data []byte
			if data, err = postrender.ReadInput(stdin); err != nil {
				return nil, fmt.Errorf("reading stdin: %w", err)
			}
			err = read(stdinName, data)
		case statErr != nil:
			return nil, statErr
		case info.IsDir():
			err = readLintDir(p, read)
		default:
			var data []byte
			if data, err = postrender.ReadFile(p); err == nil {
				err = read(p, data)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return sources, nil
}

// readLintDir reads every *.yaml and *.yml file under dir, hidden directories skipped.
func readLintDir(dir string, read func(string, []byte) error) error {
	found := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(path); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		data, err := postrender.ReadFile(path)
		if err != nil {
			return err
		}
		found++
		return read(path, data)
	})
	if err == nil && found == 0 {
		err = fmt.Errorf("%s: no *.yaml or *.yml files", dir)
	}
	return err
}
