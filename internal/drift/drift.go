// Package drift compares a committed manifest file with what mastoscale would render, as
// objects: formatting, key order and document order do not count, content does.
package drift

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/mastoscale/mastoscale/pkg/postrender"
	"github.com/pmezard/go-difflib/difflib"
	"sigs.k8s.io/yaml"
)

// Object is one Kubernetes object of a manifest stream, identified by group, kind, namespace and name.
type Object struct {
	ID      string
	Content map[string]any
}

// Report says how the committed objects differ from the rendered ones.
type Report struct {
	Missing []string // rendered but not committed
	Extra   []string // committed but not rendered
	Changed []string // in both, with different content
	diffs   []string
	Objects int // objects compared
}

// Clean reports whether the committed objects are exactly the rendered ones.
func (r Report) Clean() bool { return len(r.Missing)+len(r.Extra)+len(r.Changed) == 0 }

// Diff is a unified diff from the committed objects to the rendered ones, object by object.
func (r Report) Diff() string { return strings.Join(r.diffs, "") }

// Parse reads a manifest stream into objects with the post-renderer's reader: YAML or JSON,
// the items of a `kind: List` as objects of their own. A document without kind or name is an
// error, as is the same object twice.
func Parse(data []byte) ([]Object, error) {
	nodes, err := postrender.Parse(data)
	if err != nil {
		return nil, err
	}
	var objs []Object
	seen := map[string]bool{}
	for i, n := range nodes {
		m, err := n.Map()
		if err != nil {
			return nil, fmt.Errorf("object %d: %w", i+1, err)
		}
		if len(m) == 0 {
			continue
		}
		pruneNulls(m)
		id, err := identity(m)
		if err != nil {
			return nil, fmt.Errorf("object %d: %w", i+1, err)
		}
		if seen[id] {
			return nil, fmt.Errorf("object %d: %s appears twice", i+1, id)
		}
		seen[id] = true
		objs = append(objs, Object{ID: id, Content: m})
	}
	return objs, nil
}

// pruneNulls drops fields whose value is null: the API server reads `annotations: null` (which
// charts often render) as no annotations, so it is no difference.
func pruneNulls(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			if c == nil {
				delete(t, k)
				continue
			}
			pruneNulls(c)
		}
	case []any:
		for _, c := range t {
			pruneNulls(c)
		}
	}
}

func identity(m map[string]any) (string, error) {
	apiVersion, _ := m["apiVersion"].(string)
	kind, _ := m["kind"].(string)
	meta, _ := m["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	ns, _ := meta["namespace"].(string)
	if apiVersion == "" || kind == "" || name == "" {
		return "", fmt.Errorf("not a Kubernetes object: apiVersion, kind and metadata.name are required")
	}
	group := apiVersion
	if i := strings.LastIndex(apiVersion, "/"); i >= 0 {
		group = apiVersion[:i]
	} else {
		group = "core"
	}
	if ns != "" {
		return fmt.Sprintf("%s %s %s/%s", group, kind, ns, name), nil
	}
	return fmt.Sprintf("%s %s %s", group, kind, name), nil
}

// Compare parses both streams and compares them object by object.
func Compare(rendered, committed []byte) (Report, error) {
	want, err := Parse(rendered)
	if err != nil {
		return Report{}, fmt.Errorf("rendered objects: %w", err)
	}
	got, err := Parse(committed)
	if err != nil {
		return Report{}, fmt.Errorf("committed file: %w", err)
	}
	return CompareObjects(want, got), nil
}

// CompareObjects compares rendered objects (want) with committed ones (got).
func CompareObjects(want, got []Object) Report {
	byID := map[string]map[string]any{}
	for _, o := range got {
		byID[o.ID] = o.Content
	}
	r := Report{Objects: len(want)}
	rendered := map[string]bool{}
	for _, o := range want {
		rendered[o.ID] = true
		committed, ok := byID[o.ID]
		switch {
		case !ok:
			r.Missing = append(r.Missing, o.ID)
			r.diffs = append(r.diffs, unified(o.ID, nil, o.Content))
		case !reflect.DeepEqual(committed, o.Content):
			r.Changed = append(r.Changed, o.ID)
			r.diffs = append(r.diffs, unified(o.ID, committed, o.Content))
		}
	}
	var extra []Object
	for _, o := range got {
		if !rendered[o.ID] {
			r.Extra = append(r.Extra, o.ID)
			extra = append(extra, o)
		}
	}
	sort.Slice(extra, func(i, j int) bool { return extra[i].ID < extra[j].ID })
	for _, o := range extra {
		r.diffs = append(r.diffs, unified(o.ID, o.Content, nil))
	}
	return r
}

func unified(id string, from, to map[string]any) string {
	lines := func(m map[string]any) []string {
		if m == nil {
			return nil
		}
		out, err := yaml.Marshal(m)
		if err != nil {
			return []string{fmt.Sprintf("<%v>\n", err)}
		}
		l := strings.SplitAfter(string(out), "\n")
		return l[:len(l)-1] // yaml output ends with a newline: drop the empty tail
	}
	diff, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A:        lines(from),
		B:        lines(to),
		FromFile: "committed: " + id,
		ToFile:   "rendered:  " + id,
		Context:  3,
	})
	if err != nil {
		return fmt.Sprintf("%s: %v\n", id, err)
	}
	return diff
}
