package lint

import (
	"fmt"
	"sort"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/postrender"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Rule identifiers of the manifest rules (see the package documentation). The Mastodon rules
// (scheduler, grace period, connection budget, REDIS_NAMESPACE, DB_POOL, ...) are layout.Check's,
// with the identifiers layout.Rule*.
const (
	RuleScaleTargetMissing  = "scale-target-missing"
	RuleScaleTargetConflict = "scale-target-conflict"
	RuleTriggerQueues       = "trigger-queues"
	RuleRedisNamespace      = layout.RuleRedisNamespace
	RulePasswordInMetadata  = "password-in-metadata"
	RuleReplicasOnScaled    = "replicas-on-scaled"
	RuleMissingReference    = "missing-reference"
	RuleSidekiqArgs         = "sidekiq-args"
	RuleMastodonVersion     = "mastodon-version"
	RuleDuplicateObject     = "duplicate-object"
	RuleDuplicateKey        = "duplicate-key"
	RuleDBPool              = layout.RuleDBPool
)

// Source is the objects of one input file.
type Source struct {
	// File names the input in findings ("<stdin>" for standard input).
	File  string
	Nodes []*yaml.RNode
}

// Parse reads a YAML (or JSON) manifest stream with the post-renderer's reader: every document
// must parse, and the items of a `kind: List` (kubectl get -o yaml) are objects of their own.
func Parse(file string, data []byte) (Source, error) {
	nodes, err := postrender.Parse(data)
	if err != nil {
		return Source{}, fmt.Errorf("%s: %w", file, err)
	}
	return Source{File: file, Nodes: nodes}, nil
}

// Options tune the checks.
type Options struct {
	// MastodonVersion, when set, is the version every Deployment runs; otherwise each
	// Deployment's is read from its image tag or app.kubernetes.io/version label.
	MastodonVersion *layout.MastodonVersion
	// Budget, when set with MaxConnections above 0, enables the connection budget check.
	Budget *Budget
}

// Budget is the Postgres connection limit the Sidekiq workers must fit at max replicas, and
// where it was given (for the finding).
type Budget struct {
	MaxConnections int32
	// Reserved is what web, streaming and other clients use at their peak.
	Reserved int32
	// File and Field locate the limit: a layout's spec.database.maxConnections, or a flag
	// (File "" and Field "--max-connections").
	File, Field string
}

// Lint checks the objects of sources, read together as one set (a ScaledObject in one file
// may target a Deployment in another), and returns the findings grouped by file in input
// order, then by object.
func Lint(sources []Source, opts Options) ([]layout.Finding, error) {
	var nodes []*yaml.RNode
	var files []string
	for _, s := range sources {
		for _, n := range s.Nodes {
			nodes = append(nodes, n)
			files = append(files, s.File)
		}
	}
	c := newChecker(postrender.Read(nodes), files, opts)
	c.run()
	sort.SliceStable(c.findings, func(i, j int) bool { return c.findings[i].order < c.findings[j].order })
	out := make([]layout.Finding, len(c.findings))
	for i, f := range c.findings {
		out[i] = f.Finding
	}
	return out, nil
}

// Errors counts the findings of severity error.
func Errors(findings []layout.Finding) int {
	n := 0
	for _, f := range findings {
		if f.Severity == layout.Error {
			n++
		}
	}
	return n
}
