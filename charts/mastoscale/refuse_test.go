package chart_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"testing"

	"github.com/mastoscale/mastoscale/internal/chartvalues"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chart"
)

// edit is one hand edit of a values tree; it reports what it did.
type edit func(r *rand.Rand, v map[string]any) string

// edits are the single edits a user might make to sealed values; the chart must refuse each.
var edits = map[string]edit{
	"change a number": func(r *rand.Rand, v map[string]any) string {
		path, set := pickLeaf(r, v, func(x any) bool { _, ok := x.(float64); return ok })
		set(func(x any) any { return x.(float64) + 1 })
		return "incremented " + path
	},
	"change a string": func(r *rand.Rand, v map[string]any) string {
		path, set := pickLeaf(r, v, func(x any) bool { _, ok := x.(string); return ok })
		set(func(x any) any { return x.(string) + "x" })
		return "changed " + path
	},
	"drop a key": func(r *rand.Rand, v map[string]any) string {
		maps := collectMaps(v, "")
		paths := make([]string, 0, len(maps))
		for p := range maps {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		path := paths[r.IntN(len(paths))]
		m := maps[path]
		var keys []string
		for _, k := range sortedMapKeys(m) {
			if path != "" || k != chartvalues.SealKey { // dropping the seal is the "missing" case
				keys = append(keys, k)
			}
		}
		k := keys[r.IntN(len(keys))]
		delete(m, k)
		return "dropped " + path + "." + k
	},
	"add a worker": func(_ *rand.Rand, v map[string]any) string {
		workers := v["workers"].([]any)
		w := deepCopy(workers[0]).(map[string]any)
		w["name"] = "extra"
		v["workers"] = append(workers, w)
		return "added worker extra"
	},
}

// pickLeaf chooses a leaf of v matching ok (never the seal) and returns its path and a
// function that replaces it.
func pickLeaf(r *rand.Rand, v map[string]any, ok func(any) bool) (string, func(func(any) any)) {
	type leaf struct {
		path string
		set  func(func(any) any)
	}
	var leaves []leaf
	var walk func(x any, path string, set func(func(any) any))
	walk = func(x any, path string, set func(func(any) any)) {
		switch t := x.(type) {
		case map[string]any:
			for _, k := range sortedMapKeys(t) {
				if path == "" && k == chartvalues.SealKey {
					continue
				}
				walk(t[k], path+"."+k, func(f func(any) any) { t[k] = f(t[k]) })
			}
		case []any:
			for i := range t {
				walk(t[i], fmt.Sprintf("%s[%d]", path, i), func(f func(any) any) { t[i] = f(t[i]) })
			}
		default:
			if ok(x) {
				leaves = append(leaves, leaf{path, set})
			}
		}
	}
	walk(v, "", nil)
	l := leaves[r.IntN(len(leaves))]
	return l.path, l.set
}

func collectMaps(x any, path string) map[string]map[string]any {
	out := map[string]map[string]any{}
	switch t := x.(type) {
	case map[string]any:
		if len(t) > 0 {
			out[path] = t
		}
		for k, e := range t {
			for p, m := range collectMaps(e, path+"."+k) {
				out[p] = m
			}
		}
	case []any:
		for i, e := range t {
			for p, m := range collectMaps(e, fmt.Sprintf("%s[%d]", path, i)) {
				out[p] = m
			}
		}
	}
	return out
}

func sortedMapKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func deepCopy(x any) any {
	data, err := json.Marshal(x)
	if err != nil {
		panic(err)
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		panic(err)
	}
	return out
}

// assertRefused checks that the chart refuses vals (which are what edited says) with a
// message containing each of want.
func assertRefused(t testing.TB, c *chart.Chart, vals map[string]any, edited string, want ...string) {
	t.Helper()
	_, err := install(c, vals, "default")
	if !assert.Error(t, err, "the chart rendered values it must refuse: %s", edited) {
		return
	}
	for _, w := range want {
		assert.Contains(t, err.Error(), w, edited)
	}
}

// unsealedSpec is a layout's spec defaulted by layout.Default, as a user could write it by
// hand: a values file without a seal.
func unsealedSpec(t testing.TB, l *layout.SidekiqLayout) map[string]any {
	t.Helper()
	data, err := json.Marshal(layout.Default(layout.Clone(l)).Spec)
	require.NoError(t, err)
	return helmValues(t, data)
}

// TestRefusesEveryEdit: from the sealed values of each test layout, every kind of single
// edit, drawn at several places, is refused with the seal's message.
func TestRefusesEveryEdit(t *testing.T) {
	c := loadChart(t)
	files, err := filepath.Glob(filepath.Join("testdata", "layouts", "*.yaml"))
	require.NoError(t, err)
	r := rand.New(rand.NewPCG(13, 1))
	for _, file := range files {
		l, err := layout.Load(file)
		require.NoError(t, err)
		sealed := helmValues(t, valuesFile(t, l))
		for _, name := range sortedEditNames() {
			for i := range 3 {
				v := deepCopy(sealed).(map[string]any)
				did := edits[name](r, v)
				t.Run(fmt.Sprintf("%s/%s/%d", caseName(file), name, i), func(t *testing.T) {
					assertRefused(t, c, v, did, sealEdited, regenerate)
				})
			}
		}
	}
}

func sortedEditNames() []string {
	names := make([]string, 0, len(edits))
	for n := range edits {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// TestRefusals: what the chart refuses on its own, each with a message that says why and
// what to do.
func TestRefusals(t *testing.T) {
	c := loadChart(t)
	l, err := layout.Load(filepath.Join("testdata", "layouts", "zeros.yaml"))
	require.NoError(t, err)
	sealed := func() map[string]any { return helmValues(t, valuesFile(t, l)) }
	t.Run("no values", func(t *testing.T) { assertRefused(t, c, map[string]any{}, "no values", sealMissing, regenerate) })
	t.Run("defaulted spec without a seal", func(t *testing.T) {
		assertRefused(t, c, unsealedSpec(t, l), "no seal", sealMissing, regenerate)
	})
	t.Run("deployments", func(t *testing.T) {
		v := sealed()
		v["deployments"] = map[string]any{"enabled": true}
		assertRefused(t, c, v, "deployments added", "deployments: removed", "mastodon.sidekiq.workers", "mastoscale post-render", sealEdited)
	})
	t.Run("values of chart 0.1", func(t *testing.T) {
		// What chart-values wrote before the seal: an undefaulted spec and deployments.
		v := helmValues(t, []byte("deployments: {enabled: false}\nworkers:\n- name: default\n  queues: [{name: default}]\n  autoscale: {latencyTrigger: {serverAddress: 'http://p:9090', targetSeconds: 30}}\n"))
		assertRefused(t, c, v, "chart 0.1 values", "values refused (2)", "deployments: removed", sealMissing)
	})
	t.Run("a seal that is not one", func(t *testing.T) {
		v := sealed()
		v["seal"] = "sha256:x"
		assertRefused(t, c, v, "bad seal", "seal")
	})
	t.Run("unknown key", func(t *testing.T) {
		// The schema refuses structure it does not know before any template runs.
		v := sealed()
		v["redis"].(map[string]any)["password"] = "hunter2"
		assertRefused(t, c, v, "redis.password", "password")
	})
	t.Run("global is not sealed", func(t *testing.T) {
		// An umbrella chart passes its global values to every subchart.
		v := sealed()
		v["global"] = map[string]any{"imageRegistry": "example.org"}
		_, err := install(c, v, "default")
		assert.NoError(t, err)
	})
}
