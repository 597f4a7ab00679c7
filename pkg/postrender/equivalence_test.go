package postrender_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/pkg/postrender"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// perWorkerImages are the charts' workers with images of their own: push-pull runs another
// image, the scheduler is pinned to an older version (issue 14 item 1).
var perWorkerImages = map[string]any{"mastodon": map[string]any{"sidekiq": map[string]any{"workers": []any{
	map[string]any{"name": "default", "concurrency": 25, "replicas": 2, "queues": []any{"default,8", "ingress,4", "mailers,2"}},
	map[string]any{"name": "push-pull", "concurrency": 15, "replicas": 1, "queues": []any{"push,6", "pull", "fasp"},
		"image": map[string]any{"repository": "ghcr.io/glitch-soc/mastodon", "tag": "v4.6.2"}},
	map[string]any{"name": "scheduler", "concurrency": 5, "replicas": 1, "queues": []any{"scheduler"},
		"image": map[string]any{"repository": "ghcr.io/mastodon/mastodon", "tag": "v4.6.1"}},
}}}}

// podDifferences are what a door may change in a chart's Sidekiq pod, and why.
var podDifferences = map[string]string{
	"command":                       "the layout's queues and concurrency (split); attach never changes it",
	"env DB_POOL":                   "the database pool follows -c",
	"terminationGracePeriodSeconds": "above Sidekiq's -t, so a stopping pod requeues before KILL",
}

// TestPodEquivalence compares every Sidekiq pod the post-renderer emits with the official
// chart's own pod for the same values, on both charts rendered by the real helm: the same
// image, env names and their sources, envFrom, volumes and mounts, service account, security
// contexts, resources and scheduling; only podDifferences may differ. Attach keeps each worker's
// pod; split keeps a kept worker's pod (same name) and clones a new worker from a chart worker.
func TestPodEquivalence(t *testing.T) {
	for _, chart := range []string{testutil.LegacyChart, testutil.HelmChartsChart} {
		for _, mode := range []struct {
			name string
			opts postrender.Options
		}{{"attach", postrender.Options{}}, {"split", postrender.Options{Preset: "split"}}} {
			t.Run(chart+"/"+mode.name, func(t *testing.T) {
				input := testutil.HelmTemplate(t, "MASTOSCALE_HELM3", chart, "social", "fedi", perWorkerImages)
				var out bytes.Buffer
				_, err := postrender.Run(bytes.NewReader(input), &out, mode.opts)
				require.NoError(t, err)
				chartPods, emitted := sidekiqPods(t, input), sidekiqPods(t, out.Bytes())
				require.Len(t, chartPods, 3)
				require.NotEmpty(t, emitted)
				for name, pod := range emitted {
					want, kept := chartPods[name]
					if !kept {
						require.Equal(t, "split", mode.name, "attach emitted a worker the chart does not run: %s", name)
						want = closestPod(chartPods, pod)
					}
					assert.Equal(t, comparable(want), comparable(pod), "%s: the pod differs from the chart's beyond %v", name, podDifferences)
				}
				assert.Equal(t, "ghcr.io/mastodon/mastodon:v4.6.1", emitted["social-mastodon-sidekiq-scheduler"]["image"], "the pinned scheduler keeps its version")
				if mode.name == "attach" {
					assert.Equal(t, "ghcr.io/glitch-soc/mastodon:v4.6.2", emitted["social-mastodon-sidekiq-push-pull"]["image"])
				}
			})
		}
	}
}

// sidekiqPods returns, by Deployment name, each Sidekiq Deployment's pod spec flattened to the
// compared fields, with the Sidekiq container's fields at the top.
func sidekiqPods(t *testing.T, stream []byte) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, doc := range strings.Split(string(stream), "\n---\n") {
		var m map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(doc), &m))
		if m["kind"] != "Deployment" {
			continue
		}
		meta, _ := m["metadata"].(map[string]any)
		labels, _ := meta["labels"].(map[string]any)
		component, _ := labels["app.kubernetes.io/component"].(string)
		if !strings.HasPrefix(component, "sidekiq-") {
			continue
		}
		spec := m["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
		pod := map[string]any{}
		for k, v := range spec {
			if k != "containers" {
				pod[k] = v
			}
		}
		c := spec["containers"].([]any)[0].(map[string]any)
		for k, v := range c {
			pod[k] = v
		}
		out[meta["name"].(string)] = pod
	}
	return out
}

// comparable is pod without podDifferences, its env as name -> source.
func comparable(pod map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range pod {
		switch k {
		case "command", "terminationGracePeriodSeconds":
		case "env":
			env := map[string]any{}
			for _, e := range v.([]any) {
				e := e.(map[string]any)
				if e["name"] != "DB_POOL" {
					env[e["name"].(string)] = [2]any{e["value"], e["valueFrom"]}
				}
			}
			out[k] = env
		default:
			out[k] = v
		}
	}
	return out
}

// closestPod is the chart's pod with the same image: a new worker of split is cloned from a
// chart worker, whose pod it keeps.
func closestPod(chart map[string]map[string]any, pod map[string]any) map[string]any {
	for _, p := range chart {
		if p["image"] == pod["image"] && p["name"] == pod["name"] {
			return p
		}
	}
	return nil
}
