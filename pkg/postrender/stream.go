package postrender

import (
	"bytes"
	"fmt"
	"io"

	"sigs.k8s.io/kustomize/kyaml/kio"
)

// Run is the Helm post-renderer: it reads the manifest stream Helm renders (Helm 3 with
// `# Source:` comments, Helm 4 with the filename annotation, hooks included or not), transforms
// it and writes the result to out. Nothing is written when it fails.
func Run(in io.Reader, out io.Writer, opts Options) (*Result, error) {
	// The reader records each document's sequence indentation (a reader annotation) so the
	// writer keeps the chart's style; the writer drops every reader annotation again, so
	// nothing of kyaml's leaks into Helm's output.
	reader := &kio.ByteReader{Reader: in, PreserveSeqIndent: true, DisableUnwrapping: true}
	nodes, err := reader.Read()
	if err != nil {
		return &Result{}, fmt.Errorf("reading the manifests: %w", err)
	}
	outNodes, res, err := Transform(nodes, opts)
	if err != nil {
		return res, err
	}
	var buf bytes.Buffer
	if err := (kio.ByteWriter{Writer: &buf}).Write(outNodes); err != nil {
		return res, fmt.Errorf("writing the manifests: %w", err)
	}
	if _, err := out.Write(buf.Bytes()); err != nil {
		return res, err
	}
	return res, nil
}

// PostRenderer is Run behind the one-method interface of Helm's Go API
// (helm.sh/helm/v3/pkg/postrender.PostRenderer, and the same method in Helm 4), for programs
// that drive Helm as a library: `install.PostRenderer = postrender.PostRenderer{}`.
type PostRenderer struct{ Options Options }

// Run transforms Helm's rendered manifests.
func (p PostRenderer) Run(rendered *bytes.Buffer) (*bytes.Buffer, error) {
	var out bytes.Buffer
	if _, err := Run(rendered, &out, p.Options); err != nil {
		return nil, err
	}
	return &out, nil
}
