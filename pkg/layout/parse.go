package layout

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	kjson "sigs.k8s.io/json"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	"sigs.k8s.io/yaml"
)

// Parse decodes one SidekiqLayout document strictly: an unknown or duplicate field is an
// error naming its path and line. Parse neither defaults nor validates.
func Parse(data []byte) (*SidekiqLayout, error) {
	if line, col, b, bad := InvalidUTF8(data); bad {
		return nil, fmt.Errorf("parsing layout: line %d, column %d: byte 0x%02x is not UTF-8: a layout is UTF-8 text", line, col, b)
	}
	var root kyaml.Node
	dec := kyaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parsing layout: %w", err)
	}
	var next kyaml.Node
	if err := dec.Decode(&next); err == nil && document(&next).Kind != 0 && document(&next).Tag != "!!null" {
		return nil, fmt.Errorf("parsing layout: line %d: a layout file holds one document; split the others into their own files", document(&next).Line)
	}
	if dups := duplicateKeys(document(&root), ""); len(dups) > 0 {
		return nil, fmt.Errorf("parsing layout: %w", errors.Join(dups...))
	}
	if root.Kind == 0 {
		return nil, errors.New("parsing layout: the document is empty")
	}
	if doc := document(&root); doc.Kind != kyaml.MappingNode {
		return nil, fmt.Errorf("parsing layout: line %d: a layout is a mapping with apiVersion, kind and spec", doc.Line)
	}
	if errs := nonNumbers(document(&root), ""); len(errs) > 0 {
		return nil, fmt.Errorf("parsing layout: %w", errors.Join(errs...))
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("parsing layout: %w", err)
	}
	var l SidekiqLayout
	strict, err := kjson.UnmarshalStrict(js, &l)
	if err != nil {
		return nil, fmt.Errorf("parsing layout: %w", locateValue(&root, err))
	}
	if len(strict) > 0 {
		errs := make([]error, len(strict))
		for i, e := range strict {
			errs[i] = withLine(&root, e)
		}
		return nil, fmt.Errorf("parsing layout: %w", errors.Join(errs...))
	}
	return &l, nil
}

// Load reads and parses the layout file at path.
func Load(path string) (*SidekiqLayout, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading layout: %w", err)
	}
	l, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

// Marshal writes l as YAML.
func Marshal(l *SidekiqLayout) ([]byte, error) { return yaml.Marshal(l) }

// withLine prefixes a strict-decoding error with the line of the field it names.
func withLine(root *kyaml.Node, err error) error {
	var fe kjson.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if line := lineOf(document(root), fe.FieldPath()); line > 0 {
		return fmt.Errorf("line %d: %s", line, msg)
	}
	return errors.New(msg)
}

func document(n *kyaml.Node) *kyaml.Node {
	if n.Kind == kyaml.DocumentNode && len(n.Content) > 0 {
		return n.Content[0]
	}
	return n
}

// lineOf follows a path like `spec.workers[0].queue` through the YAML tree and returns the
// line of the last key it finds.
func lineOf(n *kyaml.Node, path string) int {
	line := 0
	for _, step := range splitPath(path) {
		if n == nil {
			break
		}
		if idx, err := strconv.Atoi(step); err == nil {
			if n.Kind != kyaml.SequenceNode || idx >= len(n.Content) {
				break
			}
			n = n.Content[idx]
			line = n.Line
			continue
		}
		var next *kyaml.Node
		if n.Kind == kyaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == step {
					line = n.Content[i].Line
					next = n.Content[i+1]
				}
			}
		}
		n = next
	}
	return line
}

func splitPath(path string) []string {
	var steps []string
	for _, part := range strings.Split(path, ".") {
		for part != "" {
			open := strings.IndexByte(part, '[')
			if open < 0 {
				steps = append(steps, part)
				break
			}
			if open > 0 {
				steps = append(steps, part[:open])
			}
			end := strings.IndexByte(part, ']')
			if end < open {
				break
			}
			steps = append(steps, part[open+1:end])
			part = part[end+1:]
		}
	}
	return steps
}

// duplicateKeys reports keys written twice in one mapping; YAML-to-JSON conversion would keep
// only the last one silently.
func duplicateKeys(n *kyaml.Node, path string) []error {
	var errs []error
	switch n.Kind {
	case kyaml.MappingNode:
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			child := key
			if path != "" {
				child = path + "." + key
			}
			if seen[key] {
				errs = append(errs, fmt.Errorf("line %d: duplicate field %q", n.Content[i].Line, child))
			}
			seen[key] = true
			errs = append(errs, duplicateKeys(n.Content[i+1], child)...)
		}
	case kyaml.SequenceNode:
		for i, c := range n.Content {
			errs = append(errs, duplicateKeys(c, fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	return errs
}
