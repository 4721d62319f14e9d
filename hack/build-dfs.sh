#!/usr/bin/env bash
# Builds the real DittoFS server binary (dfs) from the Go module proxy and caches it.
#
# Environment:
#   DFS_VERSION        DittoFS version to build (default v0.29.0)
#   DITTOFS_CACHE_DIR  cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/dittofs-operator)
#
# Output: progress on stderr; the absolute path of the binary on the last line of stdout.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/build-from-proxy.sh"

version="${DFS_VERSION:-v0.29.0}"
# Same version stamping as the upstream release (main.version/commit/date).
build_from_proxy dfs github.com/marmos91/dittofs "${version}" github.com/marmos91/dittofs/cmd/dfs \
	"-X main.version=${version#v} -X main.commit=${version} -X main.date=module-proxy"
