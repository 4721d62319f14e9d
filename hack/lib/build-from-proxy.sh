# Sourced by hack/build-*.sh: builds one Go command of a public module from the
# Go module proxy and caches the binary by version, outside this repository.
#
# The command is built through a throw-away wrapper module kept in the cache
# directory (never in this repository): `go install module@version` fails for
# modules with replace directives or on the proxy's deprecation look-up, and
# the project must not vendor or copy their source.
#
# build_from_proxy NAME MODULE VERSION PACKAGE [LDFLAGS]
#   NAME     binary name and cache key (bin/NAME-VERSION/NAME)
#   MODULE   module path, e.g. helm.sh/helm/v3
#   PACKAGE  the command's package, e.g. helm.sh/helm/v3/cmd/helm
#   LDFLAGS  extra linker flags (version stamping)
# Environment: DITTOFS_CACHE_DIR, the cache root (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/dittofs-operator).
# Output: progress on stderr; the binary's absolute path on the last line of stdout.
build_from_proxy() {
	local name="$1" module="$2" version="$3" pkg="$4" ldflags="${5:-}"
	local cache_root="${DITTOFS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dittofs-operator}"
	local bin_dir="${cache_root}/bin/${name}-${version}"
	local bin="${bin_dir}/${name}"
	local wrapper="${cache_root}/src/${name}-${version}"
	local tag="build-${name}"

	if [[ -x "${bin}" ]]; then
		echo "${tag}: using cached ${bin}" >&2
		echo "${bin}"
		return 0
	fi
	mkdir -p "${bin_dir}" "${wrapper}"
	# One build at a time per version (parallel test packages may ask together).
	exec 9>"${bin_dir}.lock"
	flock 9
	if [[ -x "${bin}" ]]; then
		echo "${tag}: using cached ${bin}" >&2
		echo "${bin}"
		return 0
	fi

	local tmp_bin="${bin_dir}/.${name}.tmp.$$"
	trap "rm -f '${tmp_bin}'" EXIT

	cat >"${wrapper}/go.mod.new" <<MOD
module ${name}-build-wrapper

go 1.26

require ${module} ${version}
MOD
	if ! cmp -s "${wrapper}/go.mod.new" "${wrapper}/go.mod.src" 2>/dev/null; then
		# New or changed wrapper: start from a clean module.
		rm -f "${wrapper}/go.mod" "${wrapper}/go.sum"
		cp "${wrapper}/go.mod.new" "${wrapper}/go.mod"
		mv "${wrapper}/go.mod.new" "${wrapper}/go.mod.src"
	else
		rm -f "${wrapper}/go.mod.new"
	fi
	cat >"${wrapper}/tools.go" <<GO
//go:build tools

package tools

import _ "${pkg}"
GO

	echo "${tag}: building ${pkg}@${version} (minutes when cold)..." >&2
	local start
	start=$(date +%s)
	(
		cd "${wrapper}"
		# The wrapper is a module of its own: no workspace, no vendor directory.
		export GOWORK=off GOFLAGS="${GOFLAGS:-} -mod=mod"
		if [[ ! -s go.sum ]]; then
			go mod tidy >&2
		fi
		CGO_ENABLED=0 go build -trimpath -ldflags="-s -w ${ldflags}" -o "${tmp_bin}" "${pkg}"
	)
	mv -f "${tmp_bin}" "${bin}"
	echo "${tag}: built ${bin} in $(($(date +%s) - start))s" >&2
	echo "${bin}"
}
