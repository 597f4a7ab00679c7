package render_test

import (
	"strings"
	"testing"

	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/render"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func resolveDoc(t *testing.T, doc string) *layout.Layout {
	t.Helper()
	l, err := layout.Parse([]byte(doc))
	require.NoError(t, err)
	r, _, err := layout.Resolve(l)
	require.NoError(t, err)
	return r
}

const scalerLayout = `apiVersion: mastoscale.dev/v1alpha1
kind: SidekiqLayout
metadata: {name: mastodon, namespace: social}
spec:
  mastodonVersion: "4.3"
  redis:
    host: redis.internal
    port: 6380
    databaseIndex: 2
    tls: {enabled: true}
    namespace: mastodon
    auth: {secretName: redis-creds, passwordKey: password, usernameKey: user}
  scaler:
    image: registry.example.org/mastoscale-scaler:v1
    tls: {clientSecretName: keda-to-scaler, serverSecretName: scaler-tls}
  workers:
    - name: all
      queues: [{name: default}, {name: ingress}, {name: push}, {name: pull}, {name: mailers}]
      autoscale: {scaler: sidekiq, minReplicas: 0, activationListLength: 3, includeDue: true}
    - name: scheduler
      replicas: 1
      queues: [{name: scheduler}]
`

// The scaler reaches the Redis the workers use: TLS, database, REDIS_NAMESPACE, the ACL user
// from the Secret through Kubernetes' $(VAR) expansion, and its own gRPC TLS files.
func TestScalerArgs(t *testing.T) {
	l := resolveDoc(t, scalerLayout)
	assert.Equal(t, []string{
		"--redis", "rediss://$(MASTOSCALE_REDIS_USERNAME)@redis.internal:6380/2", "--listen", ":50051",
		"--namespace", "mastodon",
		"--grpc-tls-cert-file", "/etc/mastoscale-scaler/tls/tls.crt", "--grpc-tls-key-file", "/etc/mastoscale-scaler/tls/tls.key",
		"--grpc-client-ca-file", "/etc/mastoscale-scaler/tls/ca.crt",
	}, render.ScalerArgs(l))

	s, err := render.Render(l)
	require.NoError(t, err)
	assert.Nil(t, s.TriggerAuthentication, "no redis trigger reads the password: no Redis TriggerAuthentication")
	require.NotNil(t, s.Scaler)
	require.NotNil(t, s.Scaler.Deployment)
	c := s.Scaler.Deployment.Spec.Template.Spec.Containers[0]
	require.Len(t, c.Env, 2)
	assert.Equal(t, "MASTOSCALE_REDIS_USERNAME", c.Env[0].Name, "declared before the args that expand it")
	assert.Equal(t, "user", c.Env[0].ValueFrom.SecretKeyRef.Key)
	assert.Equal(t, "password", c.Env[1].ValueFrom.SecretKeyRef.Key)
	assert.NotNil(t, c.ReadinessProbe.TCPSocket, "Kubernetes' gRPC probe speaks no TLS")
	assert.Nil(t, s.Scaler.PodDisruptionBudget, "one replica: a budget would only block drains")
	require.NotNil(t, s.Scaler.TriggerAuthentication)

	require.Len(t, s.ScaledObjects, 1)
	tr := s.ScaledObjects[0].Spec.Triggers
	require.Len(t, tr, 1, "no latencyTarget, no utilizationTarget: the backlog alone")
	assert.Equal(t, "external-push", tr[0].Type, "a sleeping worker is woken by StreamIsActive")
	assert.Equal(t, "mastodon-mastoscale-scaler.social.svc:50051", tr[0].Metadata["scalerAddress"])
	assert.Equal(t, "default,ingress,push,pull,mailers", tr[0].Metadata["queues"])
	assert.Equal(t, "3", tr[0].Metadata["activationBacklog"])
	assert.Equal(t, "true", tr[0].Metadata["includeDue"])
	assert.Equal(t, "mastodon-mastoscale-scaler", tr[0].AuthenticationRef.Name)
}

// A scaler that already runs elsewhere (spec.scaler.address) renders only the triggers.
func TestScalerElsewhere(t *testing.T) {
	doc := strings.Replace(scalerLayout, "    image: registry.example.org/mastoscale-scaler:v1\n", "    address: 10.0.0.7:9000\n", 1)
	doc = strings.Replace(doc, ", serverSecretName: scaler-tls", "", 1)
	s, err := render.Render(resolveDoc(t, doc))
	require.NoError(t, err)
	assert.Nil(t, s.Scaler.Deployment)
	assert.Nil(t, s.Scaler.Service)
	assert.Equal(t, "10.0.0.7:9000", s.ScaledObjects[0].Spec.Triggers[0].Metadata["scalerAddress"])
	assert.Len(t, s.Objects(), 2, "the ScaledObject and the scaler's TriggerAuthentication")
}
