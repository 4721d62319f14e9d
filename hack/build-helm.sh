#!/usr/bin/env bash
# Builds helm from the Go module proxy and caches it, for the tests that lint,
# render and install the chart under artifacts/chart.
#
# Environment:
#   HELM_VERSION       helm version to build (default v3.22.0)
#   DITTOFS_CACHE_DIR  cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/dittofs-operator)
#
# Output: progress on stderr; the absolute path of the binary on the last line of stdout.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/build-from-proxy.sh"

version="${HELM_VERSION:-v3.22.0}"
# The version stamping of helm's own Makefile; the Kubernetes version that
# `helm template` assumes without a cluster is the one of its client-go.
k8s="-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=37"
k8s+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=37"
build_from_proxy helm helm.sh/helm/v3 "${version}" helm.sh/helm/v3/cmd/helm \
	"-X helm.sh/helm/v3/internal/version.version=${version} ${k8s}"
