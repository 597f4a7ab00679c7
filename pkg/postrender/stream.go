package postrender

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// document is one YAML document of a manifest stream, with the bytes it came as: documents the
// transformer does not own are written back exactly as they were read.
type document struct {
	// number is the document's position in the stream, from 1, for messages.
	number int
	// line is the line of the stream the document starts on, from 1.
	line int
	// raw is the document's bytes, from its `---` line (when it has one) up to the next.
	raw []byte
	// node is the parsed document, or nil when it holds no value (only comments, or nothing).
	node *yaml.RNode
	// items are the objects of a `kind: List` document, read as documents of their own;
	// nil for any other document.
	items []*yaml.RNode
}

// separatorLines returns the offsets of the lines that start a YAML document: `---` alone or
// followed by blanks, a comment or the document's first value.
func separatorLines(data []byte) []int {
	var out []int
	for at := 0; at < len(data); {
		if isSeparator(data[at:]) {
			out = append(out, at)
		}
		next := bytes.IndexByte(data[at:], '\n')
		if next < 0 {
			break
		}
		at += next + 1
	}
	return out
}

// isSeparator reports whether line (and what follows it) starts with a `---` line.
func isSeparator(line []byte) bool {
	if !bytes.HasPrefix(line, []byte("---")) {
		return false
	}
	if len(line) == 3 {
		return true
	}
	switch line[3] {
	case '\n', ' ', '\t':
		return true
	case '\r':
		return len(line) == 4 || line[4] == '\n'
	}
	return false
}

// splitStream cuts a YAML stream into its documents, keeping every byte: the documents' raw
// bytes put together are the input. Bytes before the first `---` (a comment, say) form a
// document of their own, numbered 0 when they hold no value.
func splitStream(data []byte) []*document {
	starts := separatorLines(data)
	bounds := make([]int, 0, len(starts)+1)
	if len(starts) == 0 || starts[0] > 0 {
		bounds = append(bounds, 0)
	}
	bounds = append(bounds, starts...)
	docs := make([]*document, 0, len(bounds))
	line := 1
	for i, from := range bounds {
		to := len(data)
		if i+1 < len(bounds) {
			to = bounds[i+1]
		}
		docs = append(docs, &document{number: i + 1, line: line, raw: data[from:to]})
		line += bytes.Count(data[from:to], []byte("\n"))
	}
	return docs
}

