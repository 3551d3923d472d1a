# Meseta build, code generation and tests. `make help` lists the targets.

SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
VERSION ?= 0.1.0-dev
GIT_COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
BUILD_DATE := $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
# The Kubernetes API version Meseta serves; kubectl reads it from /version.
KUBE_VERSION := v1.37.2
LDFLAGS := -s -w \
	-X meseta.dev/meseta/pkg/version.Version=$(VERSION) \
	-X meseta.dev/meseta/pkg/version.GitCommit=$(GIT_COMMIT) \
	-X k8s.io/component-base/version.gitVersion=$(KUBE_VERSION) \
	-X k8s.io/component-base/version.gitMajor=1 \
	-X k8s.io/component-base/version.gitMinor=37 \
	-X k8s.io/component-base/version.gitCommit=$(GIT_COMMIT) \
	-X k8s.io/component-base/version.gitTreeState=clean \
	-X k8s.io/component-base/version.buildDate=$(BUILD_DATE)
export CGO_ENABLED ?= 1
# Packages whose tests start the real API server; compiled as few binaries as possible.
HEAVY_PKGS := ./pkg/master/... ./e2e/...
TEST_TIMEOUT ?= 25m

.DEFAULT_GOAL := help

##@ General

.PHONY: help
help: ## List every target with a one-line description.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z0-9_.-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Build

.PHONY: build
build: bin/meseta bin/mesetactl bin/runc images ## Build meseta, mesetactl, runc and the test image into bin/.

.PHONY: bin/meseta
bin/meseta: ## Build the meseta binary (master, agent, dev, version).
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/meseta ./cmd/meseta

.PHONY: bin/mesetactl
bin/mesetactl: ## Build the mesetactl CLI.
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/mesetactl ./cmd/mesetactl

bin/runc: go.mod ## Build runc from the version pinned in go.mod.
	CGO_ENABLED=1 $(GO) build -o $(BIN)/runc github.com/opencontainers/runc

.PHONY: deps
deps: ## Install the host packages the tests need (a static busybox for the test image).
	hack/install-deps.sh

# IMAGES_DIR is where config/samples expect the test images.
IMAGES_DIR ?= /var/lib/meseta/images

.PHONY: images
images: deps ## Build the test images (OCI layouts under bin/images, copied to IMAGES_DIR for config/samples).
	$(GO) run ./hack/testimage -out $(BIN)/images
	@if mkdir -p $(IMAGES_DIR) 2>/dev/null && [ -w $(IMAGES_DIR) ]; then cp -a $(BIN)/images/. $(IMAGES_DIR)/; \
	else echo "note: $(IMAGES_DIR) is not writable; config/samples expect the images there (set IMAGES_DIR, or run as root)"; fi

.PHONY: run
run: build ## Build everything and start `meseta dev`, the all-in-one cluster.
	$(BIN)/meseta dev --runtime $(BIN)/runc

##@ Code generation

.PHONY: generate
generate: ## Generate deepcopy functions for the API types.
	$(GO) tool controller-gen object:headerFile=hack/boilerplate.go.txt paths=./apis/...

.PHONY: manifests
manifests: ## Generate the CRDs into config/crd/bases.
	$(GO) tool controller-gen crd paths=./apis/... output:crd:artifacts:config=config/crd/bases

.PHONY: verify
verify: ## Fail when generated code or CRDs are stale, or code is not gofmt-clean.
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	cp -r apis config $$tmp/; \
	$(MAKE) --no-print-directory generate manifests >/dev/null; \
	if ! diff -r $$tmp/apis apis >/dev/null || ! diff -r $$tmp/config config >/dev/null; then \
		diff -r $$tmp/apis apis; diff -r $$tmp/config config; \
		echo "generated files are stale: run 'make generate manifests' and commit"; exit 1; fi
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "not gofmt-clean: $$out"; exit 1; fi
	$(GO) vet ./...

##@ Test

.PHONY: test
test: verify build test-unit test-integration ## Verify, build and run every test (unit, integration, e2e).

.PHONY: test-unit
test-unit: ## Run the fast unit tests (packages that do not start an API server).
	$(GO) test -count=1 $$($(GO) list ./... | grep -v -e /pkg/master -e /e2e)

.PHONY: test-integration
test-integration: bin/meseta bin/mesetactl bin/runc images ## Run the integration and e2e suites against the real master, etcd, runc and kubectl.
	MESETA_BIN=$(BIN) $(GO) test -count=1 -timeout $(TEST_TIMEOUT) -p 1 $(HEAVY_PKGS)

.PHONY: test-e2e-long
test-e2e-long: bin/meseta bin/mesetactl bin/runc images ## Run the fault tests' soak variants (each fault repeated; several minutes).
	set -o pipefail; MESETA_BIN=$(BIN) MESETA_FAULTS_SOAK=1 $(GO) test -count=1 -timeout 60m -p 1 -v ./e2e/faults/... | grep -E '^(=== RUN|--- |PASS|FAIL|ok)|FIGURE'

.PHONY: bench
bench: build ## Run the benchmark scenarios against a real master; one table, JSON in bin/bench.json (BENCH=a,b picks, BENCH_SHORT=1 is quick).
	$(GO) run ./hack/bench -meseta $(BIN)/meseta -runc $(BIN)/runc -images $(BIN)/images -out $(BIN)/bench.json

.PHONY: clean
clean: ## Remove build output.
	rm -rf $(BIN)
