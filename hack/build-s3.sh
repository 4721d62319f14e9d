#!/usr/bin/env bash
# Builds a real S3-compatible server (versitygw, run with its posix backend) from
# the Go module proxy and caches it, for the tests that send a share's blocks to
# a remote S3 block store on loopback.
#
# The binary is built through a throw-away wrapper module kept in the cache
# directory (never in this repository), as hack/build-dfs.sh does for dfs.
#
# Environment:
#   VERSITYGW_VERSION  versitygw version to build (default v1.8.0)
#   DITTOFS_CACHE_DIR  cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/dittofs-operator)
#
# Output: progress on stderr; the absolute path of the binary on the last line of stdout.
set -euo pipefail

version="${VERSITYGW_VERSION:-v1.8.0}"
cache_root="${DITTOFS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dittofs-operator}"
bin_dir="${cache_root}/bin/versitygw-${version}"
bin="${bin_dir}/versitygw"
wrapper="${cache_root}/src/versitygw-${version}"

if [[ -x "${bin}" ]]; then
	echo "build-s3: using cached ${bin}" >&2
	echo "${bin}"
	exit 0
fi

mkdir -p "${bin_dir}" "${wrapper}"
# One build at a time per version (parallel test packages may ask together).
exec 9>"${bin_dir}.lock"
flock 9
if [[ -x "${bin}" ]]; then
	echo "build-s3: using cached ${bin}" >&2
	echo "${bin}"
	exit 0
fi

tmp_bin="${bin_dir}/.versitygw.tmp.$$"
trap 'rm -f "${tmp_bin}"' EXIT

cat >"${wrapper}/go.mod.new" <<MOD
module versitygw-build-wrapper

go 1.26

require github.com/versity/versitygw ${version}
MOD
if ! cmp -s "${wrapper}/go.mod.new" "${wrapper}/go.mod.src" 2>/dev/null; then
	rm -f "${wrapper}/go.mod" "${wrapper}/go.sum"
	cp "${wrapper}/go.mod.new" "${wrapper}/go.mod"
	mv "${wrapper}/go.mod.new" "${wrapper}/go.mod.src"
else
	rm -f "${wrapper}/go.mod.new"
fi
cat >"${wrapper}/tools.go" <<'GO'
//go:build tools

package tools

import _ "github.com/versity/versitygw/cmd/versitygw"
GO

echo "build-s3: building github.com/versity/versitygw/cmd/versitygw@${version} (a few minutes cold)..." >&2
start=$(date +%s)
(
	cd "${wrapper}"
	export GOWORK=off GOFLAGS="${GOFLAGS:-} -mod=mod"
	if [[ ! -s go.sum ]]; then
		go mod tidy >&2
	fi
	CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "${tmp_bin}" github.com/versity/versitygw/cmd/versitygw
)
mv -f "${tmp_bin}" "${bin}"
echo "build-s3: built ${bin} in $(($(date +%s) - start))s" >&2
echo "${bin}"
