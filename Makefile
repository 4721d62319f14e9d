# DittoFS operator. `make help` lists the targets.
SHELL := /usr/bin/env bash
# The version: the git tag when HEAD has one, else the VERSION file.
VERSION ?= $(shell git describe --tags --dirty 2>/dev/null || cat VERSION)
# The commit, and its time: stamped on the image so that a rebuild gives the
# same digest.
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
# Where a release's image would be pushed; install.yaml and the chart name it by digest.
RELEASE_REPOSITORY ?= ghcr.io/dittofs/dittofs-operator
RELEASE_DIR ?= _output/release
# Where the kubectl plugin's archives are downloaded from: the krew
# manifest (plugin.yaml) names each archive under it.
RELEASE_URL ?= https://github.com/dittofs/dittofs-operator/releases/download/$(VERSION)
LDFLAGS := -X github.com/dittofs/dittofs-operator/pkg/version.Version=$(VERSION)
BIN := bin/dittofs-operator
# The operator image `make image` builds and `make image-push` pushes; set it to
# your registry (IMG=registry.example.com/platform/dittofs-operator:v0.1.0) and
# name the same image in your kustomization (docs/install.md).
IMG ?= dittofs-operator:$(VERSION)
CONTAINER_TOOL ?= docker
GO_TEST_FLAGS ?=
# Extra golangci-lint flags, e.g. GOLANGCI_LINT_FLAGS=--concurrency=1. Its
# configuration, .golangci.yml, also lints the realdfs and localcluster tests.
GOLANGCI_LINT_FLAGS ?=

.PHONY: help build generate verify lint test test-unit test-e2e test-dfs run bench image image-push release test-release clean

help: ## Show the targets.
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## Build the operator binary and the kubectl plugin (bin/kubectl-ditto) into bin/.
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/dittofs-operator
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o bin/kubectl-ditto ./cmd/kubectl-ditto

generate: ## Regenerate deepcopy, clients, listers, informers, applyconfigurations, the CRDs and docs/api-reference.md.
	hack/update-codegen.sh

verify: lint ## Check that generated code and the CRD are up to date, and lint.
	hack/verify-codegen.sh

lint: ## No binaries or files over 1 MB in the index, go vet, gofmt, then golangci-lint (.golangci.yml, pinned version).
	hack/check-tracked-files.sh
	go vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^pkg/generated/')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	@set -o pipefail; lint=$$(hack/build-golangci-lint.sh | tail -1) && \
	  "$$lint" run $(GOLANGCI_LINT_FLAGS) ./...

test: verify test-unit test-dfs test-e2e test-release ## Everything that must pass: verify, unit, real-server contract and end-to-end tests.

test-unit: ## Unit tests (fake clientsets, builders, golden files), the shared test harness and the docs' field paths and links.
	go test $(GO_TEST_FLAGS) ./cmd/... ./pkg/... ./test/harness/... ./test/docs/...

test-e2e: build ## End-to-end tests on a local control plane built from source (cached after the first run).
	hack/build-control-plane.sh
	hack/build-helm.sh
	hack/build-csi.sh
	go test $(GO_TEST_FLAGS) -count=1 -timeout 5m ./test/install/...
	go test $(GO_TEST_FLAGS) -count=1 -timeout 10m -tags localcluster ./pkg/controller/resources/ ./test/harness/csi/
	go test $(GO_TEST_FLAGS) -count=1 -timeout 10m ./test/csidriver/...
	go test $(GO_TEST_FLAGS) -count=1 -timeout 45m ./test/localcluster/... ./test/e2e/...

test-dfs: ## The operator's output run by the real DittoFS server and a real PostgreSQL.
	hack/build-dfs.sh
	hack/build-s3.sh
	go test $(GO_TEST_FLAGS) -count=1 -timeout 10m -tags realdfs ./pkg/controller/resources/ ./pkg/controller/serverstate/
	go test $(GO_TEST_FLAGS) -count=1 -timeout 20m ./test/dfs/... ./test/pgtest/... ./test/contract/...
	go test $(GO_TEST_FLAGS) -count=1 -timeout 15m ./test/fileserving/...

# The local cluster runs as a built binary, not through `go run`, which exits 1
# when Ctrl-C stops its program however cleanly that program stopped.
run: build ## Run the operator: against $$KUBECONFIG if set, else on an embedded local control plane.
	@if [ -n "$(KUBECONFIG)" ]; then \
	  echo "Running against KUBECONFIG=$(KUBECONFIG) (install the CRD first: kubectl apply -f artifacts/crds/)"; \
	  $(BIN) --kubeconfig "$(KUBECONFIG)" --leader-elect=false --metrics-bind-address 127.0.0.1:8080 --health-probe-bind-address 127.0.0.1:8081; \
	else \
	  hack/build-control-plane.sh && go build -o bin/local-cluster ./hack/local-cluster && bin/local-cluster --operator-binary $(BIN); \
	fi

bench: build ## Benchmark API cost, convergence time and memory on the local control plane (N=200).
	hack/build-control-plane.sh
	go run ./test/bench --operator-binary $(BIN) $(if $(N),--n $(N))

image: ## Build the operator image $(IMG) (needs a container engine: CONTAINER_TOOL=docker or podman).
	$(CONTAINER_TOOL) build --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) -t $(IMG) .

image-push: ## Push $(IMG) to its registry (log in first).
	$(CONTAINER_TOOL) push $(IMG)

release: ## Build a release into $(RELEASE_DIR): the multi-platform OCI image, install.yaml files, the Helm chart, the kubectl plugin and its krew manifest, checksums (no container engine).
	VERSION=$(VERSION) REVISION=$(REVISION) SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) \
	  RELEASE_REPOSITORY=$(RELEASE_REPOSITORY) RELEASE_DIR=$(RELEASE_DIR) RELEASE_URL=$(RELEASE_URL) hack/release.sh

test-release: build ## The release: its image's config, reproducibility, checksums, and its install.yaml converging a sample on the local control plane.
	hack/build-control-plane.sh
	hack/build-helm.sh
	go test $(GO_TEST_FLAGS) -count=1 -timeout 10m ./hack/release/... ./test/release/...

clean: ## Remove build output (the control-plane and dfs caches stay).
	rm -rf bin _output
