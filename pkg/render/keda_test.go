package render

import (
	"testing"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	"github.com/stretchr/testify/assert"
	"k8s.io/utils/ptr"
)

func TestKEDAValidatorsCanFail(t *testing.T) {
	so := &kedav1alpha1.ScaledObject{Spec: kedav1alpha1.ScaledObjectSpec{
		MinReplicaCount: ptr.To[int32](5), MaxReplicaCount: ptr.To[int32](2),
		Triggers: []kedav1alpha1.ScaleTriggers{{Type: "redis", Metadata: map[string]string{}}},
	}}
	assert.ErrorContains(t, checkWithKEDA(so), "rejected by KEDA")
}
