# mastoscale: `make run` renders the default layout, `make test` runs every test.
GO        ?= go
CACHE     ?= $(HOME)/.cache/mastoscale
TOOLS     := $(CACHE)/tools
HELM3     := $(TOOLS)/helm-v3.22.0/helm
HELM4     := $(TOOLS)/helm-v4.3.1/helm
KUSTOMIZE := $(TOOLS)/kustomize-v5.8.2/kustomize

# Tests that drive the real binaries find them here; without them they skip, or fail when CI=true.
export MASTOSCALE_HELM3     = $(HELM3)
export MASTOSCALE_HELM4     = $(HELM4)
export MASTOSCALE_KUSTOMIZE = $(KUSTOMIZE)

.PHONY: run build test unit update bench tools helm-plugin plots example-kustomize
run:
	$(GO) run ./cmd/mastoscale render

build:
	$(GO) build -o bin/mastoscale ./cmd/mastoscale

# test runs every test; when the platform rig is prepared (make rig-prepare, or make e2e once)
# it runs the rig checks too. .ci/run prepares it, so CI always does.
test: tools build
	$(GO) vet ./...
	$(GO) test ./...
	@if test/e2e/rig.sh ready; then $(MAKE) --no-print-directory e2e; \
	else echo "make test: the platform rig is not prepared, so its checks did not run: make rig-prepare (~15 min cold) or make e2e"; fi

# unit runs the tests without building the external tools (tests that need them skip).
unit:
	$(GO) test ./...

# update regenerates golden files; review `git diff` before committing them.
update:
	$(GO) test ./... -update

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# helm-plugin builds the Helm 4 post-renderer plugin; install it with `helm plugin install ./cmd/mastoscale/helm-plugin`.
helm-plugin:
	$(GO) build -o cmd/mastoscale/helm-plugin/bin/mastoscale ./cmd/mastoscale

# plots regenerates the simulation plots the README shows; run it after changing the model.
plots:
	$(GO) run ./cmd/mastoscale simulate --preset split --trace viral --compare examples/seed.yaml --plot examples/simulate/simulate-viral.svg
	$(GO) run ./cmd/mastoscale simulate --preset split --trace viral --compare internal/simulate/testdata/tuned.yaml --plot examples/simulate/simulate-viral-tuned.svg

# example-kustomize builds the kustomize example with the function and fails if kustomize skipped it.
example-kustomize: build $(KUSTOMIZE)
	$(KUSTOMIZE) build --enable-alpha-plugins --enable-exec kustomize/autoscaled | bin/mastoscale fn --verify kustomize/autoscaled/sidekiq-layout.yaml

tools: $(HELM3) $(HELM4) $(KUSTOMIZE)

# The real helm and kustomize binaries, built from the Go module proxy and cached by version
# outside the repository.
$(HELM3):
	GOBIN=$(dir $@) GOFLAGS=-mod=mod $(GO) install helm.sh/helm/v3/cmd/helm@v3.22.0
$(HELM4):
	GOBIN=$(dir $@) GOFLAGS=-mod=mod $(GO) install helm.sh/helm/v4/cmd/helm@v4.3.1
$(KUSTOMIZE):
	GOBIN=$(dir $@) GOFLAGS=-mod=mod $(GO) install sigs.k8s.io/kustomize/kustomize/v5@v5.8.2

-include test/e2e/e2e.mk
