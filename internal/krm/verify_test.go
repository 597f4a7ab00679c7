package krm_test

import (
	"os"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/krm"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// TestVerify breaks the function's output of the split-chart-default case in the ways a build
// goes wrong, and checks that Verify names each.
func TestVerify(t *testing.T) {
	const dir = "testdata/standalone/split-chart-default/"
	l, err := layout.Load(dir + "config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		input string // file the items come from
		edit  func(t *testing.T, items []*yaml.RNode) []*yaml.RNode
		want  []string // substrings, one per problem, in order; none means the output passes
	}{
		{name: "function output", input: dir + "expected.yaml"},
		{
			name:  "function skipped",
			input: dir + "input.yaml",
			want: []string{
				"no ScaledObject: the mastoscale function did not run",
				`worker "default": no Deployment mastodon-sidekiq-default`,
				`worker "ingress": no Deployment`,
				`worker "push-pull": no Deployment`,
				`worker "mailers": no Deployment`,
				`worker "scheduler": no Deployment`,
				"Deployment mastodon-sidekiq-all-queues runs Sidekiq but is no worker of the layout",
			},
		},
		{
			name:  "replicas put back by a later patch",
			input: dir + "expected.yaml",
			edit: func(t *testing.T, items []*yaml.RNode) []*yaml.RNode {
				set(t, find(t, items, "Deployment", "mastodon-sidekiq-ingress"), "3", "spec", "replicas")
				return items
			},
			want: []string{`Deployment mastodon-sidekiq-ingress: spec.replicas: the Deployment is autoscaled, and every helm upgrade or kubectl apply resets it to 3 replicas`},
		},
		{
			name:  "TriggerAuthentication dropped",
			input: dir + "expected.yaml",
			edit: func(t *testing.T, items []*yaml.RNode) []*yaml.RNode {
				return without(items, find(t, items, "TriggerAuthentication", "mastodon-sidekiq-redis"))
			},
			want: []string{
				`ScaledObject mastodon-sidekiq-default: spec.triggers[0].authenticationRef.name: TriggerAuthentication "mastodon-sidekiq-redis" is not in the files linted: the trigger cannot authenticate until it exists (ignore this if it is made elsewhere); 3 other references to it in the files`,
			},
		},
		{
			name:  "a ScaledObject dropped",
			input: dir + "expected.yaml",
			edit: func(t *testing.T, items []*yaml.RNode) []*yaml.RNode {
				return without(items, find(t, items, "ScaledObject", "mastodon-sidekiq-mailers"))
			},
			want: []string{`worker "mailers": no ScaledObject targets Deployment mastodon-sidekiq-mailers`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, err := os.ReadFile(tc.input)
			if err != nil {
				t.Fatal(err)
			}
			items, err := (&kio.ByteReader{Reader: strings.NewReader(string(data)), OmitReaderAnnotations: true}).Read()
			if err != nil {
				t.Fatal(err)
			}
			if tc.edit != nil {
				items = tc.edit(t, items)
			}
			got := krm.Verify(l, items)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(tc.want), strings.Join(got, "\n"))
			}
			for i := range got {
				if !strings.Contains(got[i], tc.want[i]) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func find(t *testing.T, items []*yaml.RNode, kind, name string) *yaml.RNode {
	t.Helper()
	for _, n := range items {
		if n.GetKind() == kind && n.GetName() == name {
			return n
		}
	}
	t.Fatalf("no %s %s", kind, name)
	return nil
}

func set(t *testing.T, n *yaml.RNode, value string, path ...string) {
	t.Helper()
	if err := n.PipeE(yaml.LookupCreate(yaml.ScalarNode, path...), yaml.FieldSetter{StringValue: value}); err != nil {
		t.Fatal(err)
	}
}

func without(items []*yaml.RNode, drop *yaml.RNode) []*yaml.RNode {
	var out []*yaml.RNode
	for _, n := range items {
		if n != drop {
			out = append(out, n)
		}
	}
	return out
}
