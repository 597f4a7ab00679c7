//go:build e2e

package rig

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Options name the binaries and files the rig runs. OptionsFromEnv reads them from the
// variables rig.sh prints.
type Options struct {
	AssetsDir     string // KUBEBUILDER_ASSETS: kube-apiserver and etcd
	OperatorBin   string // RIG_KEDA_OPERATOR
	WebhooksBin   string // RIG_KEDA_WEBHOOKS
	CRDDir        string // RIG_KEDA_CRDS: KEDA's config/crd/bases
	WebhookConfig string // RIG_KEDA_WEBHOOK_CONFIG: KEDA's config/webhooks/validation_webhooks.yaml
	RedisBin      string // RIG_REDIS_SERVER
	PIDFile       string // RIG_PID_FILE: every started PID is appended here (optional)

	// Controllers also starts kube-controller-manager (HPA, Deployment and ReplicaSet
	// controllers) and KEDA's metrics apiserver behind the apiserver's aggregation layer: what
	// the loop scenarios need. The inputs below are read and checked only then.
	Controllers   bool
	ControllerBin string        // RIG_KUBE_CONTROLLER_MANAGER
	AdapterBin    string        // RIG_KEDA_ADAPTER: KEDA's cmd/adapter
	SidekiqBin    string        // RIG_SIDEKIQ: Debian's sidekiq executable
	HPASyncPeriod time.Duration // RIG_HPA_SYNC_PERIOD; default DefaultHPASyncPeriod

	Logf func(format string, args ...any)
}

// DefaultHPASyncPeriod is kube-controller-manager's own default
// (--horizontal-pod-autoscaler-sync-period), which the simulator assumes too.
const DefaultHPASyncPeriod = 15 * time.Second

// OptionsFromEnv reads the rig's inputs from the environment and checks that each exists.
// With controllers true it also reads and checks the loop's inputs.
func OptionsFromEnv(controllers bool) (Options, error) {
	o := Options{
		AssetsDir:     os.Getenv("KUBEBUILDER_ASSETS"),
		OperatorBin:   os.Getenv("RIG_KEDA_OPERATOR"),
		WebhooksBin:   os.Getenv("RIG_KEDA_WEBHOOKS"),
		CRDDir:        os.Getenv("RIG_KEDA_CRDS"),
		WebhookConfig: os.Getenv("RIG_KEDA_WEBHOOK_CONFIG"),
		RedisBin:      os.Getenv("RIG_REDIS_SERVER"),
		PIDFile:       os.Getenv("RIG_PID_FILE"),
		Controllers:   controllers,
		ControllerBin: os.Getenv("RIG_KUBE_CONTROLLER_MANAGER"),
		AdapterBin:    os.Getenv("RIG_KEDA_ADAPTER"),
		SidekiqBin:    os.Getenv("RIG_SIDEKIQ"),
		HPASyncPeriod: DefaultHPASyncPeriod,
	}
	var errs []error
	if v := os.Getenv("RIG_HPA_SYNC_PERIOD"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			errs = append(errs, fmt.Errorf("RIG_HPA_SYNC_PERIOD=%q: want a duration of at least 1s, such as 15s", v))
		}
		o.HPASyncPeriod = d
	}
	inputs := map[string]string{
		"KUBEBUILDER_ASSETS/kube-apiserver": filepath.Join(o.AssetsDir, "kube-apiserver"),
		"KUBEBUILDER_ASSETS/etcd":           filepath.Join(o.AssetsDir, "etcd"),
		"RIG_KEDA_OPERATOR":                 o.OperatorBin,
		"RIG_KEDA_WEBHOOKS":                 o.WebhooksBin,
		"RIG_KEDA_CRDS":                     o.CRDDir,
		"RIG_KEDA_WEBHOOK_CONFIG":           o.WebhookConfig,
		"RIG_REDIS_SERVER":                  o.RedisBin,
	}
	if controllers {
		inputs["RIG_KUBE_CONTROLLER_MANAGER"] = o.ControllerBin
		inputs["RIG_KEDA_ADAPTER"] = o.AdapterBin
		inputs["RIG_SIDEKIQ"] = o.SidekiqBin
	}
	for name, p := range inputs {
		if o.AssetsDir == "" && strings.HasPrefix(name, "KUBEBUILDER") {
			errs = append(errs, fmt.Errorf("%s: KUBEBUILDER_ASSETS is not set", name))
			continue
		}
		if p == "" {
			errs = append(errs, fmt.Errorf("%s is not set", name))
			continue
		}
		if _, err := os.Stat(p); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	if len(errs) > 0 {
		return o, fmt.Errorf("rig inputs missing (run test/e2e/rig.sh prepare, or `make e2e`): %w", errors.Join(errs...))
	}
	return o, nil
}
