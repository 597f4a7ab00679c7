package postrender

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/render"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// FilenameAnnotation is the annotation Helm 4 puts on every document it hands a
// post-renderer, instead of a `# Source:` comment, to put documents back in their files.
const FilenameAnnotation = "postrenderer.helm.sh/postrender-filename"

// sourceStyle is how the input tells where documents come from, so new documents say it the
// same way: a `# Source:` comment (Helm 3), the filename annotation (Helm 4), or nothing.
type sourceStyle struct {
	annotation bool
	chartDir   string // "mastodon" in "# Source: mastodon/templates/..."; "" when the input says nothing (kustomize)
}

func sourceOf(n *yaml.RNode) (string, bool) {
	if f, ok := n.GetAnnotations()[FilenameAnnotation]; ok {
		return f, true
	}
	comments := []string{n.Document().HeadComment, n.YNode().HeadComment}
	if content := n.YNode().Content; len(content) > 0 {
		comments = append(comments, content[0].HeadComment)
	}
	for _, c := range comments {
		for _, line := range strings.Split(c, "\n") {
			if rest, ok := strings.CutPrefix(line, "# Source: "); ok {
				return strings.TrimSpace(rest), false
			}
		}
	}
	return "", false
}

func styleOf(template *yaml.RNode) sourceStyle {
	src, annotated := sourceOf(template)
	dir, _, _ := strings.Cut(src, "/")
	return sourceStyle{annotation: annotated, chartDir: dir}
}

// newDocument turns a rendered object into a document that says where it comes from, so
// `helm template --show-only mastoscale/...` selects it.
func newDocument(obj runtime.Object, kind, name string, style sourceStyle, seqIndent string) (*yaml.RNode, error) {
	m, err := render.ToMap(obj)
	if err != nil {
		return nil, err
	}
	// JSON is YAML: decoding it straight into nodes is several times faster than going
	// through a YAML marshaller. Only the JSON styles (flow, double quotes) are dropped.
	data, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding %s %s: %w", kind, name, err)
	}
	var root yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&root); err != nil {
		return nil, fmt.Errorf("encoding %s %s: %w", kind, name, err)
	}
	blockStyle(&root)
	n := yaml.NewRNode(&root)
	source := fmt.Sprintf("%s/mastoscale/%s-%s.yaml", style.chartDir, strings.ToLower(kind), name)
	switch {
	case style.annotation:
		if err := n.PipeE(yaml.SetAnnotation(FilenameAnnotation, source)); err != nil {
			return nil, err
		}
	case style.chartDir != "":
		n.YNode().HeadComment = "# Source: " + source
	}
	if seqIndent != "" {
		if err := n.PipeE(yaml.SetAnnotation(kioutil.SeqIndentAnnotation, seqIndent)); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// shapeDeployment makes Deployment d (the chart's own, or a copy of it for a new worker) run
// worker w of the defaulted layout l. Fields already right are left as they are, so a second
// run changes nothing.
func shapeDeployment(l *layout.SidekiqLayout, w *layout.Worker, d *yaml.RNode, container int, running *runningWorker) error {
	name := render.DeploymentName(l, w)
	if d.GetName() != name {
		if err := d.SetName(name); err != nil {
			return err
		}
	}
	component := layout.ComponentPrefix + w.Name
	for _, path := range [][]string{
		{"metadata", "labels"}, {"spec", "selector", "matchLabels"}, {"spec", "template", "metadata", "labels"},
	} {
		labels, err := d.Pipe(yaml.Lookup(path...))
		if err != nil {
			return err
		}
		if labels != nil {
			if err := setString(labels, layout.LabelComponent, component); err != nil {
				return err
			}
		}
	}
	c, err := d.Pipe(yaml.Lookup("spec", "template", "spec", "containers", strconv.Itoa(container)))
	if err != nil || c == nil {
		return fmt.Errorf("deployment %s: no container %d: %v", name, container, err)
	}
	if running == nil || !running.runs(w) {
		if err := c.PipeE(yaml.SetField("command", stringSeq(render.SidekiqCommand(w)))); err != nil {
			return err
		}
		if err := c.PipeE(yaml.Clear("args")); err != nil {
			return err
		}
	}
	if err := setString(c, "image", l.Spec.Image); err != nil {
		return err
	}
	if err := setEnv(c, render.DBPoolEnv(w).Name, render.DBPoolEnv(w).Value); err != nil {
		return err
	}
	podSpec, err := d.Pipe(yaml.Lookup("spec", "template", "spec"))
	if err != nil {
		return err
	}
	if err := setInt(podSpec, "terminationGracePeriodSeconds", *w.TerminationGracePeriodSeconds); err != nil {
		return err
	}
	spec, err := d.Pipe(yaml.Lookup("spec"))
	if err != nil {
		return err
	}
	if w.Autoscale != nil {
		// KEDA owns the count; a rendered replicas would reset it on every helm upgrade.
		if err := spec.PipeE(yaml.Clear("replicas")); err != nil {
			return err
		}
	} else if err := setInt(spec, "replicas", int64(*w.Replicas)); err != nil {
		return err
	}
	rollingUpdate, _ := spec.Pipe(yaml.Lookup("strategy", "rollingUpdate"))
	if w.ConsumesScheduler() && (scalarAt(spec, "strategy", "type") != "Recreate" || rollingUpdate != nil) {
		// One scheduler process at a time, even during a rollout.
		if err := spec.PipeE(yaml.SetField("strategy", yaml.NewMapRNode(&map[string]string{"type": "Recreate"}))); err != nil {
			return err
		}
	}
	return nil
}

func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// runs reports whether the chart's command already runs w, so it is kept as written.
func (rw *runningWorker) runs(w *layout.Worker) bool {
	s := rw.sidekiq
	if s.parseErr != "" || s.concurrency == nil || *s.concurrency != *w.Concurrency {
		return false
	}
	timeout := int32(layout.SidekiqDefaultTimeout)
	if s.timeout != nil {
		timeout = *s.timeout
	}
	if timeout != *w.Timeout || len(s.queues) != len(w.Queues) {
		return false
	}
	for i, q := range w.Queues {
		if s.queues[i].name != q.Name || !ptr.Equal(s.queues[i].weight, q.Weight) {
			return false
		}
	}
	return true
}

func stringSeq(values []string) *yaml.RNode {
	seq := &yaml.Node{Kind: yaml.SequenceNode}
	for _, v := range values {
		seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagString, Value: v})
	}
	return yaml.NewRNode(seq)
}

