package tune

import (
	"fmt"
	"strconv"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"k8s.io/apimachinery/pkg/api/equality"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	"sigs.k8s.io/yaml"
)

// Edit returns the input layout document with only the tuned fields changed, each with a
// comment giving its value before; the head comment of each tuned worker gives its figures
// before and after. YAML aliases are expanded first (a tuned worker's settings are its own).
func (r *Result) Edit(input []byte) ([]byte, error) {
	var doc kyaml.Node
	if err := kyaml.Unmarshal(input, &doc); err != nil {
		return nil, fmt.Errorf("reading the layout to edit: %w", err)
	}
	root := kyaml.NewRNode(&doc)
	if hasAlias(&doc) {
		if err := root.DeAnchor(); err != nil {
			return nil, fmt.Errorf("expanding the layout's YAML aliases: %w", err)
		}
	}
	workers := lookup(docMapping(root.YNode()), "spec", "workers")
	if workers == nil || workers.Kind != kyaml.SequenceNode {
		return nil, fmt.Errorf("spec.workers: the layout to edit has no list of workers")
	}
	for i, o := range r.Workers {
		k, ok := r.knobs[i]
		if !ok || i >= len(workers.Content) {
			continue
		}
		if err := r.editWorker(workers.Content[i], o, k, r.spaces[i]); err != nil {
			return nil, fmt.Errorf("spec.workers[%d]: %w", i, err)
		}
	}
	out, err := kyaml.MarshalWithOptions(root.Document(), &kyaml.EncoderOptions{
		SeqIndent: kyaml.SequenceIndentStyle(kyaml.DeriveSeqIndentStyle(string(input)))})
	if err != nil {
		return nil, err
	}
	if err := r.checkEdit(out); err != nil {
		return nil, err
	}
	head := fmt.Sprintf("# Tuned by mastoscale tune on trace %s: %.0f -> %.0f pod-minutes, p99 wait %.1f -> %.1f s.\n",
		r.Trace, r.Before.PodMinutes, r.After.PodMinutes, r.Before.P99, r.After.P99)
	return append([]byte(head), out...), nil
}

// editWorker writes knobs k into worker node w where they differ from the input's.
func (r *Result) editWorker(w *kyaml.Node, o WorkerOutcome, k Knobs, s Space) error {
	in := s.In
	if k == in {
		return nil
	}
	a := lookup(w, "autoscale")
	if a == nil || a.Kind != kyaml.MappingNode {
		return fmt.Errorf("autoscale: the worker to edit has no autoscale mapping")
	}
	if name := lookup(w, "name"); name != nil {
		name.LineComment = fmt.Sprintf("tuned for p99 <= %gs: p99 %.1f -> %.1f s, %.0f -> %.0f pod-minutes, %d -> %d connections at max replicas",
			o.Goal, o.Before.P99, o.After.P99, o.Before.PodMinutes, o.After.PodMinutes, in.Connections(), k.Connections())
	}
	setInt(w, "concurrency", int64(in.Concurrency), int64(k.Concurrency), "default")
	setInt(a, "minReplicas", int64(in.MinReplicas), int64(k.MinReplicas), "default")
	setInt(a, "maxReplicas", int64(in.MaxReplicas), int64(k.MaxReplicas), "default")
	if k.ListLength != in.ListLength || (lookup(a, "listLength") == nil && k.Concurrency != in.Concurrency) {
		// Unwritten, listLength may follow concurrency (latencyTarget x throughputPerThread x
		// concurrency): a tuned concurrency writes it out.
		origin := "default"
		if lookup(a, "latencyTarget") != nil && lookup(a, "throughputPerThread") != nil {
			origin = "latencyTarget x throughputPerThread x concurrency"
		}
		writeInt(a, "listLength", in.ListLength, k.ListLength, origin)
		if qs := lookup(w, "queues"); qs != nil && qs.Kind == kyaml.SequenceNode {
			for _, q := range qs.Content {
				deleteKey(q, "listLength") // the worker's tuned listLength applies to every queue
			}
		}
	}
	if k.Pace == in.Pace {
		return nil
	}
	p := s.Paces[k.Pace]
	was := "tuned: was " + s.Paces[in.Pace].Name
	if in.Pace == 0 {
		was = "tuned: replaces the behavior written here"
	}
	deleteKey(a, "behaviorPreset")
	deleteKey(a, "behavior")
	if p.Preset != "" {
		v := scalar(p.Preset)
		v.LineComment = was
		setKey(a, "behaviorPreset", v)
		return nil
	}
	data, err := yaml.Marshal(p.Behavior())
	if err != nil {
		return err
	}
	var b kyaml.Node
	if err := kyaml.Unmarshal(data, &b); err != nil {
		return err
	}
	key := setKey(a, "behavior", docMapping(&b))
	key.LineComment = was + "; now " + p.Name
	return nil
}

