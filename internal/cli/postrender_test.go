package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sigsyaml "sigs.k8s.io/yaml"
)

func release(t *testing.T) []byte {
	data, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "pkg", "postrender", "testdata", "cases", "error-attach-chart-default", "input.yaml"))
	require.NoError(t, err)
	return data
}

// TestPostRenderCommand: every run writes its findings to the log (Helm 3 drops a succeeding
// post-renderer's stderr, Helm 4 a plugin's always), and attach on the chart's default values,
// which would autoscale nothing, fails saying what to do.
func TestPostRenderCommand(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		env        map[string]string
		code       int
		stderr     string // a substring of stderr
		logged     string // a substring of the log file, "" for no log file
		scaledObjs int
	}{
		{name: "attach autoscales nothing", args: nil, code: 1,
			stderr: `warning: spec.workers[0].queues: worker "all-queues" consumes "scheduler" and other queues`,
			logged: `nothing to autoscale: its workers ("all-queues") all consume "scheduler", which must run in one process: split the queues with --preset split`},
		{name: "attach warning names the chart value", args: nil, code: 1,
			logged: `(Deployment mastodon-sidekiq-all-queues; chart value mastodon.sidekiq.workers[0].queues)`},
		{name: "preset", args: []string{"--preset", "split"}, scaledObjs: 4, logged: "ok: no findings"},
		{name: "preset for another version", args: []string{"--preset", "split", "--mastodon-version", "4.3"}, code: 1,
			stderr: `consumes queue "fasp", which no worker of the layout consumes`, logged: `error: `},
		{name: "unknown preset", args: []string{"--preset", "nope"}, code: 1, stderr: "the findings are also in", logged: `error: unknown preset "nope"`},
		{name: "file and preset", args: []string{"--preset", "split", "-f", "x.yaml"}, code: 1, stderr: "give --file or --preset, not both", logged: "error: "},
		{name: "log turned off", env: map[string]string{findingsLogEnv: "off"}, args: []string{"--preset", "split"}, scaledObjs: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state := t.TempDir()
			env := map[string]string{"XDG_STATE_HOME": state}
			for k, v := range tc.env {
				env[k] = v
			}
			var stdout, stderr bytes.Buffer
			code := Run(append([]string{"post-render"}, tc.args...), Streams{In: bytes.NewReader(release(t)), Out: &stdout, ErrOut: &stderr, Getenv: getenv(env)})
			assert.Equal(t, tc.code, code, stderr.String())
			assert.Contains(t, stderr.String(), tc.stderr)
			if tc.code != 0 {
				assert.Zero(t, stdout.Len(), "a failed post-render writes nothing on stdout")
			} else {
				assert.Equal(t, tc.scaledObjs, strings.Count(stdout.String(), "kind: ScaledObject"))
			}
			log, err := os.ReadFile(filepath.Join(state, "mastoscale", "post-render.log"))
			if tc.logged == "" {
				assert.True(t, os.IsNotExist(err), "no log file")
				return
			}
			require.NoError(t, err)
			assert.Contains(t, string(log), tc.logged)
		})
	}
}

// TestPostRenderFindingsLogEnv: MASTOSCALE_FINDINGS_LOG names the log file (Helm passes its
// environment to the post-renderer, so it reaches the Helm 3 binary and the Helm 4 plugin).
func TestPostRenderFindingsLogEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), "findings.log")
	var stdout, stderr bytes.Buffer
	code := Run([]string{"post-render", "--preset", "split"}, Streams{In: bytes.NewReader(release(t)), Out: &stdout, ErrOut: &stderr, Getenv: getenv(map[string]string{findingsLogEnv: path})})
	require.Zero(t, code, stderr.String())
	log, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(log), "ok: no findings")
}

func TestPostRenderFindingsLogFlag(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "post-render.log")
	var stdout, stderr bytes.Buffer
	code := Run([]string{"post-render", "--findings-log", path}, Streams{In: strings.NewReader("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"), Out: &stdout, ErrOut: &stderr})
	assert.Equal(t, 1, code)
	assert.Zero(t, stdout.Len())
	log, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(log), "error: no Sidekiq Deployment found")
}