// setString sets a string field unless it already holds value.
func setString(m *yaml.RNode, key, value string) error {
	if f := m.Field(key); f != nil && f.Value.YNode().Kind == yaml.ScalarNode && f.Value.YNode().Value == value {
		return nil
	}
	return m.PipeE(yaml.SetField(key, yaml.NewRNode(&yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagString, Value: value})))
}

// setInt sets an integer field unless it already holds n.
func setInt(m *yaml.RNode, key string, n int64) error {
	v := strconv.FormatInt(n, 10)
	if f := m.Field(key); f != nil && f.Value.YNode().Kind == yaml.ScalarNode && f.Value.YNode().Value == v {
		return nil
	}
	return m.PipeE(yaml.SetField(key, yaml.NewRNode(&yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagInt, Value: v})))
}

// setEnv sets env var name of container c to a literal value, replacing any other source.
func setEnv(c *yaml.RNode, name, value string) error {
	env, err := c.Pipe(yaml.LookupCreate(yaml.SequenceNode, "env"))
	if err != nil {
		return err
	}
	elems, err := env.Elements()
	if err != nil {
		return err
	}
	for _, e := range elems {
		if scalarAt(e, "name") != name {
			continue
		}
		if e.Field("valueFrom") == nil && scalarAt(e, "value") == value {
			return nil
		}
		if err := e.PipeE(yaml.Clear("valueFrom")); err != nil {
			return err
		}
		return setString(e, "value", value)
	}
	entry := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: yaml.NodeTagString, Value: "name"}, {Kind: yaml.ScalarNode, Tag: yaml.NodeTagString, Value: name},
		{Kind: yaml.ScalarNode, Tag: yaml.NodeTagString, Value: "value"}, {Kind: yaml.ScalarNode, Tag: yaml.NodeTagString, Value: value},
	}}
	return env.PipeE(yaml.Append(entry))
}
