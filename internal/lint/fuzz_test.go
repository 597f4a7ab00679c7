package lint_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/mastoscale/mastoscale/internal/lint"
)

// FuzzLint: lint reads any stream with the post-renderer's reader and checks it without a
// panic; what it reads it reports on, in text and JSON. Seeds: the lint corpus and
// testdata/fuzz/FuzzLint (among them the top-level sequences that once panicked).
func FuzzLint(f *testing.F) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "*", "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range inputs {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		src, err := lint.Parse("in.yaml", data)
		if err != nil {
			return
		}
		findings, err := lint.Lint([]lint.Source{src}, lint.Options{})
		if err != nil {
			t.Fatalf("Lint fails on what Parse read: %v", err)
		}
		var out bytes.Buffer
		if err := lint.WriteText(&out, findings, 1, len(src.Nodes)); err != nil {
			t.Fatal(err)
		}
		if err := lint.WriteJSON(&out, findings); err != nil {
			t.Fatal(err)
		}
	})
}
