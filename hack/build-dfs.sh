#!/usr/bin/env bash
# Builds the real DittoFS server binary (dfs) from the Go module proxy and caches it.
#
# The binary is built through a throw-away wrapper module that lives in the cache
# directory (never in this repository), because `go install module@version` fails
# on the proxy's deprecation look-up for this module.
#
# Environment:
#   DFS_VERSION        DittoFS version to build (default v0.29.0)
#   DITTOFS_CACHE_DIR  cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/dittofs-operator)
#
# Output: progress on stderr; the absolute path of the binary on the last line of stdout.
set -euo pipefail

version="${DFS_VERSION:-v0.29.0}"
cache_root="${DITTOFS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dittofs-operator}"
bin_dir="${cache_root}/bin/dfs-${version}"
bin="${bin_dir}/dfs"

if [[ -x "${bin}" ]]; then
	echo "build-dfs: using cached ${bin}" >&2
	echo "${bin}"
	exit 0
fi

mkdir -p "${bin_dir}"
wrapper="$(mktemp -d "${cache_root}/wrapper-${version}.XXXXXX")"
tmp_bin="${bin_dir}/.dfs.tmp.$$"
cleanup() { rm -rf "${wrapper}" "${tmp_bin}"; }
trap cleanup EXIT

cat >"${wrapper}/go.mod" <<MOD
module dittofs-build-wrapper

go 1.26

require github.com/marmos91/dittofs ${version}
MOD
cat >"${wrapper}/tools.go" <<'GO'
//go:build tools

package tools

import _ "github.com/marmos91/dittofs/cmd/dfs"
GO

echo "build-dfs: building github.com/marmos91/dittofs/cmd/dfs@${version} (takes ~1.5 min cold)..." >&2
start=$(date +%s)
(
	cd "${wrapper}"
	# The wrapper is a separate module: never let a workspace or vendor dir leak in.
	export GOWORK=off GOFLAGS="${GOFLAGS:-} -mod=mod"
	go mod tidy >&2
	# Same version stamping as the upstream image (main.version/commit/date).
	CGO_ENABLED=0 go build -trimpath \
		-ldflags="-s -w -X main.version=${version#v} -X main.commit=${version} -X main.date=module-proxy" \
		-o "${tmp_bin}" github.com/marmos91/dittofs/cmd/dfs
)
mv -f "${tmp_bin}" "${bin}"
echo "build-dfs: built ${bin} in $(($(date +%s) - start))s" >&2
echo "${bin}"
