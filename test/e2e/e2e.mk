# test/e2e/e2e.mk: included by the top-level Makefile.
#
#   make e2e    build/cache the rig if needed, then run the e2e tests (build tag e2e) against a
#               real kube-apiserver + etcd, KEDA CRDs, operator and admission webhooks, redis-server
#   make e2e-loop  the loop scenarios: the same rig plus kube-controller-manager (HPA, Deployment,
#               ReplicaSet controllers), KEDA's metrics apiserver and real Sidekiq processes; the
#               official chart post-rendered by mastoscale is scaled for real and the simulator
#               is held to the recorded run (one LOOP line per scenario)
#   make rig    start the same rig and keep it up until Ctrl-C (prints a kubeconfig)
#   make rig-prepare   only install/build/cache the rig's binaries
#
# Binaries are cached in $(MASTOSCALE_CACHE)/rig (default ~/.cache/mastoscale/rig); a cold
# build takes 20-35 min on 2 cores (see test/e2e/README.md), a warm one seconds. E2E_FLAGS go to `go test`, e.g.
#   make e2e E2E_FLAGS='-run TestPlatformRejects -v'

E2E_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
E2E_FLAGS ?= -v

E2E_LOOP_FLAGS ?= -v

.PHONY: e2e e2e-loop rig rig-prepare
e2e:
	go vet -tags e2e ./$(E2E_DIR)/...
	RIG_TEST_FLAGS='$(E2E_FLAGS)' $(E2E_DIR)/rig.sh test

# The loop renders the official chart with the real helm 3 (MASTOSCALE_HELM3, from the Makefile).
e2e-loop: $(HELM3)
	go vet -tags e2e ./$(E2E_DIR)/...
	RIG_TEST_FLAGS='$(E2E_LOOP_FLAGS)' $(E2E_DIR)/rig.sh loop

rig:
	$(E2E_DIR)/rig.sh up

rig-prepare:
	$(E2E_DIR)/rig.sh prepare
