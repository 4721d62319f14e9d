#!/usr/bin/env bash
# Builds golangci-lint from the Go module proxy and caches it, for `make lint`.
#
# Environment:
#   GOLANGCI_LINT_VERSION  golangci-lint version to build (default v2.15.0)
#   DITTOFS_CACHE_DIR      cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/dittofs-operator)
#
# Output: progress on stderr; the absolute path of the binary on the last line of stdout.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/build-from-proxy.sh"

version="${GOLANGCI_LINT_VERSION:-v2.15.0}"
# The version stamping of golangci-lint's own release build (`golangci-lint version`).
build_from_proxy golangci-lint github.com/golangci/golangci-lint/v2 "${version}" \
	github.com/golangci/golangci-lint/v2/cmd/golangci-lint \
	"-X main.version=${version#v} -X main.commit=proxy -X main.date=unknown"
