package render_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/pkg/layout"
	"github.com/mastoscale/mastoscale/pkg/render"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// goldenCase is a layout and where its rendering is kept.
type goldenCase struct {
	name, layout, expected, errors string
}

func goldenCases(t *testing.T) []goldenCase {
	t.Helper()
	var cases []goldenCase
	dirs, err := filepath.Glob("testdata/*/layout.yaml")
	require.NoError(t, err)
	for _, l := range dirs {
		dir := filepath.Dir(l)
		cases = append(cases, goldenCase{name: filepath.Base(dir), layout: l,
			expected: filepath.Join(dir, "expected.yaml"), errors: filepath.Join(dir, "errors.txt")})
	}
	examples, err := filepath.Glob("../../examples/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, examples)
	for _, l := range examples {
		base := strings.TrimSuffix(filepath.Base(l), ".yaml")
		cases = append(cases, goldenCase{name: "examples/" + base, layout: l,
			expected: filepath.Join("../../examples/rendered", base+".yaml")})
	}
	return cases
}

// TestGolden renders every case and compares with its expected.yaml, or checks the error
// against errors.txt (one regexp a line, all must match).
func TestGolden(t *testing.T) {
	for _, tc := range goldenCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			l, err := layout.Load(tc.layout)
			require.NoError(t, err)
			set, err := render.FromLayout(l)
			if patterns, readErr := os.ReadFile(tc.errors); readErr == nil {
				require.Error(t, err)
				for _, p := range strings.Split(strings.TrimSpace(string(patterns)), "\n") {
					assert.Regexp(t, regexp.MustCompile(p), err.Error())
				}
				return
			}
			require.NoError(t, err)
			out, err := render.YAML(set.Objects())
			require.NoError(t, err)
			testutil.Golden(t, tc.expected, out)
		})
	}
}

// renderedDocs returns every document of every expected golden file.
func renderedDocs(t *testing.T) map[string][]map[string]any {
	t.Helper()
	docs := map[string][]map[string]any{}
	for _, tc := range goldenCases(t) {
		data, err := os.ReadFile(tc.expected)
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		for _, raw := range bytes.Split(data, []byte("\n---\n")) {
			var m map[string]any
			require.NoError(t, yaml.Unmarshal(raw, &m), tc.expected)
			if len(m) > 0 { // a layout with nothing to scale renders nothing
				docs[tc.expected] = append(docs[tc.expected], m)
			}
		}
	}
	require.NotEmpty(t, docs)
	return docs
}

// TestRenderedObjectsDecodeStrictly decodes every rendered object into its Kubernetes or KEDA
// type with unknown fields as errors, so a typo in a field name cannot pass.
func TestRenderedObjectsDecodeStrictly(t *testing.T) {
	kinds := map[string]func() any{
		"keda.sh/v1alpha1/ScaledObject":          func() any { return &kedav1alpha1.ScaledObject{} },
		"keda.sh/v1alpha1/TriggerAuthentication": func() any { return &kedav1alpha1.TriggerAuthentication{} },
		// mastoscale's scaler (spec.scaler.image)
		"apps/v1/Deployment":            func() any { return &appsv1.Deployment{} },
		"v1/Service":                    func() any { return &corev1.Service{} },
		"policy/v1/PodDisruptionBudget": func() any { return &policyv1.PodDisruptionBudget{} },
	}
	n := 0
	for file, ms := range renderedDocs(t) {
		for _, m := range ms {
			key := fmt.Sprintf("%s/%s", m["apiVersion"], m["kind"])
			newObj, ok := kinds[key]
			require.True(t, ok, "%s: unexpected kind %s", file, key)
			js, err := json.Marshal(m)
			require.NoError(t, err)
			strict, err := kjson.UnmarshalStrict(js, newObj())
			require.NoError(t, err)
			assert.Empty(t, strict, "%s: %s", file, key)
			n++
		}
	}
	t.Logf("%d objects decoded strictly", n)
}

