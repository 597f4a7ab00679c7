package layout

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

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

// InvalidUTF8 locates the first byte of data that is not UTF-8 (line and column from 1), for
// a message the YAML parser does not give; ok is false when data is valid UTF-8. A UTF-16
// byte order mark (the parser reads UTF-16) is not looked into.
func InvalidUTF8(data []byte) (line, column int, b byte, ok bool) {
	if utf8.Valid(data) || bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}) {
		return 0, 0, 0, false
	}
	line, column = 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return line, column, data[i], true
		}
		if r == '\n' {
			line, column = line+1, 0
		}
		column++
		i += size
	}
	return 0, 0, 0, false
}
