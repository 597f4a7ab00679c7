package krm

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/mastoscale/mastoscale/pkg/postrender"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// resourceList is a ResourceList as kustomize or kpt sent it: its bytes and where in them each
// item is, so that the items the function does not own go back byte for byte.
type resourceList struct {
	data []byte
	root *yaml.RNode
	// items are the item nodes; spans[i] the bytes of item i, from the start of its `- ` line
	// to the start of the next item (the last one: to the start of the next top-level key).
	items []*yaml.RNode
	spans [][2]int
	// itemsAt is where the items begin (after the `items:` line) and itemsEnd where they end.
	itemsAt, itemsEnd int
	// indent is the indentation of the items' `- ` marker.
	indent string
	// results is the span of a `results:` key the input carries (dropped in the output), or nil.
	results        []int
	functionConfig *yaml.RNode
}

var errNotResourceList = errors.New("not a ResourceList")

// readResourceList parses a ResourceList and locates its items. An input whose items are not
// a block sequence (flow style, JSON) is not located: spans stay nil and the output is
// written from the nodes.
func readResourceList(data []byte) (*resourceList, error) {
	if err := postrender.CheckSize(data); err != nil {
		return nil, err
	}
	root, err := yaml.Parse(string(data))
	if err != nil {
		return nil, fmt.Errorf("reading the ResourceList: %w", err)
	}
	if root.YNode().Kind != yaml.MappingNode || root.GetKind() != kio.ResourceListKind {
		return nil, errNotResourceList
	}
	rl := &resourceList{data: data, root: root}
	if fc := root.Field("functionConfig"); fc != nil {
		rl.functionConfig = fc.Value
	}
	if f := root.Field("items"); f != nil && f.Value.YNode().Kind == yaml.SequenceNode {
		for _, c := range f.Value.YNode().Content {
			rl.items = append(rl.items, yaml.NewRNode(c))
		}
	}
	if len(rl.items) > postrender.MaxDocuments {
		return nil, fmt.Errorf("%w: this one holds %d items", postrender.ErrTooLarge, len(rl.items))
	}
	rl.locate()
	return rl, nil
}

// locate finds the byte spans of the items and of a results key, when the layout is the block
// style orchestrators write.
func (rl *resourceList) locate() {
	lines := lineStarts(rl.data)
	content := rl.root.YNode().Content
	var itemsKey *yaml.Node
	next := len(rl.data)
	for i := 0; i+1 < len(content); i += 2 {
		k := content[i]
		switch {
		case k.Value == "items":
			itemsKey = k
		case itemsKey != nil && next == len(rl.data):
			next = offset(lines, k.Line, len(rl.data))
		}
		if k.Value == "results" {
			end := len(rl.data)
			if i+2 < len(content) {
				end = offset(lines, content[i+2].Line, len(rl.data))
			}
			rl.results = []int{offset(lines, k.Line, len(rl.data)), end}
		}
	}
	if itemsKey == nil || len(rl.items) == 0 {
		return
	}
	seq := content[indexOf(content, itemsKey)+1]
	if seq.Style&yaml.FlowStyle != 0 {
		return
	}
	var spans [][2]int
	starts := make([]int, len(rl.items))
	floor := itemsKey.Line + 1
	for i, it := range rl.items {
		starts[i] = rl.entryLine(lines, it.YNode(), floor)
		floor = it.YNode().Line + 1
	}
	for i, it := range rl.items {
		n := it.YNode()
		if n.Kind != yaml.MappingNode || n.Style&yaml.FlowStyle != 0 {
			return
		}
		start := offset(lines, starts[i], len(rl.data))
		end := next
		if i+1 < len(rl.items) {
			end = offset(lines, starts[i+1], len(rl.data))
		}
		line := string(rl.data[start:min(end, start+n.Column+1)])
		dash := strings.Index(line, "- ")
		if dash < 0 || strings.TrimSpace(line[:dash]) != "" {
			return
		}
		if i == 0 {
			rl.indent = line[:dash]
		} else if line[:dash] != rl.indent {
			return
		}
		spans = append(spans, [2]int{start, end})
	}
	rl.spans = spans
	rl.itemsAt, rl.itemsEnd = spans[0][0], next
}

