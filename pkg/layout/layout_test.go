package layout_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInvalidCorpus checks that each bad layout yields exactly the errors its errors.txt lists
// (one regexp a line, each matching a different error): every problem, and nothing else.
func TestInvalidCorpus(t *testing.T) {
	dirs, err := filepath.Glob("testdata/invalid/*")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(dirs), 20, "the bad-input corpus must hold at least 20 layouts")
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			l, err := layout.Load(filepath.Join(dir, "layout.yaml"))
			require.NoError(t, err)
			_, report := layout.Prepare(l)
			var got []string
			for _, e := range report.Errors() {
				got = append(got, e.String())
			}
			raw, err := os.ReadFile(filepath.Join(dir, "errors.txt"))
			require.NoError(t, err)
			patterns := strings.Split(strings.TrimSpace(string(raw)), "\n")
			assert.Len(t, got, len(patterns), "errors:\n%s", strings.Join(got, "\n"))
			matched := make([]bool, len(got))
			for _, p := range patterns {
				re := regexp.MustCompile(p)
				found := false
				for i, e := range got {
					if !matched[i] && re.MatchString(e) {
						matched[i], found = true, true
						break
					}
				}
				assert.True(t, found, "no error matches %q; errors:\n%s", p, strings.Join(got, "\n"))
			}
		})
	}
}

