//go:build e2e

package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// The rig checks every rendered output of the project. A golden is any file matching
//
//	**/expected*.yaml (or .yml): the transformers' and the kustomize example's outputs
//	**/testdata/golden/*.yaml: the chart's `helm template` outputs
//	examples/**/*.yaml (or .yml), but kustomize patches (*-patch.yaml)
//
// below the repository root. Only the kinds below are applied; other documents (Services,
// SidekiqLayout inputs, Helm hooks, ...) are counted and left out.
var appliedKinds = map[string]bool{
	"keda.sh/v1alpha1/ScaledObject":          true,
	"keda.sh/v1alpha1/TriggerAuthentication": true,
	"apps/v1/Deployment":                     true,
	"v1/ConfigMap":                           true,
	"v1/Secret":                              true,
	"policy/v1/PodDisruptionBudget":          true,
}

var skipDirs = map[string]bool{".git": true, "vendor": true, "node_modules": true, "bin": true, "dist": true}

// golden is one rendered release: the documents of one file, applied into one namespace.
type golden struct {
	Path    string // relative to the repository root
	Objects []*unstructured.Unstructured
	Skipped map[string]int // kind -> count of documents not applied
}

// repoRoot is the checkout whose goldens are checked: RIG_GOLDEN_ROOT if set (to check another
// checkout, read only), else the directory holding go.mod above the working directory.
func repoRoot() (string, error) {
	if dir := os.Getenv("RIG_GOLDEN_ROOT"); dir != "" {
		return filepath.Abs(dir)
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

var expectedName = regexp.MustCompile(`^expected.*\.ya?ml$`)

// isGolden reports whether rel (slash-separated) is an output the rig must check.
func isGolden(rel string) bool {
	parts := strings.Split(rel, "/")
	base := parts[len(parts)-1]
	if !strings.HasSuffix(base, ".yaml") && !strings.HasSuffix(base, ".yml") {
		return false
	}
	// A kustomize patch (examples/argocd/repo-server-patch.yaml) is a partial object, not a
	// manifest: it is applied by kustomize onto someone else's object.
	if strings.HasSuffix(base, "-patch.yaml") {
		return false
	}
	if parts[0] == "examples" || expectedName.MatchString(base) {
		return true
	}
	n := len(parts)
	return n >= 3 && parts[n-3] == "testdata" && parts[n-2] == "golden"
}

// collectGoldens walks the repository and parses every golden file. A file that does not
// parse is an error: a golden that is not YAML is a broken golden.
func collectGoldens(root string) ([]*golden, error) {
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (skipDirs[d.Name()] || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if isGolden(filepath.ToSlash(rel)) {
			paths = append(paths, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var out []*golden
	var errs []error
	for _, rel := range paths {
		data, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		g, err := parseGolden(rel, data)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", rel, err))
			continue
		}
		out = append(out, g)
	}
	return out, errors.Join(errs...)
}

func parseGolden(rel string, data []byte) (*golden, error) {
	g := &golden{Path: rel, Skipped: map[string]int{}}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, err
		}
		if len(doc) == 0 {
			continue
		}
		g.add(&unstructured.Unstructured{Object: doc})
	}
	return g, nil
}

// add keeps a document of an applied kind, unwrapping List and KRM ResourceList documents.
func (g *golden) add(u *unstructured.Unstructured) {
	kind := u.GetKind()
	if kind == "List" || kind == "ResourceList" {
		items, _, _ := unstructured.NestedSlice(u.Object, "items")
		for _, it := range items {
			if m, ok := it.(map[string]any); ok {
				g.add(&unstructured.Unstructured{Object: m})
			}
		}
		return
	}
	key := u.GetAPIVersion() + "/" + kind
	if !appliedKinds[key] {
		g.Skipped[key]++
		return
	}
	// Annotations the KRM and Helm plumbing may leave are not part of the object.
	if ann := u.GetAnnotations(); ann != nil {
		for k := range ann {
			if strings.HasPrefix(k, "config.kubernetes.io/") || strings.HasPrefix(k, "internal.config.kubernetes.io/") ||
				k == "postrenderer.helm.sh/postrender-filename" {
				delete(ann, k)
			}
		}
		if len(ann) == 0 {
			u.SetAnnotations(nil)
		} else {
			u.SetAnnotations(ann)
		}
	}
	g.Objects = append(g.Objects, u)
}

// namespaceFor names the namespace a golden is applied into: each file gets its own, so two
// goldens that both render "mastodon/mastodon-sidekiq-default" do not collide.
func namespaceFor(i int, rel string) string {
	s := strings.ToLower(rel)
	s = strings.TrimSuffix(strings.TrimSuffix(s, ".yaml"), ".yml")
	s = strings.NewReplacer("/testdata/", "-", "/", "-", "_", "-", ".", "-").Replace(s)
	s = regexp.MustCompile(`[^a-z0-9-]+`).ReplaceAllString(s, "")
	s = regexp.MustCompile(`-+`).ReplaceAllString(s, "-")
	name := fmt.Sprintf("g%02d-%s", i, s)
	if len(name) > 63 {
		name = name[:63]
	}
	return strings.TrimRight(name, "-")
}