// TestScaledObjectsMatchKEDACRDSchema validates every rendered KEDA object against the
// OpenAPI schema of the CRDs shipped in the KEDA module the library imports.
func TestScaledObjectsMatchKEDACRDSchema(t *testing.T) {
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/kedacore/keda/v2").Output()
	require.NoError(t, err, "locating the KEDA module")
	crds := filepath.Join(strings.TrimSpace(string(dir)), "config", "crd", "bases")
	validators := map[string]validation.SchemaValidator{}
	for kind, file := range map[string]string{
		"ScaledObject":          "keda.sh_scaledobjects.yaml",
		"TriggerAuthentication": "keda.sh_triggerauthentications.yaml",
	} {
		data, err := os.ReadFile(filepath.Join(crds, file))
		require.NoError(t, err)
		var crd apiextv1.CustomResourceDefinition
		require.NoError(t, yaml.UnmarshalStrict(data, &crd))
		var internal apiextensions.JSONSchemaProps
		require.NoError(t, apiextv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(crd.Spec.Versions[0].Schema.OpenAPIV3Schema, &internal, nil))
		v, _, err := validation.NewSchemaValidator(&internal)
		require.NoError(t, err)
		validators[kind] = v
	}
	n := 0
	for file, ms := range renderedDocs(t) {
		for _, m := range ms {
			v, ok := validators[m["kind"].(string)]
			if !ok {
				continue
			}
			errs := validation.ValidateCustomResource(field.NewPath(""), m, v)
			assert.Empty(t, errs, "%s: %s %v", file, m["kind"], m["metadata"])
			n++
		}
	}
	require.Positive(t, n)
	t.Logf("%d KEDA objects valid against the CRD schema", n)

	// The schema check can fail: a ScaledObject with maxReplicaCount 0 breaks its minimum.
	bad := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": map[string]any{"name": "x"},
		"spec": map[string]any{"scaleTargetRef": map[string]any{"name": "x"}, "maxReplicaCount": int64(0),
			"triggers": []any{map[string]any{"type": "redis", "metadata": map[string]any{}}}},
	}}
	assert.NotEmpty(t, validation.ValidateCustomResource(field.NewPath(""), bad.Object, validators["ScaledObject"]))
}

// TestSeedExample checks the seed example of DESIGN.md field for field.
func TestSeedExample(t *testing.T) {
	l, err := layout.Load("../../examples/seed.yaml")
	require.NoError(t, err)
	set, err := render.FromLayout(l)
	require.NoError(t, err)

	assert.Equal(t, &kedav1alpha1.TriggerAuthentication{
		TypeMeta:   metav1.TypeMeta{APIVersion: "keda.sh/v1alpha1", Kind: "TriggerAuthentication"},
		ObjectMeta: metav1.ObjectMeta{Name: "trigger-auth-redis-secret", Namespace: "mastodon"},
		Spec: kedav1alpha1.TriggerAuthenticationSpec{SecretTargetRef: []kedav1alpha1.AuthSecretTargetRef{
			{Parameter: "password", Name: "mastodon-database-secrets", Key: "redis-password"},
		}},
	}, set.TriggerAuthentication)

	so := set.ScaledObjects[0]
	assert.Equal(t, "mastodon-sidekiq-worker-default", so.Name)
	assert.Equal(t, "mastodon", so.Namespace)
	assert.Equal(t, kedav1alpha1.ScaledObjectSpec{
		ScaleTargetRef:  &kedav1alpha1.ScaleTarget{APIVersion: "apps/v1", Kind: "Deployment", Name: "mastodon-sidekiq-worker-default"},
		PollingInterval: ptr.To[int32](30),
		CooldownPeriod:  ptr.To[int32](300),
		MinReplicaCount: ptr.To[int32](1),
		MaxReplicaCount: ptr.To[int32](4),
		Fallback:        &kedav1alpha1.Fallback{FailureThreshold: 3, Replicas: 2},
		Advanced: &kedav1alpha1.AdvancedConfig{HorizontalPodAutoscalerConfig: &kedav1alpha1.HorizontalPodAutoscalerConfig{
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{
				StabilizationWindowSeconds: ptr.To[int32](300),
				Policies:                   []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: 60}},
			}},
		}},
		Triggers: []kedav1alpha1.ScaleTriggers{{
			Type:       "redis",
			MetricType: autoscalingv2.AverageValueMetricType,
			Metadata: map[string]string{
				"address":    "mastodon-redis-master.mastodon.svc.cluster.local:6379",
				"listName":   "queue:default",
				"listLength": "1500",
			},
			AuthenticationRef: &kedav1alpha1.AuthenticationRef{Name: "trigger-auth-redis-secret"},
		}},
	}, so.Spec)

	// A pod serving push and pull gets one trigger per queue.
	pushPull := set.ScaledObjects[1]
	require.Len(t, pushPull.Spec.Triggers, 3)
	var lists []string
	for _, tr := range pushPull.Spec.Triggers {
		lists = append(lists, tr.Metadata["listName"])
	}
	assert.Equal(t, []string{"queue:push", "queue:pull", "queue:fasp"}, lists)
}

