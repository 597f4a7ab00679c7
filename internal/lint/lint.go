package lint

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/postrender"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Severities of a Finding.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// Rule identifiers (see the package documentation).
const (
	RuleSchedulerShared     = "scheduler-shared"
	RuleSchedulerAutoscaled = "scheduler-autoscaled"
	RuleScaleTargetMissing  = "scale-target-missing"
	RuleScaleTargetConflict = "scale-target-conflict"
	RuleTriggerQueues       = "trigger-queues"
	RuleRedisNamespace      = "redis-namespace"
	RulePasswordInMetadata  = "password-in-metadata"
	RuleDBPool              = "db-pool"
	RuleConnectionBudget    = "connection-budget"
	RuleGracePeriod         = "grace-period"
	RuleReplicasOnScaled    = "replicas-on-scaled"
	RuleMissingReference    = "missing-reference"
	RuleSidekiqArgs         = "sidekiq-args"
	RuleMastodonVersion     = "mastodon-version"
	RuleDuplicateObject     = "duplicate-object"
)

// Source is the documents of one input file.
type Source struct {
	// File names the input in findings ("<stdin>" for standard input).
	File  string
	Nodes []*yaml.RNode
}

// Parse reads a YAML manifest stream. Items of a `kind: List` (kubectl get -o yaml) are read
// as documents of their own.
func Parse(file string, data []byte) (Source, error) {
	nodes, err := (&kio.ByteReader{Reader: bytes.NewReader(data), OmitReaderAnnotations: true}).Read()
	if err != nil {
		return Source{}, fmt.Errorf("%s: %w", file, err)
	}
	var out []*yaml.RNode
	for _, n := range nodes {
		if n.GetKind() == "List" && n.YNode().Kind == yaml.MappingNode {
			if items, _ := n.Pipe(yaml.Lookup("items")); items != nil {
				elems, _ := items.Elements()
				out = append(out, elems...)
				continue
			}
		}
		out = append(out, n)
	}
	return Source{File: file, Nodes: out}, nil
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

// Finding is one problem, located by file, object and field.
type Finding struct {
	File      string `json:"file"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Field     string `json:"field"`
	Severity  string `json:"severity"`
	Message   string `json:"message"`
	Rule      string `json:"rule"`
}

// Lint checks the documents of sources, read together as one set (a ScaledObject in one file
// may target a Deployment in another), and returns the findings grouped by file in input
// order, then by document.
func Lint(sources []Source, opts Options) ([]Finding, error) {
	var nodes []*yaml.RNode
	var files []string
	for _, s := range sources {
		for _, n := range s.Nodes {
			nodes = append(nodes, n)
			files = append(files, s.File)
		}
	}
	m, err := postrender.ReadRelease(nodes)
	if err != nil {
		return nil, err
	}
	c := newChecker(m, files, opts)
	c.run()
	sort.SliceStable(c.findings, func(i, j int) bool { return c.findings[i].order < c.findings[j].order })
	out := make([]Finding, len(c.findings))
	for i, f := range c.findings {
		out[i] = f.Finding
	}
	return out, nil
}

// Errors counts the findings of severity error.
func Errors(findings []Finding) int {
	n := 0
	for _, f := range findings {
		if f.Severity == SeverityError {
			n++
		}
	}
	return n
}
