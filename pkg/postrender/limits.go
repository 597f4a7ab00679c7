package postrender

import (
	"fmt"
	"io"
	"os"
)

// Limits of the one manifest reader, shared by post-render, lint, fn and --check. A Helm
// release is rarely above a few MiB; the limits keep the reader's memory (the parsed trees
// take about 30 times the bytes: 15 MiB peaks at 530 MB) bounded and refuse bigger input
// before parsing any of it.
const (
	// MaxInputBytes is the most bytes one manifest stream (or ResourceList) may hold.
	MaxInputBytes = 16 << 20
	// MaxDocuments is the most YAML documents, or objects counting a List's items, one stream
	// may hold.
	MaxDocuments = 20_000
)

// ErrTooLarge is the error for an input beyond MaxInputBytes or MaxDocuments.
var ErrTooLarge = fmt.Errorf("input too large: mastoscale reads at most %d MiB and %d documents per stream", MaxInputBytes>>20, MaxDocuments)

// ReadInput reads a manifest stream from r, refusing it (without reading further) once it
// holds more than MaxInputBytes.
func ReadInput(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxInputBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxInputBytes {
		return nil, fmt.Errorf("%w: split it (render one release at a time)", ErrTooLarge)
	}
	return data, nil
}

// ReadFile is ReadInput on the file at path.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := ReadInput(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}

// CheckSize refuses data beyond the limits before it is parsed: its bytes, and its documents
// counted by their `---` lines.
func CheckSize(data []byte) error {
	if len(data) > MaxInputBytes {
		return fmt.Errorf("%w: this one holds %d bytes", ErrTooLarge, len(data))
	}
	if n := len(separatorLines(data)); n > MaxDocuments {
		return fmt.Errorf("%w: this one holds %d documents", ErrTooLarge, n)
	}
	return nil
}

// checkObjects refuses a stream whose Lists hold more than MaxDocuments objects in all.
func checkObjects(docs []*document) error {
	n := 0
	for _, d := range docs {
		n += max(len(d.items), 1)
	}
	if n > MaxDocuments {
		return fmt.Errorf("%w: this one holds %d objects", ErrTooLarge, n)
	}
	return nil
}
