package scaler

import (
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var _ = testutil.Update

func TestParseTrigger(t *testing.T) {
	got, err := ParseTrigger(map[string]string{
		"metric": "latency", "deployment": "mastodon-sidekiq-push-pull", "queues": " pull, push,pull ", "target": "30",
		"activationBacklog": "5", "includeDue": "true", "scalerAddress": "mastoscale-scaler:50051", "enableTLS": "true",
	})
	require.NoError(t, err)
	assert.Equal(t, Trigger{Metric: MetricLatency, Deployment: "mastodon-sidekiq-push-pull", Queues: []string{"pull", "push"},
		Target: 30, ActivationBacklog: 5, IncludeDue: true}, got)
	assert.Equal(t, "sidekiq-latency", got.MetricName())

	got, err = ParseTrigger(map[string]string{"metric": "utilization", "deployment": "d", "queues": "default", "target": "0.7"})
	require.NoError(t, err)
	assert.Equal(t, 0.7, got.Target)
	assert.False(t, got.IncludeDue)
	assert.Zero(t, got.ActivationBacklog)
}

func TestParseTriggerErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		md   map[string]string
		want []string
	}{
		"empty": {map[string]string{}, []string{
			"metadata.metric: required", "metadata.deployment: required", "metadata.queues: required", "metadata.target: required",
		}},
		"everything wrong at once": {map[string]string{
			"metric": "p99", "deployment": "d", "queues": ",", "target": "-1", "activationBacklog": "some", "includeDue": "yes please", "listLength": "5",
		}, []string{
			`metadata.metric: "p99" is not a metric: write latency, utilization or backlog`,
			`metadata.queues: required`,
			`metadata.target: "-1" must be a positive number`,
			`metadata.activationBacklog: "some" must be a whole number of jobs`,
			`metadata.includeDue: "yes please" must be "true" or "false"`,
			`metadata.listLength: unknown key: the scaler reads metric, deployment, queues, target, activationBacklog, includeDue (and KEDA's scalerAddress, enableTLS, unsafeSsl)`,
		}},
		"utilization above 1": {map[string]string{"metric": "utilization", "deployment": "d", "queues": "q", "target": "70"}, []string{
			`metadata.target: "70": a utilization target is a fraction of the threads, at most 1`,
		}},
		"not a number": {map[string]string{"metric": "backlog", "deployment": "d", "queues": "q", "target": "NaN"}, []string{
			`metadata.target: "NaN" must be a positive number`,
		}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseTrigger(tc.md)
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Len(t, strings.Split(err.Error(), "\n"), len(tc.want), "one line per problem:\n%v", err)
		})
	}
}
