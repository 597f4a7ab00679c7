package layout

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/utils/ptr"
)

// Behavior preset names (autoscale.behaviorPreset).
const (
	BehaviorConservative = "conservative"
	BehaviorBalanced     = "balanced"
	BehaviorAggressive   = "aggressive"
)

// MinExporterVersion is the first Mastodon with a built-in Prometheus exporter.
var MinExporterVersion = MastodonVersion{Major: 4, Minor: 4}

// BehaviorPresetNames lists the presets, slowest first.
var BehaviorPresetNames = []string{BehaviorConservative, BehaviorBalanced, BehaviorAggressive}

// BehaviorPresets map the knobs admins know from hosted autoscalers (how many workers an
// upscale adds, how often it may upscale, how long load must stay low before a downscale)
// onto HPA behavior:
//
//	preset        upscale jump        upscale every  downscale delay  downscale step
//	conservative  1 pod               60 s, after    600 s            1 pod / 300 s
//	                                  300 s stable
//	balanced      2 pods or 50 %      30 s           300 s            1 pod / 120 s
//	aggressive    4 pods or 100 %     15 s           120 s            2 pods / 60 s
//
// Upscales take the larger of the two policies (selectPolicy Max); downscales the single
// policy. conservative's scale-up is the default scale-up of a worker without a preset.
// Sidekiq drains a stopping pod within its -t timeout (terminationGracePeriodSeconds is
// validated to exceed it), so even aggressive downscales requeue unfinished jobs rather than
// losing them; slow downscales only avoid churn.
var BehaviorPresets = map[string]autoscalingv2.HorizontalPodAutoscalerBehavior{
	BehaviorConservative: {
		ScaleUp: defaultScaleUp(),
		ScaleDown: &autoscalingv2.HPAScalingRules{
			StabilizationWindowSeconds: ptr.To[int32](600),
			Policies:                   []autoscalingv2.HPAScalingPolicy{pods(1, 300)},
		},
	},
	BehaviorBalanced: {
		ScaleUp: &autoscalingv2.HPAScalingRules{
			StabilizationWindowSeconds: ptr.To[int32](0),
			SelectPolicy:               ptr.To(autoscalingv2.MaxChangePolicySelect),
			Policies:                   []autoscalingv2.HPAScalingPolicy{pods(2, 30), percent(50, 30)},
		},
		ScaleDown: &autoscalingv2.HPAScalingRules{
			StabilizationWindowSeconds: ptr.To[int32](300),
			Policies:                   []autoscalingv2.HPAScalingPolicy{pods(1, 120)},
		},
	},
	BehaviorAggressive: {
		ScaleUp: &autoscalingv2.HPAScalingRules{
			StabilizationWindowSeconds: ptr.To[int32](0),
			SelectPolicy:               ptr.To(autoscalingv2.MaxChangePolicySelect),
			Policies:                   []autoscalingv2.HPAScalingPolicy{pods(4, 15), percent(100, 15)},
		},
		ScaleDown: &autoscalingv2.HPAScalingRules{
			StabilizationWindowSeconds: ptr.To[int32](120),
			Policies:                   []autoscalingv2.HPAScalingPolicy{pods(2, 60)},
		},
	},
}

func pods(n, period int32) autoscalingv2.HPAScalingPolicy {
	return autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PodsScalingPolicy, Value: n, PeriodSeconds: period}
}

func percent(n, period int32) autoscalingv2.HPAScalingPolicy {
	return autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PercentScalingPolicy, Value: n, PeriodSeconds: period}
}