// parseStream splits data into documents and parses every one of them, so that a broken input
// fails before anything is written. Every problem is reported, each with its document number
// and line.
func parseStream(data []byte) ([]*document, error) {
	if err := CheckSize(data); err != nil {
		return nil, err
	}
	docs := splitStream(data)
	var errs []error
	for _, d := range docs {
		if err := d.parse(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err := checkObjects(docs); err != nil {
		return nil, err
	}
	return docs, nil
}

// yamlLine finds the line numbers in the YAML parser's messages, which count from the start
// of the document it was given.
var yamlLine = regexp.MustCompile(`line (\d+)`)

func (d *document) parse() error {
	if d.number == 1 && !startsWithSeparator(d.raw) && len(bytes.TrimSpace(uncommented(d.raw))) == 0 {
		d.number = 0 // a comment before the first `---` is no document
	}
	if line, col, b, bad := layout.InvalidUTF8(d.raw); bad {
		return d.errorf("line %d, column %d: byte 0x%02x is not UTF-8: manifests are UTF-8 text", d.line+line-1, col, b)
	}
	dec := yaml.NewDecoder(bytes.NewReader(d.raw))
	var n yaml.Node
	err := dec.Decode(&n)
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return d.errorf("%s", d.absoluteLines(err.Error()))
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		return d.errorf("holds more than one YAML document (after a `...` line): separate them with `---`")
	}
	if yaml.IsYNodeEmptyDoc(&n) {
		return nil
	}
	shiftLines(&n, d.line-1)
	d.node = yaml.NewRNode(&n)
	d.items = listItems(d.node)
	return nil
}

// shiftLines makes the lines of a document's nodes lines of the stream, for messages.
func shiftLines(n *yaml.Node, by int) {
	n.Line += by
	for _, c := range n.Content {
		shiftLines(c, by)
	}
}

// absoluteLines turns the parser's document-relative line numbers into lines of the stream.
func (d *document) absoluteLines(msg string) string {
	return yamlLine.ReplaceAllStringFunc(msg, func(m string) string {
		n, _ := strconv.Atoi(m[len("line "):])
		return "line " + strconv.Itoa(d.line+n-1)
	})
}

func (d *document) errorf(format string, args ...any) error {
	return fmt.Errorf("document %d (line %d): %s", d.number, d.line, fmt.Sprintf(format, args...))
}

// listItems returns the objects of a `kind: List` (what `kubectl get -o yaml` and
// `mastoscale render -o json` write), or nil when n is not one.
func listItems(n *yaml.RNode) []*yaml.RNode {
	if n.YNode().Kind != yaml.MappingNode || n.GetKind() != "List" {
		return nil
	}
	items := n.Field("items")
	if items == nil || items.Value.YNode().Kind != yaml.SequenceNode {
		return nil
	}
	out := make([]*yaml.RNode, 0, len(items.Value.YNode().Content))
	for _, c := range items.Value.YNode().Content {
		out = append(out, yaml.NewRNode(c))
	}
	return out
}

// objects returns the objects of the stream in order: each document's value, or the items of a
// List in its place.
func objects(docs []*document) []*yaml.RNode {
	var out []*yaml.RNode
	for _, d := range docs {
		switch {
		case d.items != nil:
			out = append(out, d.items...)
		case d.node != nil:
			out = append(out, d.node)
		}
	}
	return out
}

// edits say what becomes of the objects the transformer owns: each is replaced by the nodes
// given (none to remove it). Objects without an entry are written back as they came.
type edits map[*yaml.RNode][]*yaml.RNode

// writeStream writes the stream with edits applied. A document none of whose objects is edited
// is copied byte for byte; an edited document is written from its nodes, one document each; a
// List with an edited item is written again as a List.
func writeStream(w io.Writer, docs []*document, e edits) error {
	var out bytes.Buffer
	for i, d := range docs {
		switch {
		case d.items != nil && e.touchesAny(d.items):
			if err := e.rewriteList(d); err != nil {
				return err
			}
			writeNodes(&out, []*yaml.RNode{d.node}, i == 0 && !startsWithSeparator(d.raw))
		case d.node != nil && e.has(d.node):
			writeNodes(&out, e[d.node], i == 0 && !startsWithSeparator(d.raw))
		default:
			if out.Len() > 0 && !bytes.HasSuffix(out.Bytes(), []byte("\n")) {
				out.WriteByte('\n')
			}
			out.Write(d.raw)
		}
	}
	_, err := w.Write(out.Bytes())
	return err
}

func (e edits) has(n *yaml.RNode) bool {
	_, ok := e[n]
	return ok
}

func (e edits) touchesAny(nodes []*yaml.RNode) bool {
	for _, n := range nodes {
		if e.has(n) {
			return true
		}
	}
	return false
}

// rewriteList replaces the List's items by their edits. The List is written again as a whole,
// in block style (a JSON List comes back as YAML), without the writer's annotations on items.
func (e edits) rewriteList(d *document) error {
	seq := &yaml.Node{Kind: yaml.SequenceNode}
	for _, item := range d.items {
		nodes, edited := e[item]
		if !edited {
			seq.Content = append(seq.Content, item.YNode())
			continue
		}
		for _, n := range nodes {
			if err := n.PipeE(yaml.ClearAnnotation(kioutil.SeqIndentAnnotation)); err != nil {
				return err
			}
			if err := yaml.ClearEmptyAnnotations(n); err != nil {
				return err
			}
			seq.Content = append(seq.Content, n.YNode())
		}
	}
	if err := d.node.PipeE(yaml.SetField("items", yaml.NewRNode(seq))); err != nil {
		return err
	}
	blockStyle(d.node.YNode())
	return nil
}

func startsWithSeparator(raw []byte) bool { return isSeparator(raw) }

// writeNodes writes nodes as YAML documents, each after a `---` line (the first one without it
// when it opens a stream that had none), in the sequence indentation each was read with.
func writeNodes(out *bytes.Buffer, nodes []*yaml.RNode, bare bool) {
	for i, n := range nodes {
		if out.Len() > 0 && !bytes.HasSuffix(out.Bytes(), []byte("\n")) {
			out.WriteByte('\n')
		}
		if !(bare && i == 0 && out.Len() == 0) {
			out.WriteString("---\n")
		}
		// kio's writer honours the sequence indentation annotation and drops it again.
		_ = kio.ByteWriter{Writer: out}.Write([]*yaml.RNode{n})
	}
}

// keepDeploymentStyle gives every Deployment document the sequence indentation of its bytes:
// when the transformer rewrites one, or makes objects after its pattern, they keep the
// chart's style. (The items of a List are written with the List, in its style.)
func keepDeploymentStyle(docs []*document) error {
	for _, d := range docs {
		n := d.node
		if n != nil && d.items == nil && n.YNode().Kind == yaml.MappingNode && n.GetKind() == "Deployment" {
			if err := keepSeqIndent(n, d.raw); err != nil {
				return err
			}
		}
	}
	return nil
}

// keepSeqIndent annotates n with the sequence indentation of the bytes it was read from, so
// kio's writer writes it back in the same style (and drops the annotation).
func keepSeqIndent(n *yaml.RNode, raw []byte) error {
	style := yaml.DeriveSeqIndentStyle(string(raw))
	if style == "" {
		return nil
	}
	return n.PipeE(yaml.SetAnnotation(kioutil.SeqIndentAnnotation, style))
}

// uncommented drops the comment lines of raw.
func uncommented(raw []byte) []byte {
	var out []byte
	for _, l := range bytes.SplitAfter(raw, []byte("\n")) {
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' {
			out = append(out, l...)
		}
	}
	return out
}

// Parse reads a YAML or JSON manifest stream as the post-renderer does: every document must
// parse (the error names each broken document and its line), and the items of a `kind: List`
// are objects of their own. It returns the objects in order, for Read.
func Parse(data []byte) ([]*yaml.RNode, error) {
	docs, err := parseStream(data)
	if err != nil {
		return nil, err
	}
	return objects(docs), nil
}
