package postrender

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzPostRender: for any manifest stream, with or without --preset split, Run either fails
// and writes nothing, or succeeds, keeps every document it does not own byte for byte, and a
// second run over its output changes nothing. Seeds: the release cases of testdata/cases and
// testdata/fuzz/FuzzPostRender (regression inputs, among them the hostile corpus's).
func FuzzPostRender(f *testing.F) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "cases", "*", "input.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range inputs {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, false)
		f.Add(data, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, split bool) {
		opts := Options{}
		if split {
			opts.Preset = "split"
		}
		var out bytes.Buffer
		_, err := Run(bytes.NewReader(data), &out, opts)
		if err != nil {
			if out.Len() > 0 {
				t.Fatalf("a failed run wrote %d bytes: %v", out.Len(), err)
			}
			return
		}
		assertForeignKept(t, data, out.Bytes(), opts)
		var again bytes.Buffer
		if _, err := Run(bytes.NewReader(out.Bytes()), &again, opts); err != nil {
			t.Fatalf("a second run fails: %v\ninput:\n%s\noutput:\n%s", err, data, out.Bytes())
		}
		if !bytes.Equal(out.Bytes(), again.Bytes()) {
			t.Fatalf("a second run changes the output:\n%s\nthen:\n%s", out.Bytes(), again.Bytes())
		}
	})
}

// assertForeignKept checks that every document of input whose objects the run does not edit
// is in the output as it came, in order.
func assertForeignKept(t *testing.T, input, output []byte, opts Options) {
	t.Helper()
	docs, err := parseStream(input)
	if err != nil {
		t.Fatalf("input parsed once, not twice: %v", err)
	}
	e, _, err := transformObjects(objects(docs), opts)
	if err != nil {
		t.Fatalf("the transformation is not deterministic: %v", err)
	}
	rest := output
	for _, d := range docs {
		if d.node != nil && (e.has(d.node) || e.touchesAny(d.items)) {
			continue
		}
		at := bytes.Index(rest, d.raw)
		if at < 0 {
			t.Fatalf("document %d (line %d) is not in the output as it came:\n%q\noutput:\n%q", d.number, d.line, d.raw, output)
		}
		rest = rest[at+len(d.raw):]
	}
}
