package layout

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// nonNumbers reports the .nan and .inf values of a layout with their path and line: no field
// of a layout takes them, and JSON, which the strict decoder reads, cannot hold them.
func nonNumbers(n *kyaml.Node, path string) []error {
	var errs []error
	switch n.Kind {
	case kyaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			errs = append(errs, nonNumbers(n.Content[i+1], joinPath(path, n.Content[i].Value))...)
		}
	case kyaml.SequenceNode:
		for i, c := range n.Content {
			errs = append(errs, nonNumbers(c, fmt.Sprintf("%s[%d]", path, i))...)
		}
	case kyaml.ScalarNode:
		v := strings.ToLower(n.Value)
		if n.ShortTag() == "!!float" && (strings.HasSuffix(v, ".nan") || strings.HasSuffix(v, ".inf")) {
			errs = append(errs, fmt.Errorf("line %d: %s: %s is not a number a layout takes: give a finite number", n.Line, path, n.Value))
		}
	}
	return errs
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// decodedValue finds the value a decoding error names: `number 99999999999 into`,
// `invalid duration "100000000h"`.
var decodedValue = regexp.MustCompile(`(?:number (\S+) into|"([^"]+)")`)

// locateValue gives a decoding error (a number out of range, a bad duration) the path and line
// of the value it names, when the layout holds that value once among its scalars.
func locateValue(root *kyaml.Node, err error) error {
	msg := strings.TrimPrefix(err.Error(), "json: ")
	m := decodedValue.FindStringSubmatch(msg)
	if m == nil {
		return errors.New(msg)
	}
	value := m[1] + m[2]
	var found []string
	var line int
	findScalar(document(root), "", value, func(path string, l int) {
		found = append(found, path)
		line = l
	})
	if len(found) != 1 {
		return errors.New(msg)
	}
	return fmt.Errorf("line %d: %s: %s", line, found[0], msg)
}

func findScalar(n *kyaml.Node, path, value string, hit func(string, int)) {
	switch n.Kind {
	case kyaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			findScalar(n.Content[i+1], joinPath(path, n.Content[i].Value), value, hit)
		}
	case kyaml.SequenceNode:
		for i, c := range n.Content {
			findScalar(c, fmt.Sprintf("%s[%d]", path, i), value, hit)
		}
	case kyaml.ScalarNode:
		if n.Value == value {
			hit(path, n.Line)
		}
	}
}
