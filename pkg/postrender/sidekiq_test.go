package postrender

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

func TestParseSidekiqArgs(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want Sidekiq
	}{
		{"chart", []string{"-c", "25", "-q", "default,8", "-q", "pull"},
			Sidekiq{ConcurrencyFlag: ptr.To[int32](25), Queues: []Queue{{"default", ptr.To[int32](8)}, {"pull", nil}}}},
		{"long options", []string{"--concurrency=10", "--timeout", "60", "--queue=push,6"},
			Sidekiq{ConcurrencyFlag: ptr.To[int32](10), Timeout: ptr.To[int32](60), Queues: []Queue{{"push", ptr.To[int32](6)}}}},
		{"config file", []string{"-C", "config/sidekiq.yml"},
			Sidekiq{Err: "the queues come from a Sidekiq config file (-C), which mastoscale cannot read"}},
		{"no queue", []string{"-c", "5"}, Sidekiq{ConcurrencyFlag: ptr.To[int32](5), Err: "the command names no queue (-q)"}},
		{"bad weight", []string{"-q", "default,high"}, Sidekiq{Err: `-q "default,high" has a weight that is not a number`}},
		{"weight zero is unweighted", []string{"-q", "default,0"}, Sidekiq{Queues: []Queue{{"default", nil}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, parseSidekiqArgs(tc.args))
		})
	}
}

func TestSidekiqIndex(t *testing.T) {
	assert.Equal(t, 2, sidekiqIndex([]string{"bundle", "exec", "sidekiq", "-c", "5"}))
	assert.Equal(t, 0, sidekiqIndex([]string{"sidekiq"}))
	assert.Equal(t, -1, sidekiqIndex([]string{"bundle", "exec", "puma"}))
	assert.Equal(t, -1, sidekiqIndex([]string{"echo", "sidekiq"}))
}

// TestSidekiqCommand reads Sidekiq from command, from args, and behind `sh -c`; without -c the
// thread count is SIDEKIQ_CONCURRENCY, else Mastodon's 5.
func TestSidekiqCommand(t *testing.T) {
	for _, tc := range []struct {
		name, container string
		env             map[string]EnvVar
		shell           bool
		concurrency     int32
		from            string
		queues          []Queue
	}{
		{"command", `{command: [bundle, exec, sidekiq, -c, "25", -q, default]}`, nil, false, 25, "-c", []Queue{{Name: "default"}}},
		{"args", `{command: [bundle, exec], args: [sidekiq, -q, push]}`, nil, false, 5, "Mastodon's default without -c or SIDEKIQ_CONCURRENCY", []Queue{{Name: "push"}}},
		{"shell", `{command: [/bin/sh, -c, "bundle exec sidekiq -c 12 -q 'pull' && echo done"]}`, nil, true, 12, "-c", []Queue{{Name: "pull"}}},
		{"env", `{command: [bundle, exec, sidekiq, -q, mailers]}`,
			map[string]EnvVar{EnvSidekiqConcurrency: {Value: "8", Literal: true, From: "ConfigMap env"}}, false, 8, "SIDEKIQ_CONCURRENCY (ConfigMap env)", []Queue{{Name: "mailers"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ok := sidekiqCommand(yaml.MustParse(tc.container))
			assert.True(t, ok)
			s.resolveConcurrency(tc.env)
			assert.Equal(t, tc.shell, s.Shell)
			assert.Equal(t, tc.concurrency, s.Concurrency)
			assert.Equal(t, tc.from, s.ConcurrencyFrom)
			assert.Equal(t, tc.queues, s.Queues)
		})
	}
	_, ok := sidekiqCommand(yaml.MustParse(`{command: [bundle, exec, puma]}`))
	assert.False(t, ok)
}
