//go:build e2e

package e2e

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// The platform must be able to say no: each case is a valid object that is admitted, and a
// broken twin that is rejected with the reason the platform gives.

const negDeployment = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: sidekiq-default}
spec:
  selector: {matchLabels: {app: sidekiq}}
  template:
    metadata: {labels: {app: sidekiq}}
    spec:
      containers:
        - {name: sidekiq, image: ghcr.io/mastodon/mastodon:v4.5.2, command: [bundle, exec, sidekiq, -c, "25", -q, "default,8"]}
`

const negScaledObject = `
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: sidekiq-default}
spec:
  scaleTargetRef: {name: sidekiq-default}
  minReplicaCount: 1
  maxReplicaCount: 4
  triggers:
    - type: redis
      metadata: {address: "REDIS_ADDRESS", listName: "queue:default", listLength: "1500"}
`

func mustObj(t *testing.T, ns, doc string, edit func(u *unstructured.Unstructured)) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	doc = strings.ReplaceAll(doc, "REDIS_ADDRESS", platform.Redis.Addr)
	require.NoError(t, yaml.Unmarshal([]byte(doc), &u.Object))
	u.SetNamespace(ns)
	if edit != nil {
		edit(u)
	}
	return u
}

func requireRejected(t *testing.T, err error, reason ...string) {
	t.Helper()
	require.Error(t, err, "the platform admitted an invalid object")
	for _, r := range reason {
		require.Contains(t, strings.ToLower(err.Error()), strings.ToLower(r))
	}
	t.Logf("rejected as expected: %v", err)
}

func TestPlatformRejects(t *testing.T) {
	ctx := context.Background()
	ns := "negative"
	require.NoError(t, platform.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	require.NoError(t, apply(ctx, mustObj(t, ns, negDeployment, nil), false))
	require.NoError(t, apply(ctx, mustObj(t, ns, negScaledObject, nil), true), "the valid ScaledObject must be admitted")

	t.Run("minReplicaCount greater than maxReplicaCount", func(t *testing.T) {
		so := mustObj(t, ns, negScaledObject, func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(u.Object, int64(5), "spec", "minReplicaCount")
			_ = unstructured.SetNestedField(u.Object, int64(2), "spec", "maxReplicaCount")
		})
		requireRejected(t, apply(ctx, so, true), "MinReplicaCount")
	})

	t.Run("unknown field in a ScaledObject", func(t *testing.T) {
		so := mustObj(t, ns, negScaledObject, func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(u.Object, int64(3), "spec", "maxReplicas")
		})
		requireRejected(t, apply(ctx, so, true), "maxReplicas")
	})

	t.Run("unknown field in a Deployment", func(t *testing.T) {
		d := mustObj(t, ns, negDeployment, func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(u.Object, "Recreate", "spec", "strategyType")
		})
		requireRejected(t, apply(ctx, d, true), "strategyType")
	})

	t.Run("unknown field in a TriggerAuthentication", func(t *testing.T) {
		ta := mustObj(t, ns, `
apiVersion: keda.sh/v1alpha1
kind: TriggerAuthentication
metadata: {name: redis-auth}
spec:
  secretTargetRef: [{parameter: password, name: redis, key: password}]
  secretTargetRefs: [{parameter: password, name: redis, key: password}]
`, nil)
		requireRejected(t, apply(ctx, ta, true), "secretTargetRefs")
	})

	t.Run("second ScaledObject on the same Deployment", func(t *testing.T) {
		require.NoError(t, apply(ctx, mustObj(t, ns, negScaledObject, nil), false))
		second := mustObj(t, ns, negScaledObject, func(u *unstructured.Unstructured) { u.SetName("sidekiq-default-again") })
		requireRejected(t, apply(ctx, second, false), "already managed by the ScaledObject")
	})

	t.Run("ScaledObject name too long for its HPA", func(t *testing.T) {
		// keda-hpa-<name> must fit a 63-character label value: 54 characters is the limit.
		named := func(n int) *unstructured.Unstructured {
			return mustObj(t, ns, negScaledObject, func(u *unstructured.Unstructured) {
				u.SetName(strings.Repeat("a", n))
				_ = unstructured.SetNestedField(u.Object, "sidekiq-other", "spec", "scaleTargetRef", "name")
			})
		}
		require.NoError(t, apply(ctx, named(54), true), "a 54-character name must be admitted")
		long := named(55)
		requireRejected(t, apply(ctx, long, true), "HPA name")
	})

	t.Run("ScaledObject whose Redis is unreachable gets no HPA", func(t *testing.T) {
		// Admission does not connect to Redis, the operator does: KEDA's redis scaler dials when
		// it is built, so with nothing listening the operator reports Ready=False and makes no HPA.
		closed, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := closed.Addr().String()
		require.NoError(t, closed.Close())
		require.NoError(t, apply(ctx, mustObj(t, ns, negDeployment, func(u *unstructured.Unstructured) { u.SetName("sidekiq-unreachable") }), false))
		so := mustObj(t, ns, negScaledObject, func(u *unstructured.Unstructured) {
			u.SetName("sidekiq-unreachable")
			_ = unstructured.SetNestedField(u.Object, "sidekiq-unreachable", "spec", "scaleTargetRef", "name")
			triggers, _, _ := unstructured.NestedSlice(u.Object, "spec", "triggers")
			_ = unstructured.SetNestedField(triggers[0].(map[string]any), addr, "metadata", "address")
			_ = unstructured.SetNestedSlice(u.Object, triggers, "spec", "triggers")
		})
		require.NoError(t, apply(ctx, so, false), "admission does not reach Redis")
		eventually(t, 2*time.Minute, time.Second, "ScaledObject Ready=False", func() (bool, string) {
			s, err := getSO(ctx, ns, "sidekiq-unreachable")
			if err != nil {
				return false, err.Error()
			}
			c := s.Status.Conditions.GetReadyCondition()
			return c.Status == metav1.ConditionFalse, conditions(s)
		})
		s, err := getSO(ctx, ns, "sidekiq-unreachable")
		require.NoError(t, err)
		err = platform.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "keda-hpa-sidekiq-unreachable"}, &autoscalingv2.HorizontalPodAutoscaler{})
		require.True(t, apierrors.IsNotFound(err), "HPA of a ScaledObject whose Redis is unreachable: %v", err)
		t.Logf("FINDING redis unreachable at creation: %s; no HPA", conditions(s))
	})

	t.Run("ScaledObject without triggers", func(t *testing.T) {
		so := mustObj(t, ns, negScaledObject, func(u *unstructured.Unstructured) {
			u.SetName("no-triggers")
			_ = unstructured.SetNestedSlice(u.Object, []any{}, "spec", "triggers")
		})
		requireRejected(t, apply(ctx, so, true))
	})
}
