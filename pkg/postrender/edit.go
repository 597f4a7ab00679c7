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

// shape says how to make a Deployment run a worker.
type shape struct {
	l *layout.Layout
	w layout.Workload
	// running is the chart's Deployment of the same worker, nil for a new one.
	running *Worker
	// attach keeps what the worker runs: only autoscaling is added.
	attach bool
	f      *findings
}

// shapeDeployment makes Deployment d (the chart's own, or a copy of one for a new worker) run
// worker s.w. Fields already right are left as they are, so a second run changes nothing. In
// attach mode the command is never changed, and every edit of a running worker is reported.
func (s shape) shapeDeployment(d *yaml.RNode, container int) error {
	name := s.l.DeploymentName(s.w)
	if d.GetName() != name {
		if err := d.SetName(name); err != nil {
			return err
		}
	}
	if err := setComponent(d, layout.ComponentPrefix+s.w.Name); err != nil {
		return err
	}
	if !s.attach {
		if err := setVersionLabel(d, s.l.Version); err != nil {
			return err
		}
	}
	c, err := d.Pipe(yaml.Lookup("spec", "template", "spec", "containers", strconv.Itoa(container)))
	if err != nil || c == nil {
		return fmt.Errorf("deployment %s: no container %d: %v", name, container, err)
	}
	if !s.attach && (s.running == nil || !runs(s.running.Sidekiq, s.w)) {
		if err := c.PipeE(yaml.SetField("command", stringSeq(sidekiqArgv(s.w)))); err != nil {
			return err
		}
		if err := c.PipeE(yaml.Clear("args")); err != nil {
			return err
		}
	}
	if s.l.Image != "" {
		if err := setString(c, "image", s.l.Image); err != nil {
			return err
		}
	}
	if err := s.dbPool(c); err != nil {
		return err
	}
	if err := s.gracePeriod(d); err != nil {
		return err
	}
	return s.replicas(d)
}

// setComponent sets the charts' component label wherever the Deployment carries it.
func setComponent(d *yaml.RNode, component string) error {
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
	return nil
}

// setVersionLabel replaces an app.kubernetes.io/version label that names no Mastodon version
// (the charts copy image.tag into it: "latest", a digest) with the version the layout runs, on
// the Deployments split mode writes; attach leaves the chart's labels alone.
func setVersionLabel(d *yaml.RNode, v layout.MastodonVersion) error {
	for _, path := range [][]string{{"metadata", "labels"}, {"spec", "template", "metadata", "labels"}} {
		labels, err := d.Pipe(yaml.Lookup(path...))
		if err != nil || labels == nil {
			return err
		}
		old := labels.Field(layout.LabelVersion)
		if old == nil {
			continue
		}
		if _, err := layout.ParseMastodonVersion(old.Value.YNode().Value); err == nil {
			continue
		}
		if err := setString(labels, layout.LabelVersion, "v"+v.String()); err != nil {
			return err
		}
	}
	return nil
}

// reportEdit notes an edit of a running worker's Deployment in attach mode.
func (s shape) reportEdit(format string, args ...any) {
	if s.attach && s.running != nil {
		s.f.add(layout.Info, s.running.Ref(), format, args...)
	}
}

// dbPool: a new command runs -c threads, each holding a database connection, so DB_POOL
// follows it. A running worker keeps its DB_POOL unless it starves the threads.
func (s shape) dbPool(c *yaml.RNode) error {
	want := strconv.Itoa(int(s.w.Concurrency))
	if s.attach && s.running != nil {
		e, ok := s.running.Env[layout.EnvDBPool]
		pool, err := strconv.Atoi(strings.TrimSpace(e.Value))
		low := ok && e.Literal && (err != nil || int32(pool) < s.w.Concurrency)
		unsetBefore43 := !ok && s.l.Version.Less(layout.MastodonVersion{Major: 4, Minor: 3})
		if !low && !unsetBefore43 {
			return nil
		}
		s.reportEdit("set %s=%s, the threads of -c (it was %q): a smaller pool starves threads", layout.EnvDBPool, want, e.Value)
	}
	return setEnv(c, layout.EnvDBPool, want)
}

// gracePeriod: the pod must outlive Sidekiq's -t on TERM, or scale-in kills running jobs.
func (s shape) gracePeriod(d *yaml.RNode) error {
	podSpec, err := d.Pipe(yaml.Lookup("spec", "template", "spec"))
	if err != nil || podSpec == nil {
		return err
	}
	if s.attach && s.running != nil {
		current := int64(defaultGracePeriod)
		if s.running.GracePeriod != nil {
			current = *s.running.GracePeriod
		}
		if current > int64(s.w.Timeout) {
			return nil
		}
		s.reportEdit("raised terminationGracePeriodSeconds from %d to %d, above Sidekiq's timeout (%d s), so scale-in does not kill running jobs", current, s.w.GracePeriod, s.w.Timeout)
	}
	return setInt(podSpec, "terminationGracePeriodSeconds", s.w.GracePeriod)
}

// defaultGracePeriod is a pod's terminationGracePeriodSeconds when unset.
const defaultGracePeriod = 30

// replicas: KEDA owns the count of a scaled worker; a rendered replicas would reset it on
// every helm upgrade. The scheduler's worker runs exactly one pod, also during a rollout.
func (s shape) replicas(d *yaml.RNode) error {
	spec, err := d.Pipe(yaml.Lookup("spec"))
	if err != nil || spec == nil {
		return err
	}
	if s.w.Autoscaled {
		if s.running != nil && s.running.Replicas != nil {
			s.reportEdit("removed spec.replicas (%d): KEDA sets the count from now on", *s.running.Replicas)
		}
		if err := spec.PipeE(yaml.Clear("replicas")); err != nil {
			return err
		}
	} else if err := setInt(spec, "replicas", int64(s.w.Replicas)); err != nil {
		return err
	}
	rollingUpdate, _ := spec.Pipe(yaml.Lookup("strategy", "rollingUpdate"))
	if s.w.ConsumesScheduler() && (scalarAt(spec, "strategy", "type") != "Recreate" || rollingUpdate != nil) {
		s.reportEdit("set strategy Recreate: the scheduler queue runs in one process, also during a rollout")
		return spec.PipeE(yaml.SetField("strategy", yaml.NewMapRNode(&map[string]string{"type": "Recreate"})))
	}
	return nil
}

// sidekiqArgv is the container command of worker w:
// `bundle exec sidekiq -c N [-t T] -q q1[,w1] -q q2 ...`. -t is written only when it differs
// from Sidekiq's default.
func sidekiqArgv(w layout.Workload) []string {
	cmd := []string{"bundle", "exec", "sidekiq", "-c", strconv.Itoa(int(w.Concurrency))}
	if w.Timeout != layout.SidekiqDefaultTimeout {
		cmd = append(cmd, "-t", strconv.Itoa(int(w.Timeout)))
	}
	for _, q := range w.Queues {
		arg := q.Name
		if q.Weight > 0 {
			arg += "," + strconv.Itoa(int(q.Weight))
		}
		cmd = append(cmd, "-q", arg)
	}
	return cmd
}

// runs reports whether a command already runs w, so it is kept as written.
func runs(s Sidekiq, w layout.Workload) bool {
	if s.Err != "" || s.Concurrency != w.Concurrency || s.timeout() != w.Timeout || len(s.Queues) != len(w.Queues) {
		return false
	}
	for i, q := range w.Queues {
		if s.Queues[i].Name != q.Name || ptr.Deref(s.Queues[i].Weight, 0) != q.Weight {
			return false
		}
	}
	return true
}

func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
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
