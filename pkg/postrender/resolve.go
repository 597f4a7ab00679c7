package postrender

import (
	"errors"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Resolve returns the layout Transform would apply to the release among nodes: opts's layout
// (or preset) completed from what the release runs, or, without one, the release's own workers
// autoscaled, resolved and checked. It is how `fn --verify` and `status` read a release the way
// the post-renderer does. With several releases, opts.Layout must name one.
func Resolve(nodes []*yaml.RNode, opts Options) (*layout.Layout, *Result, error) {
	var f findings
	m := Read(nodes)
	releases, ok := selectReleases(m, opts, &f)
	if ok && len(releases) == 0 {
		f.add(layout.Error, layout.Location{}, "no Sidekiq Deployment found among the objects")
	}
	if !ok || len(releases) != 1 {
		if len(releases) > 1 {
			f.addLayout(layout.Error, specPath.Child("release", "name"), layout.Location{},
				"the objects hold several Mastodon releases: set spec.release.name to the one to read")
		}
		return nil, &Result{Findings: f}, f.errOrNil()
	}
	user := inferLayout(m, releases[0], opts, &f)
	if user == nil || f.hasErrors() {
		return nil, &Result{Findings: f}, f.errOrNil()
	}
	l, report, err := layout.Resolve(user)
	f = append(f, report.Findings...)
	locateChartValues(releases[0], opts.attach(), f)
	if err != nil {
		return nil, &Result{Findings: f}, f.err()
	}
	return l, &Result{Findings: f}, nil
}

// errOrNil is err, or a plain error when no finding is an error.
func (f findings) errOrNil() error {
	if f.hasErrors() {
		return f.err()
	}
	return errors.New("no release to read")
}
