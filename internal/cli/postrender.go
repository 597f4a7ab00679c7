package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/postrender"
	"github.com/spf13/cobra"
)

// findingsLogEnv names the findings log file (or "off"), for Helm 3 and Helm 4 alike: Helm 3
// drops a succeeding post-renderer's stderr and Helm 4 drops a plugin's always, so every run
// also writes its findings to a file.
const findingsLogEnv = "MASTOSCALE_FINDINGS_LOG"

// postRenderFlags are the flags of `mastoscale post-render`.
type postRenderFlags struct {
	layout      layoutFlags
	findingsLog string
	out         outputFlags
	// versionSet tells that --mastodon-version was given.
	versionSet bool
}

func newPostRenderCommand(s Streams) *cobra.Command {
	f := &postRenderFlags{out: outputFlags{input: " < input"}}
	cmd := &cobra.Command{
		Use:   "post-render [-f layout.yaml | --preset NAME] [--findings-log PATH] [--check FILE | --write FILE]",
		Short: "Helm post-renderer: autoscale the Sidekiq of the Mastodon release read from stdin",
		Long: `post-render reads the manifests of a Mastodon release (either official chart) from
stdin and writes them to stdout with KEDA ScaledObjects for the Sidekiq workers, the
TriggerAuthentication they share, and no replicas on autoscaled Deployments. Redis, the
release name and the Mastodon version are read from the release; a layout only needs what
differs.

Attach is the default: without --preset, and with no -f or a -f layout that lists no
spec.workers and names no spec.preset (one stating only what differs: Redis, the budget).
Each worker the chart runs (mastodon.sidekiq.workers) keeps its Deployment, image and command
and gets a ScaledObject whose minimum is its chart replicas, but the one consuming
"scheduler", which keeps its one replica and gets strategy Recreate. The only other edits:
spec.replicas goes from scaled Deployments, terminationGracePeriodSeconds is raised above
Sidekiq's -t, and DB_POOL is set to -c where it is lower (or unset, before Mastodon 4.3);
each is reported as an info finding. A release with nothing to autoscale (both charts'
defaults: one worker consuming every queue) is an error: use --preset split, or list the workers.

Split is --preset or a layout listing spec.workers (or naming spec.preset): the chart's
Sidekiq Deployments are replaced by the layout's workers, each cloned from the chart's pod
template with its own command, labels and DB_POOL (a worker named like one of the chart's
takes from it the queues and threads the layout leaves unset).

Helm 3:  helm install ... --post-renderer mastoscale --post-renderer-args post-render
Helm 4:  helm plugin install ./cmd/mastoscale/helm-plugin && helm install ... --post-renderer mastoscale

On failure nothing is written to stdout and the error goes to stderr. Helm 3 drops the
stderr of a post-renderer that succeeds and Helm 4 hides a plugin's always, so every run also
writes its findings (warnings included) to a log file: --findings-log, else
$MASTOSCALE_FINDINGS_LOG, else ${XDG_STATE_HOME:-~/.local/state}/mastoscale/post-render.log;
"off" writes none.

In CI, --check FILE compares FILE with the output as objects and exits 1 with a diff when
they differ (helm template ... | mastoscale post-render --check rendered.yaml); --write FILE
regenerates it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.versionSet = cmd.Flags().Changed("mastodon-version")
			return runPostRender(s, f)
		},
	}
	f.layout.register(cmd)
	// Not the other commands' defaults: without -f or --preset post-render attaches, and a preset
	// is built for the version the release runs.
	preset, version := cmd.Flags().Lookup("preset"), cmd.Flags().Lookup("mastodon-version")
	preset.Usage = fmt.Sprintf("built-in layout, replacing the chart's workers: one of %v (default none: attach to the chart's workers)", layout.Presets)
	version.Usage, version.DefValue = "Mastodon version of a preset (default the version the release runs)", ""
	f.out.register(cmd)
	cmd.Flags().StringVar(&f.findingsLog, "findings-log", "", "write the findings of this run to this file, \"off\" for none (default $"+findingsLogEnv+", else under $XDG_STATE_HOME)")
	cmd.Flags().StringVar(&f.findingsLog, "error-log", "", "the former name of --findings-log")
	_ = cmd.Flags().MarkHidden("error-log")
	return cmd
}

func runPostRender(s Streams, f *postRenderFlags) error {
	logPath := findingsLogPath(s, f.findingsLog)
	opts, err := f.options()
	var out bytes.Buffer
	var res *postrender.Result
	if err == nil {
		res, err = postrender.Run(s.In, &out, opts)
	}
	// Warnings and notes go to stderr; the error, which names every problem, is printed by Run.
	var advice bytes.Buffer
	if res != nil {
		for _, x := range res.Findings {
			if x.Severity != layout.Error {
				fmt.Fprintf(&advice, "%s: %s\n", x.Severity, x)
			}
		}
	}
	if _, werr := s.ErrOut.Write(advice.Bytes()); werr != nil && err == nil {
		err = werr
	}
	if logPath != "" {
		log := advice.Bytes()
		if err != nil {
			log = fmt.Appendf(log, "error: %v\n", err)
		}
		writeLog(logPath, log, s)
	}
	if err != nil {
		if logPath != "" {
			fmt.Fprintf(s.ErrOut, "mastoscale: the findings are also in %s\n", logPath)
		}
		return err
	}
	return f.out.emit(s, out.Bytes(), "mastoscale post-render "+strings.Join(f.layout.args(), " "))
}

// options: no layout attaches autoscaling to the workers the release runs; a preset is built
// for the release's Mastodon version unless --mastodon-version names one.
func (f *postRenderFlags) options() (postrender.Options, error) {
	switch {
	case f.layout.file == "" && f.layout.preset == "":
		return postrender.Options{}, nil
	case f.layout.file == "" && !f.versionSet:
		if !slices.Contains(layout.Presets, f.layout.preset) {
			return postrender.Options{}, fmt.Errorf("unknown preset %q: use one of %v", f.layout.preset, layout.Presets)
		}
		return postrender.Options{Preset: f.layout.preset}, nil
	}
	l, _, err := f.layout.load()
	return postrender.Options{Layout: l}, err
}

// findingsLogPath is --findings-log, else $MASTOSCALE_FINDINGS_LOG, else the state directory;
// "" for "off".
func findingsLogPath(s Streams, flag string) string {
	if flag == "" {
		flag = s.env(findingsLogEnv)
	}
	switch flag {
	case "off":
		return ""
	case "":
	default:
		return flag
	}
	state := s.env("XDG_STATE_HOME")
	if state == "" {
		home := s.env("HOME")
		if home == "" {
			return filepath.Join(os.TempDir(), "mastoscale-post-render.log")
		}
		state = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(state, "mastoscale", "post-render.log")
}

func writeLog(path string, data []byte, s Streams) {
	if len(data) == 0 {
		data = []byte("ok: no findings\n")
	}
	data = append([]byte(s.now().UTC().Format("2006-01-02T15:04:05Z")+" mastoscale post-render\n"), data...)
	err := os.MkdirAll(filepath.Dir(path), 0o755)
	if err == nil {
		err = os.WriteFile(path, data, 0o644)
	}
	if err != nil {
		fmt.Fprintf(s.ErrOut, "mastoscale: writing the findings log: %s\n", strings.TrimSpace(err.Error()))
	}
}
