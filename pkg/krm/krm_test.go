package krm_test

import (
	"testing"

	"github.com/mastoscale/mastoscale/internal/testutil"
	"github.com/mastoscale/mastoscale/pkg/krm"
	"github.com/spf13/cobra"
	"sigs.k8s.io/kustomize/kyaml/fn/framework"
	"sigs.k8s.io/kustomize/kyaml/fn/framework/command"
	"sigs.k8s.io/kustomize/kyaml/fn/framework/frameworktestutil"
)

// TestStandalone runs each testdata/<case>: config.yaml is the functionConfig, input.yaml the
// items, and the output must equal expected.yaml, or the error match each line of errors.txt.
// `go test ./... -update` rewrites the fixtures.
func TestStandalone(t *testing.T) {
	checker := frameworktestutil.CommandResultsChecker{
		TestDataDirectory:        "testdata/standalone",
		UpdateExpectedFromActual: testutil.Update(),
		Command: func() *cobra.Command {
			return command.Build(krm.Processor, command.StandaloneEnabled, false)
		},
	}
	checker.Assert(t)
}

// TestResourceList runs each testdata/resourcelist/<case>/input.yaml, a whole ResourceList as
// kpt or kustomize send it, and compares the ResourceList out (items, annotations, results)
// with expected.yaml, or the error with errors.txt.
func TestResourceList(t *testing.T) {
	checker := frameworktestutil.ProcessorResultsChecker{
		TestDataDirectory:        "testdata/resourcelist",
		UpdateExpectedFromActual: testutil.Update(),
		Processor:                func() framework.ResourceListProcessor { return krm.Processor },
	}
	checker.Assert(t)
}
