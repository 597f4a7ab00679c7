package krm

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/postrender"
	"sigs.k8s.io/kustomize/kyaml/fn/framework"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// PathDir is the directory of the path annotation given to objects the function adds:
// `mastoscale/<namespace>/<kind>_<name>.yaml`.
const PathDir = "mastoscale"

// Run is the function on a ResourceList as kustomize or kpt send it on stdin. It returns the
// ResourceList to write on stdout and its results: the items the function does not own byte
// for byte, the edited and added ones, the functionConfig with any secret it states redacted,
// and the results. When a result is an error the items are all left as they came (the caller
// exits non-zero). It fails only on input that is not a ResourceList.
func Run(data []byte) ([]byte, framework.Results, error) {
	rl, err := readResourceList(data)
	if err != nil {
		return nil, nil, err
	}
	results, e := process(rl.items, rl.functionConfig)
	rl.redactSecrets()
	encoded, err := encodeResults(results)
	if err != nil {
		return nil, nil, err
	}
	out, err := rl.write(e, encoded)
	return out, results, err
}

// process runs the transformer on items with the layout of functionConfig fc, and returns the
// results and, unless one of them is an error, the edits.
func process(items []*yaml.RNode, fc *yaml.RNode) (framework.Results, postrender.Edits) {
	config := ref(fc)
	fail := func(results framework.Results, err error) (framework.Results, postrender.Edits) {
		return append(results, &framework.Result{Severity: framework.Error, Message: err.Error(), ResourceRef: config}), nil
	}
	l, err := FunctionConfig(fc)
	if err != nil {
		return fail(nil, err)
	}
	e, res, err := postrender.Transform(items, postrender.Options{Layout: l})
	var results framework.Results
	if res != nil {
		for _, f := range res.Findings {
			results = append(results, result(f, config))
		}
	}
	if err != nil && results.ExitCode() == 0 {
		// The transformer failed without an error finding: the error itself is the result.
		return fail(results, err)
	}
	if err != nil || results.ExitCode() != 0 {
		return results, nil
	}
	if err := markAdded(items, e.Apply(items)); err != nil {
		return fail(results, err)
	}
	return results, e
}

// encodeResults writes results as the `results:` key of a ResourceList, or nothing.
func encodeResults(results framework.Results) ([]byte, error) {
	if len(results) == 0 {
		return nil, nil
	}
	return yaml.MarshalWithOptions(map[string]any{"results": results}, &yaml.EncoderOptions{SeqIndent: yaml.CompactSequenceStyle})
}

// FunctionConfig parses the functionConfig strictly as a SidekiqLayout: an unknown field is an
// error naming its path. Orchestrator annotations (config.kubernetes.io/function, local-config)
// are ordinary metadata.annotations and pass.
func FunctionConfig(fc *yaml.RNode) (*layout.SidekiqLayout, error) {
	if fc == nil || fc.IsNilOrEmpty() {
		return nil, errors.New("functionConfig is missing: give the function a SidekiqLayout (apiVersion " + layout.APIVersion + ") as its config")
	}
	if kind := fc.GetKind(); kind != layout.Kind {
		return nil, fmt.Errorf("functionConfig is a %s: mastoscale takes a %s (apiVersion %s)", kindOrNothing(kind), layout.Kind, layout.APIVersion)
	}
	s, err := fc.String()
	if err != nil {
		return nil, fmt.Errorf("functionConfig: %w", err)
	}
	l, err := layout.Parse([]byte(s))
	if err != nil {
		// The functionConfig is the orchestrator's re-serialisation (kustomize sorts its keys),
		// so Parse's line numbers would point into a text the user never saw; the field paths
		// in the message say where the problem is.
		return nil, fmt.Errorf("functionConfig: %s", lineNumber.ReplaceAllString(err.Error(), ""))
	}
	return l, nil
}

var lineNumber = regexp.MustCompile(`line \d+: `)

func kindOrNothing(kind string) string {
	if kind == "" {
		return "document without kind"
	}
	return kind
}

// result maps a finding to a kpt result. A finding with a layout field path refers to the
// functionConfig, where that path is; one about an object of the input refers to that object.
func result(f layout.Finding, config *yaml.ResourceIdentifier) *framework.Result {
	r := &framework.Result{Severity: severity(f.Severity), Message: f.Message, ResourceRef: config}
	object := &yaml.ResourceIdentifier{
		TypeMeta: yaml.TypeMeta{APIVersion: f.APIVersion, Kind: f.Kind},
		NameMeta: yaml.NameMeta{Name: f.Name, Namespace: f.Namespace},
	}
	switch {
	case f.Layout != "":
		if f.Kind != "" {
			// The field is the layout's; name the object in the message instead.
			r.Message = fmt.Sprintf("%s (%s %s)", r.Message, f.Kind, f.Name)
		}
		r.Field = &framework.Field{Path: f.Layout}
	case f.Kind != "":
		r.ResourceRef = object
		if f.Field != "" {
			r.Field = &framework.Field{Path: f.Field}
		}
	}
	return r
}

func severity(s layout.Severity) framework.Severity {
	switch s {
	case layout.Error:
		return framework.Error
	case layout.Warning:
		return framework.Warning
	default:
		return framework.Info
	}
}

