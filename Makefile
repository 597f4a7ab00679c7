# mastoscale: `make run` renders the default layout, `make test` runs every test.
GO        ?= go
CACHE     ?= $(HOME)/.cache/mastoscale
TOOLS     := $(CACHE)/tools
HELM3     := $(TOOLS)/helm-v3.22.0/helm
HELM4     := $(TOOLS)/helm-v4.3.1/helm
KUSTOMIZE := $(TOOLS)/kustomize-v5.8.2/kustomize
GORELEASER := $(TOOLS)/goreleaser-v2.15.1/goreleaser
HELMFILE_VERSION := v1.8.0
HELMFILE  := $(TOOLS)/helmfile-$(HELMFILE_VERSION)/helmfile

# Tests that drive the real binaries find them here; without them they skip, or fail when CI=true.
export MASTOSCALE_HELM3     = $(HELM3)
export MASTOSCALE_HELM4     = $(HELM4)
export MASTOSCALE_KUSTOMIZE = $(KUSTOMIZE)
export MASTOSCALE_GORELEASER = $(GORELEASER)
export MASTOSCALE_HELMFILE = $(HELMFILE)

.PHONY: run build test unit update bench tools helm-plugin plots example-kustomize release-snapshot
run:
	$(GO) run ./cmd/mastoscale render

build:
	$(GO) build -o bin/mastoscale ./cmd/mastoscale

# test runs every test; when the platform rig is prepared (make rig-prepare, or make e2e once)
# it runs the rig checks too, and the loop scenarios when the loop's parts are prepared as well.
# .ci/run prepares both, so CI always runs them.
# -timeout: the release snapshot and the real-chart tests take minutes on a loaded 2-core
# machine; go test's default of 10 min per package is too tight there.
test: tools build
	$(GO) vet ./...
	$(GO) test -timeout 30m ./...
	@if test/e2e/rig.sh ready; then $(MAKE) --no-print-directory e2e; \
	else echo "make test: the platform rig is not prepared, so its checks did not run: make rig-prepare (~15 min cold) or make e2e"; fi
	@if test/e2e/rig.sh ready loop; then $(MAKE) --no-print-directory e2e-loop; \
	else echo "make test: the loop's parts (kube-controller-manager, KEDA's metrics apiserver, Sidekiq) are not prepared, so the loop scenarios did not run: make rig-prepare"; fi

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
	$(GO) run ./cmd/mastoscale tune -f internal/simulate/testdata/tuned.yaml --trace viral --plot examples/simulate/tune-viral.svg

# example-kustomize builds the kustomize example with the function and fails if kustomize skipped it.
example-kustomize: build $(KUSTOMIZE)
	$(KUSTOMIZE) build --enable-alpha-plugins --enable-exec kustomize/autoscaled | bin/mastoscale fn --verify kustomize/autoscaled/sidekiq-layout.yaml

# release-snapshot builds the release archives, the Helm 4 plugin tarballs and checksums.txt
# into dist/ for every platform (.goreleaser.yaml), and with HELM_PLUGIN_SIGNING_KEY=<gpg key>
# the plugin tarballs' .prov signatures. goreleaser reads the commit only from a
# checkout with a git remote; without one (a fresh `git init`, a worktree of one) it is given
# this directory as origin, for this run only.
release-snapshot: $(GORELEASER)
	$(if $(shell git remote),,GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url GIT_CONFIG_VALUE_0=$(CURDIR)) \
	$(GORELEASER) release --snapshot --clean $(if $(HELM_PLUGIN_SIGNING_KEY),,--skip=sign)

tools: $(HELM3) $(HELM4) $(KUSTOMIZE) $(GORELEASER) $(HELMFILE)

# The real helm and kustomize binaries, built from the Go module proxy and cached by version
# outside the repository.
$(HELM3):
	GOBIN=$(dir $@) GOFLAGS=-mod=mod $(GO) install helm.sh/helm/v3/cmd/helm@v3.22.0
$(HELM4):
	GOBIN=$(dir $@) GOFLAGS=-mod=mod $(GO) install helm.sh/helm/v4/cmd/helm@v4.3.1
$(KUSTOMIZE):
	GOBIN=$(dir $@) GOFLAGS=-mod=mod $(GO) install sigs.k8s.io/kustomize/kustomize/v5@v5.8.2
$(GORELEASER):
	GOBIN=$(dir $@) GOFLAGS=-mod=mod $(GO) install github.com/goreleaser/goreleaser/v2@v2.15.1
# helmfile's go.mod has replace directives, which `go install module@version` refuses: build the
# module downloaded from the proxy as the main module, in a scratch copy (the cache is read-only).
$(HELMFILE):
	@set -e; src=$$(mktemp -d); trap 'rm -rf "$$src"' EXIT; \
	$(GO) mod download github.com/helmfile/helmfile@$(HELMFILE_VERSION); \
	cp -R "$$($(GO) env GOMODCACHE)/github.com/helmfile/helmfile@$(HELMFILE_VERSION)/." "$$src"; chmod -R u+w "$$src"; \
	mkdir -p $(dir $@); echo "building helmfile $(HELMFILE_VERSION) into $@"; \
	cd "$$src" && GOFLAGS=-mod=readonly $(GO) build -trimpath -o $@.tmp \
	  -ldflags "-s -w -X go.szostok.io/version.version=$(HELMFILE_VERSION)" . && mv $@.tmp $@

-include test/e2e/e2e.mk

# fuzz runs every fuzz target for FUZZTIME each (make fuzz FUZZTIME=5m); make test runs their
# seeds (testdata/fuzz) as ordinary tests. A crasher lands in the package's testdata/fuzz:
# commit it as a regression seed with the fix.
FUZZTIME ?= 30s
# FUZZMINIMIZETIME bounds the shrinking of each new input: Go's 60 s default spends a short run
# shrinking one release-sized input instead of fuzzing.
FUZZMINIMIZETIME ?= 5s
FUZZ_TARGETS := ./pkg/render:FuzzLayout ./pkg/postrender:FuzzPostRender ./internal/krm:FuzzKRM \
	./internal/lint:FuzzLint ./internal/sidekiq:FuzzStatusParsers ./internal/sidekiq:FuzzEnqueuedAt \
	./internal/chartvalues:FuzzYAML
.PHONY: fuzz
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; name=$${t##*:}; \
	echo "fuzz: $$name ($$pkg) for $(FUZZTIME)"; \
	$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) $$pkg; done
