package postrender

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/utils/ptr"
)

func TestParseSidekiqArgs(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want sidekiqArgs
	}{
		{"chart", []string{"-c", "25", "-q", "default,8", "-q", "pull"},
			sidekiqArgs{concurrency: ptr.To[int32](25), queues: []queueArg{{"default", ptr.To[int32](8)}, {"pull", nil}}}},
		{"long options", []string{"--concurrency=10", "--timeout", "60", "--queue=push,6"},
			sidekiqArgs{concurrency: ptr.To[int32](10), timeout: ptr.To[int32](60), queues: []queueArg{{"push", ptr.To[int32](6)}}}},
		{"config file", []string{"-C", "config/sidekiq.yml"},
			sidekiqArgs{parseErr: "the queues come from a Sidekiq config file (-C), which mastoscale cannot read"}},
		{"no queue", []string{"-c", "5"}, sidekiqArgs{concurrency: ptr.To[int32](5), parseErr: "the command names no queue (-q)"}},
		{"bad weight", []string{"-q", "default,high"}, sidekiqArgs{parseErr: `-q "default,high" has a weight that is not a number`}},
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
