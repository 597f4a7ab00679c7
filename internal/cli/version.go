package cli

import (
	"encoding/json"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// Version, Commit and Date override what the build info says. goreleaser sets them with
// -ldflags "-X github.com/mastoscale/mastoscale/internal/cli.Version=v1.2.3 -X ...Commit=<sha> -X ...Date=<RFC 3339>";
// left empty, `mastoscale version` reports the module version and VCS revision Go stamped
// into the binary (go build in a git checkout, go install module@version).
var (
	Version string
	Commit  string
	Date    string
)

type versionFlags struct {
	output string
}

// buildVersion is what `mastoscale version` reports.
type buildVersion struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	Date      string `json:"date,omitempty"`
	Modified  bool   `json:"modified,omitempty"`
	GoVersion string `json:"goVersion,omitempty"`
}

func newVersionCommand(s Streams) *cobra.Command {
	var f versionFlags
	cmd := &cobra.Command{
		Use:   "version [-o text|json]",
		Short: "Print the mastoscale version and the commit it was built from",
		Long: `version prints the module version and, when the binary was built from a git checkout,
the commit, its date and whether the checkout had uncommitted changes ("modified"). A binary
from "go run" or a source tree without git reports "(devel)".`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return runVersion(s, f) },
	}
	cmd.Flags().StringVarP(&f.output, "output", "o", "text", "output format: text or json")
	return cmd
}

func runVersion(s Streams, f versionFlags) error {
	if f.output != "text" && f.output != "json" {
		return fmt.Errorf("--output must be text or json, not %q", f.output)
	}
	v := currentVersion(debug.ReadBuildInfo())
	if f.output == "json" {
		out, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(s.Out, "%s\n", out)
		return err
	}
	_, err := fmt.Fprintf(s.Out, "mastoscale %s\n", v)
	return err
}

// currentVersion reads the build info, then lets the -ldflags variables win.
func currentVersion(info *debug.BuildInfo, ok bool) buildVersion {
	v := buildVersion{Version: "(unknown)"}
	if ok {
		v.GoVersion = info.GoVersion
		if info.Main.Version != "" {
			v.Version = info.Main.Version
		}
		for _, kv := range info.Settings {
			switch kv.Key {
			case "vcs.revision":
				v.Commit = kv.Value
			case "vcs.time":
				v.Date = kv.Value
			case "vcs.modified":
				v.Modified = kv.Value == "true"
			}
		}
	}
	for _, o := range []struct{ from, to *string }{{&Version, &v.Version}, {&Commit, &v.Commit}, {&Date, &v.Date}} {
		if *o.from != "" {
			*o.to = *o.from
		}
	}
	return v
}

// String is the one-line form: v0.3.0 (commit abc1234, 2026-12-02, modified).
func (v buildVersion) String() string {
	var details []string
	if v.Commit != "" {
		details = append(details, "commit "+shortCommit(v.Commit))
	}
	if v.Date != "" {
		date := v.Date
		if t, err := time.Parse(time.RFC3339, v.Date); err == nil {
			date = t.UTC().Format(time.DateOnly)
		}
		details = append(details, date)
	}
	if v.Modified {
		details = append(details, "modified")
	}
	if len(details) == 0 {
		return v.Version
	}
	return fmt.Sprintf("%s (%s)", v.Version, strings.Join(details, ", "))
}

func shortCommit(c string) string {
	if len(c) > 7 {
		return c[:7]
	}
	return c
}
