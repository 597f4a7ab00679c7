package cli

import (
	"fmt"
	"os"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/spf13/cobra"
)

// layoutFlags choose a layout: a file, or a preset for a Mastodon version.
type layoutFlags struct {
	file    string
	preset  string
	version string
}

func (f *layoutFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.file, "file", "f", "", "layout file (a SidekiqLayout)")
	cmd.Flags().StringVar(&f.preset, "preset", "", fmt.Sprintf("built-in layout: one of %v (default %q when no file is given)", layout.Presets, layout.PresetSplit))
	cmd.Flags().StringVar(&f.version, "mastodon-version", layout.DefaultMastodonVersion.String(), "Mastodon version of a preset")
}

// args reproduces the flags as given, for messages that show a command line.
func (f *layoutFlags) args() []string {
	var out []string
	if f.file != "" {
		out = append(out, "-f", f.file)
	}
	if f.preset != "" {
		out = append(out, "--preset", f.preset)
	}
	if f.version != layout.DefaultMastodonVersion.String() {
		out = append(out, "--mastodon-version", f.version)
	}
	return out
}

// load returns the layout the flags name, undefaulted, and a name for messages.
func (f *layoutFlags) load() (*layout.SidekiqLayout, string, error) {
	if f.file != "" && f.preset != "" {
		return nil, "", fmt.Errorf("give --file or --preset, not both")
	}
	if f.file != "" {
		l, err := layout.Load(f.file)
		return l, f.file, err
	}
	name := f.preset
	if name == "" {
		name = layout.PresetSplit
	}
	v, err := layout.ParseMastodonVersion(f.version)
	if err != nil {
		return nil, "", fmt.Errorf("--mastodon-version: %w", err)
	}
	l, err := layout.Preset(name, v)
	return l, "preset " + name, err
}

// document is the YAML the layout came from: the file as written, or the preset marshalled.
func (f *layoutFlags) document(l *layout.SidekiqLayout) ([]byte, error) {
	if f.file != "" {
		return os.ReadFile(f.file)
	}
	return layout.Marshal(l)
}
