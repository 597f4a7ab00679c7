package krm_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/mastoscale/mastoscale/internal/krm"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// FuzzKRM: for any input the function either refuses it (not a ResourceList) or answers with
// a ResourceList; when a result is an error, the items come back as they came (the same
// objects, no index annotations added), and a password the functionConfig states is not
// echoed. Seeds: testdata/resourcelist and testdata/fuzz/FuzzKRM.
func FuzzKRM(f *testing.F) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "resourcelist", "*", "input.yaml"))
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
		out, results, err := krm.Run(data)
		if err != nil {
			if len(out) > 0 {
				t.Fatalf("refused, yet wrote %d bytes: %v", len(out), err)
			}
			return
		}
		back, err := yaml.Parse(string(out))
		if err != nil || back.GetKind() != "ResourceList" {
			t.Fatalf("the answer is no ResourceList (%v):\n%s", err, out)
		}
		in, err := yaml.Parse(string(data))
		if err != nil {
			t.Fatalf("the input parsed once, not twice: %v", err)
		}
		// A password of letters and digits is found as it was written, wherever it is: it must
		// be gone from the functionConfig, so the output holds it fewer times than the input.
		if pw := scalar(in, "functionConfig", "spec", "redis", "password"); plainWord.MatchString(pw) &&
			bytes.Count(out, []byte(pw)) >= bytes.Count(data, []byte(pw)) {
			t.Fatalf("the refused password %q is echoed", pw)
		}
		if results.ExitCode() == 0 {
			return
		}
		before, after := items(t, in), items(t, back)
		if len(before) != len(after) {
			t.Fatalf("a failing run changed the items: %d, then %d", len(before), len(after))
		}
		for i := range before {
			if before[i] != after[i] {
				t.Fatalf("a failing run changed item %d:\n%s\nthen:\n%s", i, before[i], after[i])
			}
		}
	})
}

var plainWord = regexp.MustCompile(`^[A-Za-z0-9_-]{6,}$`)

func scalar(n *yaml.RNode, path ...string) string {
	v, err := n.Pipe(yaml.Lookup(path...))
	if err != nil || v == nil || v.YNode().Kind != yaml.ScalarNode {
		return ""
	}
	return v.YNode().Value
}

func items(t *testing.T, rl *yaml.RNode) []string {
	f := rl.Field("items")
	if f == nil || f.Value.YNode().Kind != yaml.SequenceNode {
		return nil
	}
	var out []string
	for _, c := range f.Value.YNode().Content {
		s, err := yaml.NewRNode(c).String()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}