// ref identifies the functionConfig for results, or is nil without one.
func ref(fc *yaml.RNode) *yaml.ResourceIdentifier {
	if fc == nil || fc.IsNilOrEmpty() {
		return nil
	}
	return &yaml.ResourceIdentifier{
		TypeMeta: yaml.TypeMeta{APIVersion: fc.GetApiVersion(), Kind: fc.GetKind()},
		NameMeta: yaml.NameMeta{Name: fc.GetName(), Namespace: fc.GetNamespace()},
	}
}

// bookkeeping are the annotations orchestrators put on the items they send: file path and
// index, the ids kyaml's runtime and kustomize match outputs to inputs by, and kustomize's
// record of earlier names. They belong to the item they were set on, never to a copy of it.
var bookkeeping = []string{
	kioutil.PathAnnotation, kioutil.LegacyPathAnnotation,
	kioutil.IndexAnnotation, kioutil.LegacyIndexAnnotation,
	kioutil.IdAnnotation, kioutil.LegacyIdAnnotation,
	"kustomize.config.k8s.io/id",
}

const internalPrefix = "internal.config.kubernetes.io/"

// markAdded keeps the orchestrator's bookkeeping with the objects it belongs to. An object of
// out that was among in keeps (or gets back, when the transformer rebuilt it) the bookkeeping
// annotations it came with. An object that was not (a split worker is a copy of the chart's
// Deployment, a ScaledObject is new) loses those it inherited from what it was copied from and,
// when the orchestrator tracks files, gets a path of its own:
// mastoscale/<namespace>/<kind>_<name>.yaml.
func markAdded(in, out []*yaml.RNode) error {
	existing := map[string]map[string]string{}
	headComments := map[string]headComment{}
	tracked := false
	for _, n := range in {
		headComments[identity(n)] = headCommentOf(n)
		kept := map[string]string{}
		for key, value := range n.GetAnnotations() {
			if isBookkeeping(key) {
				kept[key] = value
			}
		}
		existing[identity(n)] = kept
		for _, key := range []string{kioutil.PathAnnotation, kioutil.LegacyPathAnnotation, kioutil.IdAnnotation, kioutil.LegacyIdAnnotation} {
			if _, ok := kept[key]; ok {
				tracked = true
			}
		}
	}
	for _, n := range out {
		kept, ok := existing[identity(n)]
		if ok {
			if err := restore(n, kept); err != nil {
				return err
			}
			headComments[identity(n)].setOn(n)
			continue
		}
		// A copy's comments describe its original, and a `# Source:` comment is Helm's.
		headComment{}.setOn(n)
		var inherited []string
		for key := range n.GetAnnotations() {
			if isBookkeeping(key) {
				inherited = append(inherited, key)
			}
		}
		slices.Sort(inherited)
		for _, key := range inherited {
			if err := n.PipeE(yaml.ClearAnnotation(key)); err != nil {
				return fmt.Errorf("cleaning %s %s: %w", n.GetKind(), n.GetName(), err)
			}
		}
		if !tracked {
			continue
		}
		m, err := n.GetMeta()
		if err != nil {
			return fmt.Errorf("reading metadata of an added object: %w", err)
		}
		p := kioutil.CreatePathAnnotationValue(PathDir, m)
		if err := restore(n, map[string]string{kioutil.PathAnnotation: p, kioutil.LegacyPathAnnotation: p}); err != nil {
			return err
		}
	}
	return nil
}

// restore sets the annotations of kept that n lacks, in a stable order.
func restore(n *yaml.RNode, kept map[string]string) error {
	has := n.GetAnnotations()
	keys := make([]string, 0, len(kept))
	for key := range kept {
		if _, ok := has[key]; !ok {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	for _, key := range keys {
		if err := n.PipeE(yaml.SetAnnotation(key, kept[key])); err != nil {
			return fmt.Errorf("annotating %s %s: %w", n.GetKind(), n.GetName(), err)
		}
	}
	return nil
}

// headComment is the comment above an object, wherever the YAML parser put it.
type headComment struct{ document, node, firstKey string }

func headCommentOf(n *yaml.RNode) headComment {
	c := headComment{document: n.Document().HeadComment, node: n.YNode().HeadComment}
	if content := n.YNode().Content; len(content) > 0 {
		c.firstKey = content[0].HeadComment
	}
	return c
}

// setOn gives n the comment c. The transformer marks the objects it makes with a Helm
// `# Source:` comment; orchestrators copy an input's comments onto its output themselves, so
// an object that was in the input must come back with exactly its own.
func (c headComment) setOn(n *yaml.RNode) {
	n.Document().HeadComment = c.document
	n.YNode().HeadComment = c.node
	if content := n.YNode().Content; len(content) > 0 {
		content[0].HeadComment = c.firstKey
	}
}

func isBookkeeping(key string) bool {
	return strings.HasPrefix(key, internalPrefix) || slices.Contains(bookkeeping, key)
}

// identity is an object's kind, namespace and name.
func identity(n *yaml.RNode) string {
	return n.GetKind() + "/" + n.GetNamespace() + "/" + n.GetName()
}
