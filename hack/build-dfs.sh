#!/usr/bin/env bash
# Builds the real DittoFS server binary (dfs) from the Go module proxy and caches it.
#
# The binary is built through a throw-away wrapper module kept in the cache
# directory (never in this repository): `go install module@version` fails on the
# proxy's deprecation look-up for this module, and the project must not vendor
# or copy its source.
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
wrapper="${cache_root}/src/dfs-${version}"

if [[ -x "${bin}" ]]; then
	echo "build-dfs: using cached ${bin}" >&2
	echo "${bin}"
	exit 0
fi

mkdir -p "${bin_dir}" "${wrapper}"
# One build at a time per version (parallel test packages may ask together).
exec 9>"${bin_dir}.lock"
flock 9
if [[ -x "${bin}" ]]; then
	echo "build-dfs: using cached ${bin}" >&2
	echo "${bin}"
	exit 0
fi

tmp_bin="${bin_dir}/.dfs.tmp.$$"
trap 'rm -f "${tmp_bin}"' EXIT

cat >"${wrapper}/go.mod.new" <<MOD
module dittofs-build-wrapper

go 1.26

require github.com/marmos91/dittofs ${version}
MOD
if ! cmp -s "${wrapper}/go.mod.new" "${wrapper}/go.mod.src" 2>/dev/null; then
	# New or changed wrapper: start from a clean module.
	rm -f "${wrapper}/go.mod" "${wrapper}/go.sum"
	cp "${wrapper}/go.mod.new" "${wrapper}/go.mod"
	mv "${wrapper}/go.mod.new" "${wrapper}/go.mod.src"
else
	rm -f "${wrapper}/go.mod.new"
fi
cat >"${wrapper}/tools.go" <<'GO'
//go:build tools

package tools

import _ "github.com/marmos91/dittofs/cmd/dfs"
GO

echo "build-dfs: building github.com/marmos91/dittofs/cmd/dfs@${version} (about 1.5 min cold on 2 cores)..." >&2
start=$(date +%s)
(
	cd "${wrapper}"
	# The wrapper is a module of its own: no workspace, no vendor directory.
	export GOWORK=off GOFLAGS="${GOFLAGS:-} -mod=mod"
	if [[ ! -s go.sum ]]; then
		go mod tidy >&2
	fi
	# Same version stamping as the upstream release (main.version/commit/date).
	CGO_ENABLED=0 go build -trimpath \
		-ldflags="-s -w -X main.version=${version#v} -X main.commit=${version} -X main.date=module-proxy" \
		-o "${tmp_bin}" github.com/marmos91/dittofs/cmd/dfs
)
mv -f "${tmp_bin}" "${bin}"
echo "build-dfs: built ${bin} in $(($(date +%s) - start))s" >&2
echo "${bin}"