// entryLine is the line of item n's `- ` marker: n's own line, or the line above it when a head
// comment shares the marker's line (`- # Source: x.yaml`, as kustomize writes Helm's output),
// looking no higher than line floor.
func (rl *resourceList) entryLine(lines []int, n *yaml.Node, floor int) int {
	for l := n.Line; l >= floor && l >= 1; l-- {
		start := offset(lines, l, len(rl.data))
		end := offset(lines, l+1, len(rl.data))
		text := strings.TrimLeft(string(rl.data[start:end]), " ")
		if strings.HasPrefix(text, "- ") || strings.TrimRight(text, "\r\n") == "-" {
			return l
		}
		if l < n.Line && !strings.HasPrefix(text, "#") && strings.TrimSpace(text) != "" {
			break
		}
	}
	return n.Line
}

func indexOf(nodes []*yaml.Node, n *yaml.Node) int {
	for i, c := range nodes {
		if c == n {
			return i
		}
	}
	return -1
}

// lineStarts are the byte offsets where each line begins.
func lineStarts(data []byte) []int {
	starts := []int{0}
	for i, b := range data {
		if b == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

func offset(lines []int, line, end int) int {
	if line < 1 || line > len(lines) {
		return end
	}
	return lines[line-1]
}

// write writes the ResourceList: items not in edits byte for byte, edited ones from their
// nodes, then the rest of the input (the functionConfig as given, secrets redacted) and the
// results.
// An input whose items could not be located is written from its nodes.
func (rl *resourceList) write(e map[*yaml.RNode][]*yaml.RNode, results []byte) ([]byte, error) {
	if rl.spans == nil {
		return rl.writeNodes(e, results)
	}
	var out bytes.Buffer
	out.Write(rl.data[:rl.itemsAt])
	for i, it := range rl.items {
		nodes, edited := e[it]
		if !edited {
			out.Write(rl.data[rl.spans[i][0]:rl.spans[i][1]])
			continue
		}
		raw := rl.data[rl.spans[i][0]:rl.spans[i][1]]
		for _, n := range nodes {
			if err := rl.writeItem(&out, n, raw); err != nil {
				return nil, err
			}
		}
	}
	rest := rl.data[rl.itemsEnd:]
	if rl.results != nil && rl.results[0] >= rl.itemsEnd {
		rest = append(append([]byte{}, rl.data[rl.itemsEnd:rl.results[0]]...), rl.data[rl.results[1]:]...)
	}
	out.Write(rest)
	if len(results) > 0 {
		if out.Len() > 0 && !bytes.HasSuffix(out.Bytes(), []byte("\n")) {
			out.WriteByte('\n')
		}
		out.Write(results)
	}
	return out.Bytes(), nil
}

// writeItem writes node n as an item of the sequence, in the style of raw, the item it replaces.
func (rl *resourceList) writeItem(out *bytes.Buffer, n *yaml.RNode, raw []byte) error {
	if style := yaml.DeriveSeqIndentStyle(string(raw)); style != "" {
		if err := n.PipeE(yaml.SetAnnotation(kioutil.SeqIndentAnnotation, style)); err != nil {
			return err
		}
	}
	var doc bytes.Buffer
	if err := (kio.ByteWriter{Writer: &doc}).Write([]*yaml.RNode{n}); err != nil {
		return err
	}
	for i, line := range strings.SplitAfter(strings.TrimSuffix(doc.String(), "\n"), "\n") {
		prefix := rl.indent + "  "
		if i == 0 {
			prefix = rl.indent + "- "
		}
		out.WriteString(prefix + line)
	}
	out.WriteByte('\n')
	return nil
}

// writeNodes writes the ResourceList from its nodes, for inputs whose items could not be
// located (flow style, JSON).
func (rl *resourceList) writeNodes(e map[*yaml.RNode][]*yaml.RNode, results []byte) ([]byte, error) {
	items := &yaml.Node{Kind: yaml.SequenceNode}
	for _, it := range rl.items {
		nodes, ok := e[it]
		if !ok {
			nodes = []*yaml.RNode{it}
		}
		for _, n := range nodes {
			items.Content = append(items.Content, n.YNode())
		}
	}
	if err := rl.root.PipeE(yaml.SetField("items", yaml.NewRNode(items))); err != nil {
		return nil, err
	}
	if err := rl.root.PipeE(yaml.Clear("results")); err != nil {
		return nil, err
	}
	s, err := rl.root.String()
	if err != nil {
		return nil, err
	}
	return append([]byte(s), results...), nil
}

// redacted is what a secret of the functionConfig becomes in the output.
const redacted = `"<redacted>"`

// redactSecrets replaces every secret the functionConfig states (a password field, credentials
// in an address or URL) with a placeholder, in the bytes and in the nodes, so a refused secret
// is never echoed back. It returns the paths it redacted.
func (rl *resourceList) redactSecrets() []string {
	if rl.functionConfig == nil {
		return nil
	}
	lines := lineStarts(rl.data)
	var found []string
	var spans [][2]int
	walkScalars(rl.functionConfig.YNode(), "functionConfig", func(path, key string, n *yaml.Node) {
		if !isSecret(key, n.Value) {
			return
		}
		found = append(found, path)
		if start := offset(lines, n.Line, -1); start >= 0 {
			at := start + n.Column - 1
			spans = append(spans, [2]int{at, tokenEnd(rl.data, at, n.Value)})
		}
		n.Value, n.Style = "<redacted>", yaml.DoubleQuotedStyle
	})
	for i := len(spans) - 1; i >= 0; i-- { // from the end, so earlier offsets stay right
		sp := spans[i]
		rl.data = append(append(append([]byte{}, rl.data[:sp[0]]...), redacted...), rl.data[sp[1]:]...)
	}
	if len(spans) > 0 {
		rl.locate() // the offsets after a redaction moved
	}
	return found
}

// walkScalars calls f for every scalar under n with its path and the key it is the value of.
func walkScalars(n *yaml.Node, path string, f func(path, key string, n *yaml.Node)) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind == yaml.ScalarNode {
				f(path+"."+k.Value, k.Value, v)
				continue
			}
			walkScalars(v, path+"."+k.Value, f)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			if c.Kind == yaml.ScalarNode {
				f(p, "", c)
				continue
			}
			walkScalars(c, p, f)
		}
	}
}