// setInt sets key of mapping m to now, with a comment giving the value before (and, when
// the key was not written, where that value came from), unless equal.
func setInt(m *kyaml.Node, key string, before, now int64, origin string) {
	if before == now {
		return
	}
	writeInt(m, key, before, now, origin)
}

// writeInt sets key of mapping m to now, commented as setInt does, even when unchanged.
func writeInt(m *kyaml.Node, key string, before, now int64, origin string) {
	v := scalar(strconv.FormatInt(now, 10))
	v.Tag = "!!int"
	v.LineComment = "tuned: was " + strconv.FormatInt(before, 10)
	switch {
	case before == now:
		v.LineComment = "tuned: written out, or it would follow the new concurrency"
	case lookup(m, key) == nil:
		v.LineComment += " (" + origin + ")"
	}
	setKey(m, key, v)
}

func scalar(s string) *kyaml.Node { return &kyaml.Node{Kind: kyaml.ScalarNode, Value: s} }

// setKey replaces or appends key's value in mapping m and returns the key node.
func setKey(m *kyaml.Node, key string, v *kyaml.Node) *kyaml.Node {
	if m.Style&kyaml.FlowStyle != 0 {
		m.Style = 0 // a flow mapping cannot carry a comment per field
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return m.Content[i]
		}
	}
	k := scalar(key)
	at := len(m.Content)
	if len(m.Content) >= 2 && m.Content[0].Value == "name" {
		at = 2 // a worker's new fields follow its name
	}
	m.Content = append(m.Content[:at], append([]*kyaml.Node{k, v}, m.Content[at:]...)...)
	return k
}

func deleteKey(m *kyaml.Node, key string) {
	if m == nil || m.Kind != kyaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
	}
}

// lookup follows keys through mappings; nil when one is missing.
func lookup(n *kyaml.Node, keys ...string) *kyaml.Node {
	for _, key := range keys {
		if n == nil || n.Kind != kyaml.MappingNode {
			return nil
		}
		var next *kyaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	return n
}

func docMapping(n *kyaml.Node) *kyaml.Node {
	if n.Kind == kyaml.DocumentNode && len(n.Content) == 1 {
		return n.Content[0]
	}
	return n
}

func hasAlias(n *kyaml.Node) bool {
	if n.Kind == kyaml.AliasNode {
		return true
	}
	for _, c := range n.Content {
		if hasAlias(c) {
			return true
		}
	}
	return false
}

// checkEdit reads the edited document back and compares its tuned workers with the knobs
// simulated: what tune writes is what it measured.
func (r *Result) checkEdit(doc []byte) error {
	l, err := layout.Parse(doc)
	if err != nil {
		return fmt.Errorf("the tuned layout does not parse: %w", err)
	}
	d, _ := layout.Prepare(l)
	for i, k := range r.knobs {
		if i >= len(d.Spec.Workers) || d.Spec.Workers[i].Autoscale == nil {
			return fmt.Errorf("spec.workers[%d]: the tuned layout lost the worker's autoscale block", i)
		}
		w := &d.Spec.Workers[i]
		got := Knobs{Concurrency: *w.Concurrency, MinReplicas: *w.Autoscale.MinReplicas,
			MaxReplicas: *w.Autoscale.MaxReplicas, ListLength: *w.Autoscale.ListLength, Pace: k.Pace}
		if got != k {
			return fmt.Errorf("spec.workers[%d] (%s): the tuned layout reads back as %s, not the %s simulated", i, w.Name, got, k)
		}
		p := r.spaces[i].Paces[k.Pace]
		if b := w.Autoscale.Behavior; !equality.Semantic.DeepEqual(b.ScaleUp, p.Up) || !equality.Semantic.DeepEqual(b.ScaleDown, p.Down) {
			return fmt.Errorf("spec.workers[%d] (%s): the tuned layout's behavior is not the pace %s simulated", i, w.Name, p.Name)
		}
		for _, q := range w.Queues {
			if q.ListLength != nil && *q.ListLength != k.ListLength {
				return fmt.Errorf("spec.workers[%d] (%s): queue %s keeps listLength %d", i, w.Name, q.Name, *q.ListLength)
			}
		}
	}
	return nil
}
