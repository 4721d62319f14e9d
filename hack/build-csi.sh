#!/usr/bin/env bash
# Builds (once per machine) the Kubernetes CSI components the backup tests run
# as processes against the local control plane, from the Go module proxy, and
# caches them outside the repository, keyed by version:
#
#   $CACHE/bin/snapshot-controller-v8.7.0/snapshot-controller
#   $CACHE/bin/csi-snapshotter-v8.7.0/csi-snapshotter
#   $CACHE/bin/csi-provisioner-v6.4.1/csi-provisioner
#   $CACHE/bin/csi-sanity-v5.6.0/csi-sanity
#
# where CACHE=${DITTOFS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dittofs-operator}.
# The snapshot-controller and csi-snapshotter come from
# github.com/kubernetes-csi/external-snapshotter/v8, the csi-provisioner from
# github.com/kubernetes-csi/external-provisioner/v6 (the proxy does not serve
# the /v5 module path; v6 is the same sidecar, next major), csi-sanity from
# github.com/kubernetes-csi/csi-test/v5.
#
# Binaries that already exist are not rebuilt; each is written under a
# temporary name and renamed into place. Concurrent runs wait on a lock.
#
# Usage:
#   hack/build-csi.sh              build what is missing, print the binaries' paths
#   hack/build-csi.sh --print-env  same, but print NAME=path lines on stdout
#                                  (SNAPSHOT_CONTROLLER=..., CSI_SNAPSHOTTER=..., ...)
# Progress goes to stderr.
set -euo pipefail

SNAPSHOTTER_VERSION=v8.7.0
PROVISIONER_VERSION=v6.4.1
CSI_TEST_VERSION=v5.6.0

print_env=false
for arg in "$@"; do
	case "$arg" in
	--print-env) print_env=true ;;
	-h | --help)
		sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "unknown argument: $arg" >&2
		exit 2
		;;
	esac
done

CACHE=${DITTOFS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dittofs-operator}
BIN=$CACHE/bin
SRC=$CACHE/src
mkdir -p "$BIN" "$SRC"

# The wrapper modules must not see the repository's module or any workspace.
export GOWORK=off GOTOOLCHAIN=local GOFLAGS="-buildvcs=false -mod=mod"
unset GOOS GOARCH CGO_ENABLED || true

log() { echo "$*" >&2; }

TMP_DIRS=()
cleanup() { ((${#TMP_DIRS[@]} == 0)) || rm -rf "${TMP_DIRS[@]}"; }
trap cleanup EXIT

path_of() { # name version
	echo "$BIN/$1-$2/$1"
}

install_binary() { # built-file name version
	local dir="$BIN/$2-$3"
	mkdir -p "$dir"
	mv -f "$1" "$dir/.$2.partial.$$"
	chmod 0755 "$dir/.$2.partial.$$"
	mv -f "$dir/.$2.partial.$$" "$dir/$2"
}

# build_module MODULE VERSION NAME... builds MODULE/cmd/NAME for every NAME
# missing from the cache, in one go build. The wrapper module copies the
# module's own replace directives (they pin k8s.io staging modules); a
# replace by a relative path (./client) is pointed at the published module
# of the same version.
build_module() {
	local module=$1 version=$2
	shift 2
	local missing=() name
	for name in "$@"; do
		[[ -x $(path_of "$name" "$version") ]] || missing+=("$name")
	done
	((${#missing[@]} == 0)) && return 0
	log "building ${missing[*]} $version (first run only, several minutes)…"
	local t0 wrap gomod tmp
	t0=$(date +%s)
	wrap=$SRC/$(echo "${module#github.com/}" | tr / _)-$version
	mkdir -p "$wrap"
	gomod=$(cd "$wrap" && go mod download -json "$module@$version" |
		sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
	[[ -f "$gomod" ]] || {
		log "cannot download $module@$version"
		exit 1
	}
	{
		printf 'module dittofs.local/%s-wrapper\n\ngo 1.26\n\n' "$(basename "$wrap")"
		printf 'require %s %s\n\n' "$module" "$version"
		# One-line replace directives, as these modules write them.
		sed -n -e 's#^replace \([^ ]*\) => \./.*$#replace \1 => \1 '"$version"'#' -e '/^replace /p' "$gomod"
	} >"$wrap/go.mod"
	{
		printf '//go:build tools\n\npackage tools\n\nimport (\n'
		for name in "${missing[@]}"; do
			printf '\t_ "%s/cmd/%s"\n' "$module" "$name"
		done
		printf ')\n'
	} >"$wrap/tools.go"
	rm -f "$wrap/go.sum"
	tmp=$(mktemp -d "$BIN/.build-csi.XXXXXX")
	TMP_DIRS+=("$tmp")
	local pkgs=()
	for name in "${missing[@]}"; do
		pkgs+=("$module/cmd/$name")
	done
	(
		cd "$wrap"
		go mod tidy >&2
		CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$version" -o "$tmp/" "${pkgs[@]}"
	)
	for name in "${missing[@]}"; do
		install_binary "$tmp/$name" "$name" "$version"
	done
	log "built ${missing[*]} $version in $(($(date +%s) - t0))s"
}

all_present() {
	[[ -x $(path_of snapshot-controller "$SNAPSHOTTER_VERSION") &&
		-x $(path_of csi-snapshotter "$SNAPSHOTTER_VERSION") &&
		-x $(path_of csi-provisioner "$PROVISIONER_VERSION") &&
		-x $(path_of csi-sanity "$CSI_TEST_VERSION") ]]
}

if ! all_present; then
	if command -v flock >/dev/null; then
		exec 9>"$CACHE/.build-csi.lock"
		flock 9
	fi
	build_module github.com/kubernetes-csi/external-snapshotter/v8 "$SNAPSHOTTER_VERSION" \
		snapshot-controller csi-snapshotter
	build_module github.com/kubernetes-csi/external-provisioner/v6 "$PROVISIONER_VERSION" csi-provisioner
	build_module github.com/kubernetes-csi/csi-test/v5 "$CSI_TEST_VERSION" csi-sanity
fi

if $print_env; then
	echo "SNAPSHOT_CONTROLLER=$(path_of snapshot-controller "$SNAPSHOTTER_VERSION")"
	echo "CSI_SNAPSHOTTER=$(path_of csi-snapshotter "$SNAPSHOTTER_VERSION")"
	echo "CSI_PROVISIONER=$(path_of csi-provisioner "$PROVISIONER_VERSION")"
	echo "CSI_SANITY=$(path_of csi-sanity "$CSI_TEST_VERSION")"
else
	path_of snapshot-controller "$SNAPSHOTTER_VERSION"
	path_of csi-snapshotter "$SNAPSHOTTER_VERSION"
	path_of csi-provisioner "$PROVISIONER_VERSION"
	path_of csi-sanity "$CSI_TEST_VERSION"
fi