// isSecret tells a password field, or a value carrying credentials (`redis://user:pw@host`,
// `user:pw@host`), which a layout never holds.
func isSecret(key, value string) bool {
	if value == "" {
		return false
	}
	if strings.EqualFold(key, "password") {
		return true
	}
	if i := strings.Index(value, "://"); i >= 0 {
		value = value[i+3:]
	}
	userinfo, _, ok := strings.Cut(value, "@")
	return ok && !strings.ContainsAny(userinfo, "/ ") && userinfo != ""
}

// tokenEnd is the end of the scalar token of value starting at at: a plain scalar's own text,
// a quoted scalar's closing quote, else the end of the line or of the value before a comment.
func tokenEnd(data []byte, at int, value string) int {
	if at >= len(data) {
		return at
	}
	if bytes.HasPrefix(data[at:], []byte(value)) {
		return at + len(value)
	}
	eol := bytes.IndexByte(data[at:], '\n')
	if eol < 0 {
		eol = len(data) - at
	}
	line := data[at : at+eol]
	switch line[0] {
	case '"':
		for i := 1; i < len(line); i++ {
			if line[i] == '\\' {
				i++
				continue
			}
			if line[i] == '"' {
				return at + i + 1
			}
		}
	case '\'':
		for i := 1; i < len(line); i++ {
			if line[i] == '\'' && (i+1 == len(line) || line[i+1] != '\'') {
				return at + i + 1
			}
			if line[i] == '\'' {
				i++
			}
		}
	}
	if c := bytes.Index(line, []byte(" #")); c >= 0 {
		line = line[:c]
	}
	return at + len(bytes.TrimRight(line, " \t\r,}]"))
}
