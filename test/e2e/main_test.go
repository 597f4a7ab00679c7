//go:build e2e

// Package e2e checks every rendered output of mastoscale against a real platform: a
// kube-apiserver with KEDA's CRDs and admission webhooks, the KEDA operator, and redis-server.
// Run it with `make e2e` (test/e2e/rig.sh prepares the binaries and the environment).
package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/mastoscale/mastoscale/test/e2e/rig"
)

// platform is the rig every test of this package uses; TestMain starts and stops it.
var platform *rig.Rig

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	// The checks are mostly bounded polling, one ScaledObject per subtest: run them all at once
	// instead of GOMAXPROCS at a time (2 on our machines), unless -parallel was given.
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		_ = flag.Set("test.parallel", "64")
	}
	opts, err := rig.OptionsFromEnv(os.Getenv("RIG_LOOP") != "")
	if err != nil {
		// Never skip: a rig that cannot start is a failure, on CI and on a laptop alike.
		fmt.Fprintf(os.Stderr, "FAIL: the e2e rig cannot start: %v\n", err)
		return 1
	}
	opts.Logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	platform, err = rig.Start(ctx, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: the e2e rig did not start: %v\n", err)
		return 1
	}
	// Stop the rig on SIGINT/SIGTERM too (rig.sh sends SIGTERM on Ctrl-C or when it is killed),
	// so no etcd, apiserver, KEDA or redis process outlives the run.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		fmt.Fprintf(os.Stderr, "FAIL: interrupted by %v; stopping the rig\n", s)
		platform.Stop()
		os.Exit(1)
	}()
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "rig process logs (tails):\n%s\n", platform.Diagnostics())
	}
	platform.Stop()
	return code
}