func TestParseIsStrict(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{
			name: "unknown field with its line",
			doc: `apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
spec:
  workers:
    - name: default
      queue: [default]
`,
			want: []string{`line 6: unknown field "spec.workers[0].queue"`},
		},
		{
			name: "every unknown field",
			doc: `apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
spec:
  redis:
    hostname: redis
  workers:
    - name: default
      autoscale:
        maxReplica: 4
`,
			want: []string{`line 5: unknown field "spec.redis.hostname"`, `line 9: unknown field "spec.workers[0].autoscale.maxReplica"`},
		},
		{
			name: "duplicate field",
			doc: `apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
spec:
  workers: []
  workers: []
`,
			want: []string{`line 5: duplicate field "spec.workers"`},
		},
		{
			name: "wrong type",
			doc: `apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
spec:
  workers:
    - name: default
      concurrency: lots
`,
			want: []string{`cannot unmarshal string into Go struct field`},
		},
		{name: "empty", doc: "", want: []string{"the document is empty"}},
		{name: "not a mapping", doc: "- a\n- b\n", want: []string{"line 1: a layout is a mapping"}},
		{
			name: "two documents",
			doc:  "apiVersion: mastoscale.dev/v1alpha1\nkind: SidekiqLayout\n---\nkind: Other\n",
			want: []string{"line 4: a layout file holds one document"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := layout.Parse([]byte(tt.doc))
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestLoadNamesTheFile(t *testing.T) {
	_, err := layout.Load("testdata/does-not-exist.yaml")
	assert.ErrorContains(t, err, "does-not-exist.yaml")
	path := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(path, []byte("apiVersion: x\nkind: z\nspek: {}\n"), 0o644))
	_, err = layout.Load(path)
	assert.ErrorContains(t, err, path+`: parsing layout: line 3: unknown field "spek"`)
}

func TestDefaultIsExplicitAndIdempotent(t *testing.T) {
	l, err := layout.Parse([]byte(`apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
spec:
  workers:
    - name: default
      queues: [{name: default}]
      autoscale: {}
    - name: rest
      queues: [{name: push}, {name: ingress}, {name: mailers}, {name: pull}, {name: scheduler}, {name: fasp}]
`))
	require.NoError(t, err)
	d := layout.Default(layout.Clone(l))
	assert.Equal(t, "4.6", d.Spec.MastodonVersion)
	assert.Equal(t, "mastodon", d.Spec.Release.Name)
	assert.Equal(t, "mastodon", d.Spec.Release.Fullname)
	assert.Equal(t, "mastodon-redis-master", d.Spec.Redis.Host)
	assert.EqualValues(t, 6379, *d.Spec.Redis.Port)
	assert.Equal(t, &layout.RedisAuth{SecretName: "mastodon-redis", PasswordKey: "redis-password", TriggerAuthenticationName: "mastodon-sidekiq-redis"}, d.Spec.Redis.Auth)
	a := d.Spec.Workers[0].Autoscale
	assert.EqualValues(t, 25, *d.Spec.Workers[0].Concurrency)
	assert.EqualValues(t, 1, *a.MinReplicas)
	assert.EqualValues(t, 4, *a.MaxReplicas)
	assert.EqualValues(t, 1500, *a.ListLength)
	assert.EqualValues(t, 30, *a.PollingInterval)
	assert.EqualValues(t, 300, *a.CooldownPeriod)
	assert.EqualValues(t, 3, *a.Fallback.FailureThreshold)
	assert.EqualValues(t, 2, *a.Fallback.Replicas)
	assert.Nil(t, a.ActivationListLength, "KEDA's own default (0) applies; nothing is rendered")
	assert.EqualValues(t, 300, *a.Behavior.ScaleUp.StabilizationWindowSeconds)
	assert.EqualValues(t, 30, *d.Spec.Workers[0].TerminationGracePeriodSeconds)
	assert.EqualValues(t, 1, *d.Spec.Workers[1].Replicas, "a worker without autoscale runs one replica")
	assert.Nil(t, d.Spec.Workers[1].Autoscale)

	again := layout.Default(layout.Clone(d))
	assert.Equal(t, d, again)
	assert.Nil(t, l.Spec.Workers[0].Concurrency, "Clone+Default leaves the parsed layout alone")
}

func TestDefaultKeepsWhatTheUserSet(t *testing.T) {
	l, err := layout.Parse([]byte(`apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
spec:
  release: {name: social, chart: mastodon/helm-charts}
  redis: {address: "redis:6380", auth: {secretName: s, passwordKey: k, triggerAuthenticationName: ta}}
  workers:
    - name: mailers
      concurrency: 5
      timeout: 60
      queues: [{name: mailers}]
      autoscale: {minReplicas: 0, maxReplicas: 2, fallback: {disabled: true}}
`))
	require.NoError(t, err)
	d := layout.Default(l)
	assert.Equal(t, "social-mastodon", d.Spec.Release.Fullname)
	assert.Empty(t, d.Spec.Redis.Host)
	assert.Nil(t, d.Spec.Redis.Port)
	assert.Equal(t, "ta", d.Spec.Redis.Auth.TriggerAuthenticationName)
	w := d.Spec.Workers[0]
	assert.EqualValues(t, 0, *w.Autoscale.MinReplicas, "an explicit 0 is not 'unset'")
	assert.EqualValues(t, 65, *w.TerminationGracePeriodSeconds)
	assert.Nil(t, w.Autoscale.Fallback.Replicas)
}

func TestPresetsAreValidForEveryVersion(t *testing.T) {
	for _, name := range layout.Presets {
		for _, v := range []string{"3.3", "3.5", "4.0", "4.2", "4.3", "4.4", "4.5", "4.6"} {
			t.Run(name+"/"+v, func(t *testing.T) {
				ver, err := layout.ParseMastodonVersion(v)
				require.NoError(t, err)
				l, err := layout.Preset(name, ver)
				require.NoError(t, err)
				_, report := layout.Prepare(l)
				assert.Empty(t, report.Errors())
				assert.Empty(t, report.Warnings())
			})
		}
	}
	_, err := layout.Preset("fast", layout.DefaultMastodonVersion)
	assert.ErrorContains(t, err, "unknown preset")
}

func TestSplitPresetMatchesExample(t *testing.T) {
	want, err := layout.Load("../../examples/split.yaml")
	require.NoError(t, err)
	got, err := layout.Preset(layout.PresetSplit, layout.DefaultMastodonVersion)
	require.NoError(t, err)
	wd, _ := layout.Prepare(want)
	gd, _ := layout.Prepare(got)
	assert.Equal(t, wd, gd, "examples/split.yaml documents the split preset")
}

func TestWarnings(t *testing.T) {
	l, err := layout.Preset(layout.PresetSplit, layout.MastodonVersion{Major: 4, Minor: 7})
	require.NoError(t, err)
	l.Spec.Workers[0].Concurrency = new(int32)
	*l.Spec.Workers[0].Concurrency = 40
	l.Spec.Workers[1].Queues = append(l.Spec.Workers[1].Queues, layout.Queue{Name: "default"})
	l.Spec.Workers[2].Autoscale.Fallback = &layout.Fallback{Replicas: new(int32)}
	*l.Spec.Workers[2].Autoscale.Fallback.Replicas = 9
	_, report := layout.Prepare(l)
	assert.Empty(t, report.Errors())
	var got []string
	for _, w := range report.Warnings() {
		got = append(got, w.String())
	}
	assert.Len(t, got, 4, strings.Join(got, "\n"))
	assert.Contains(t, strings.Join(got, "\n"), `spec.mastodonVersion: Invalid value: "4.7": queues of Mastodon 4.7 are not known`)
	assert.Contains(t, strings.Join(got, "\n"), `spec.workers[0].concurrency: 40 threads: Sidekiq gains little beyond 30 threads`)
	assert.Contains(t, strings.Join(got, "\n"), `spec.workers[1].queues[1]: queue "default" is consumed by several workers`)
	assert.Contains(t, strings.Join(got, "\n"), `spec.workers[2].autoscale.fallback.replicas: Invalid value: 9: is above maxReplicas (4)`)
}

func TestConnectionBudget(t *testing.T) {
	l, err := layout.Load("../../examples/separate-redis.yaml")
	require.NoError(t, err)
	d, _, err := layout.Resolve(l)
	require.NoError(t, err)
	b := layout.ConnectionBudget(d.Workers, d.Database)
	assert.Equal(t, []layout.BudgetRow{
		{Worker: "default", Replicas: 6, Concurrency: 20, Connections: 120},
		{Worker: "ingress", Replicas: 4, Concurrency: 20, Connections: 80},
		{Worker: "mailers", Replicas: 2, Concurrency: 5, Connections: 10},
		{Worker: "scheduler", Replicas: 1, Concurrency: 5, Connections: 5},
	}, b.Rows)
	assert.EqualValues(t, 215, b.Sidekiq)
	assert.EqualValues(t, 275, b.Total)
	assert.True(t, b.Fits())
	testutil.Golden(t, "testdata/budget.txt", []byte(b.String()))
}

// TestREADMELayout keeps the layout shown in README.md valid: the docs are a test case.
func TestREADMELayout(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	text := string(readme)
	start := strings.Index(text, "```yaml\napiVersion: mastoscale.dev/v1alpha1")
	require.GreaterOrEqual(t, start, 0, "README.md shows a layout")
	block := text[start+len("```yaml\n"):]
	block = block[:strings.Index(block, "```")]
	l, err := layout.Parse([]byte(block))
	require.NoError(t, err)
	_, report := layout.Prepare(l)
	assert.Empty(t, report.Errors())
	// The one warning a valid layout keeps: a worker scaled to zero shows as "no process" in
	// Mastodon's dashboard while it sleeps.
	for _, w := range report.Warnings() {
		assert.Contains(t, w.Message, "sleeps while its queues are empty", "unexpected warning")
	}
}
