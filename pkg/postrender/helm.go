package postrender

import (
	"bytes"
	"fmt"
	"io"
)

// Run is the Helm post-renderer: it reads the manifest stream Helm renders (Helm 3 with
// `# Source:` comments, Helm 4 with the filename annotation, hooks included or not), transforms
// it and writes the result to out. Nothing is written when it fails.
func Run(in io.Reader, out io.Writer, opts Options) (*Result, error) {
	data, err := ReadInput(in)
	if err != nil {
		return &Result{}, fmt.Errorf("reading the manifests: %w", err)
	}
	docs, err := parseStream(data)
	if err != nil {
		return &Result{}, fmt.Errorf("reading the manifests: %w", err)
	}
	if err := keepDeploymentStyle(docs); err != nil {
		return &Result{}, err
	}
	e, res, err := transformObjects(objects(docs), opts)
	if err != nil {
		return res, err
	}
	var buf bytes.Buffer
	if err := writeStream(&buf, docs, e); err != nil {
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