// getenv is an environment of the variables given, for Streams.Getenv.
func getenv(vars map[string]string) func(string) string {
	return func(key string) string { return vars[key] }
}

// TestPostRenderCheckJSONAndList: post-render reads a `kind: List` (here JSON, as kubectl
// get -o json writes it) like a stream, and --check compares with a committed file in YAML or
// in JSON alike.
func TestPostRenderCheckJSONAndList(t *testing.T) {
	var items []json.RawMessage
	for _, doc := range strings.Split(string(release(t)), "\n---\n") {
		js, err := sigsyaml.YAMLToJSON([]byte(doc))
		require.NoError(t, err)
		if string(js) != "null" {
			items = append(items, js)
		}
	}
	list, err := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
	require.NoError(t, err)
	run := func(in []byte, args ...string) (int, string) {
		var out, errOut bytes.Buffer
		code := Run(append([]string{"post-render", "--preset", "split"}, args...), Streams{In: bytes.NewReader(in), Out: &out, ErrOut: &errOut})
		return code, out.String() + errOut.String()
	}
	dir := t.TempDir()
	committed := filepath.Join(dir, "rendered.yaml")
	code, out := run(release(t), "--write", committed)
	require.Zero(t, code, out)
	code, out = run(list, "--check", committed)
	assert.Zero(t, code, "the List's post-rendering is the stream's:\n%s", out)
	assert.Contains(t, out, "is up to date")

	fromList := filepath.Join(dir, "from-list.yaml")
	code, out = run(list, "--write", fromList)
	require.Zero(t, code, out)
	written, err := os.ReadFile(fromList)
	require.NoError(t, err)
	assert.Contains(t, string(written), "kind: List", "a List comes back as a List")
	committedJSON := filepath.Join(dir, "rendered.json")
	asJSON, err := sigsyaml.YAMLToJSON(written)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(committedJSON, asJSON, 0o644))
	code, out = run(release(t), "--check", committedJSON)
	assert.Zero(t, code, "a JSON committed file checks against the stream's output:\n%s", out)
}

// TestPostRenderHelpDescribesAttach: the help says what attach is and does, and what it says
// holds: a -f layout without workers or preset attaches too (the chart's commands stay).
func TestPostRenderHelpDescribesAttach(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Zero(t, Run([]string{"post-render", "--help"}, Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}), errOut.String())
	help := strings.Join(strings.Fields(out.String()), " ")
	assert.NotContains(t, help, "Without -f or --preset it attaches", "a -f layout without workers attaches too")
	assert.NotContains(t, help, `(default "split" when no file is given)`, "without -f or --preset post-render attaches")
	assert.NotContains(t, help, fmt.Sprintf("(default %q)", layout.DefaultMastodonVersion.String()), "a preset is built for the release's version")
	for _, want := range []string{
		"Attach is the default: without --preset, and with no -f or a -f layout that lists no spec.workers and names no spec.preset",
		"keeps its Deployment, image and command",
		"terminationGracePeriodSeconds is raised above Sidekiq's -t",
		"DB_POOL is set to -c where it is lower",
		"strategy Recreate",
		"Split is --preset or a layout listing spec.workers",
		"(default none: attach to the chart's workers)",
		"Mastodon version of a preset (default the version the release runs)",
	} {
		assert.Contains(t, help, want)
	}

	input, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "pkg", "postrender", "testdata", "cases", "attach-split-workers", "input.yaml"))
	require.NoError(t, err)
	dir := t.TempDir()
	redisOnly := filepath.Join(dir, "redis.yaml")
	require.NoError(t, os.WriteFile(redisOnly, []byte("apiVersion: mastoscale.dev/v1alpha1\nkind: SidekiqLayout\nspec:\n  database: {reserved: 10}\n"), 0o600))
	var stdout, stderr bytes.Buffer
	code := Run([]string{"post-render", "-f", redisOnly, "--findings-log", "off"}, Streams{In: bytes.NewReader(input), Out: &stdout, ErrOut: &stderr})
	require.Zero(t, code, stderr.String())
	assert.Contains(t, stdout.String(), `"push,6"`, "attach keeps the chart's command")
	assert.Contains(t, stdout.String(), "name: mastodon-sidekiq-push-pull")
	assert.Contains(t, stdout.String(), "kind: ScaledObject")
}