func TestSeedNamespaceVariant(t *testing.T) {
	l, err := layout.Load("testdata/seed-namespace-4.3/layout.yaml")
	require.NoError(t, err)
	set, err := render.FromLayout(l)
	require.NoError(t, err)
	assert.Equal(t, "masto5:queue:default", set.ScaledObjects[0].Spec.Triggers[0].Metadata["listName"])
}

func TestDefaultRendering(t *testing.T) {
	l, err := layout.Preset(layout.PresetSplit, layout.DefaultMastodonVersion)
	require.NoError(t, err)
	set, err := render.FromLayout(l)
	require.NoError(t, err)
	require.NotNil(t, set.TriggerAuthentication)
	require.Len(t, set.ScaledObjects, 4, "every worker but the scheduler's")
	for _, so := range set.ScaledObjects {
		assert.NotEqual(t, "mastodon-sidekiq-scheduler", so.Spec.ScaleTargetRef.Name)
		c := so.DeepCopy()
		assert.NoError(t, kedav1alpha1.CheckReplicaCountBoundsAreValid(c))
		assert.NoError(t, kedav1alpha1.CheckFallbackValid(c))
		assert.NoError(t, kedav1alpha1.ValidateTriggers(c.Spec.Triggers))
	}
	for _, o := range set.Objects() {
		assert.NotEqual(t, "Deployment", o.GetObjectKind().GroupVersionKind().Kind, "render emits no Deployments: the chart's pod is the chart's")
	}
}

func TestRenderRefusesInvalidLayout(t *testing.T) {
	l, err := layout.Preset(layout.PresetSplit, layout.DefaultMastodonVersion)
	require.NoError(t, err)
	l.Spec.Workers[0].Autoscale.MaxReplicas = ptr.To[int32](0)
	l.Spec.Workers[1].Queues = nil
	_, err = render.FromLayout(l)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "spec.workers[0].autoscale.maxReplicas")
	assert.Contains(t, err.Error(), "spec.workers[1].queues")
}

func TestOutputIsClean(t *testing.T) {
	l, err := layout.Preset(layout.PresetSplit, layout.DefaultMastodonVersion)
	require.NoError(t, err)
	set, err := render.FromLayout(l)
	require.NoError(t, err)
	out, err := render.YAML(set.Objects())
	require.NoError(t, err)
	for _, noise := range []string{"status:", "creationTimestamp", "scalingModifiers", "resources: {}", "strategy: {}"} {
		assert.NotContains(t, string(out), noise)
	}
	again, err := render.YAML(set.Objects())
	require.NoError(t, err)
	assert.Equal(t, out, again, "deterministic")
	js, err := render.JSON(set.Objects())
	require.NoError(t, err)
	var list struct {
		Kind  string `json:"kind"`
		Items []any  `json:"items"`
	}
	require.NoError(t, json.Unmarshal(js, &list))
	assert.Equal(t, "List", list.Kind)
	assert.Len(t, list.Items, 10, "the TriggerAuthentication, 4 ScaledObjects, 5 PodDisruptionBudgets")
}

func BenchmarkRenderDefault(b *testing.B) {
	l, err := layout.Preset(layout.PresetSplit, layout.DefaultMastodonVersion)
	require.NoError(b, err)
	b.ReportAllocs()
	var size int
	for b.Loop() {
		set, err := render.FromLayout(l)
		if err != nil {
			b.Fatal(err)
		}
		out, err := render.YAML(set.Objects())
		if err != nil {
			b.Fatal(err)
		}
		size = len(out)
	}
	b.SetBytes(int64(size))
}
