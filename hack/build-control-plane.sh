#!/usr/bin/env bash
# Builds (once per machine) the binaries of a local Kubernetes control plane
# from the Go module proxy and caches them outside the repository, keyed by
# version:
#
#   $CACHE/bin/etcd-v3.6.16/etcd
#   $CACHE/bin/kube-apiserver-v1.37.2/kube-apiserver
#   $CACHE/bin/kube-controller-manager-v1.37.2/kube-controller-manager
#   $CACHE/bin/kube-scheduler-v1.37.2/kube-scheduler
#   $CACHE/bin/kubectl-v1.37.2/kubectl
#   $CACHE/bin/kwok-v0.8.0/kwok
#
# where CACHE=${DITTOFS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dittofs-operator}.
# The wrapper modules used for building live in $CACHE/src.
#
# Binaries that already exist are not rebuilt. Every binary is written under a
# temporary name and renamed into place, so an interrupted build never leaves
# a file that looks finished.
#
# Usage:
#   hack/build-control-plane.sh              build what is missing, print the bin directories
#   hack/build-control-plane.sh --print-env  same, but print NAME=path lines on stdout
#                                            (KUBE_APISERVER=..., ETCD=..., ...)
# Progress goes to stderr.
set -euo pipefail

ETCD_VERSION=v3.6.16
KUBE_VERSION=v1.37.2
KWOK_VERSION=v0.8.0

print_env=false
for arg in "$@"; do
	case "$arg" in
	--print-env) print_env=true ;;
	-h | --help)
		sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'
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

# The wrapper modules must not see the repository's module or any workspace,
# and must use the installed toolchain.
export GOWORK=off GOTOOLCHAIN=local GOFLAGS="-buildvcs=false"
unset GOOS GOARCH CGO_ENABLED || true

log() { echo "$*" >&2; }

# Temporary build directories are removed however the script ends; the
# final paths only ever receive complete files.
TMP_DIRS=()
cleanup() { ((${#TMP_DIRS[@]} == 0)) || rm -rf "${TMP_DIRS[@]}"; }
trap cleanup EXIT
new_tmp() { # prefix; sets $tmp
	tmp=$(mktemp -d "$BIN/.build-$1.XXXXXX")
	TMP_DIRS+=("$tmp")
}

all_present() {
	[[ -x $(path_of etcd "$ETCD_VERSION") && -x $(path_of kwok "$KWOK_VERSION") ]] || return 1
	local name
	for name in "${KUBE_BINARIES[@]}"; do
		[[ -x $(path_of "$name" "$KUBE_VERSION") ]] || return 1
	done
}

KUBE_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubectl)

# KUBE_MINOR is "37" for v1.37.2.
KUBE_MINOR=${KUBE_VERSION#v1.}
KUBE_MINOR=${KUBE_MINOR%%.*}
# Staging modules are published as v0.<minor>.<patch>.
STAGING_VERSION=v0.${KUBE_VERSION#v1.}

path_of() { # name version
	echo "$BIN/$1-$2/$1"
}

# install_binary moves a freshly built file into its final place atomically.
install_binary() { # built-file name version
	local dir="$BIN/$2-$3"
	mkdir -p "$dir"
	# Same file system as the final path, so the rename is atomic.
	mv -f "$1" "$dir/.$2.partial.$$"
	chmod 0755 "$dir/.$2.partial.$$"
	mv -f "$dir/.$2.partial.$$" "$dir/$2"
}

elapsed() { # start-seconds
	echo "$(($(date +%s) - $1))s"
}

build_etcd() {
	local out
	out=$(path_of etcd "$ETCD_VERSION")
	[[ -x "$out" ]] && return 0
	log "building etcd $ETCD_VERSION (first run only, about a minute)…"
	local t0 wrap
	t0=$(date +%s)
	wrap=$SRC/etcd-$ETCD_VERSION
	mkdir -p "$wrap"
	# The server module's go.mod replaces its siblings with relative paths,
	# so "go install module@version" refuses it; a wrapper module pins them.
	cat >"$wrap/go.mod" <<EOF
module dittofs.local/etcd-wrapper

go 1.26

require go.etcd.io/etcd/server/v3 $ETCD_VERSION

replace (
	go.etcd.io/etcd/api/v3 => go.etcd.io/etcd/api/v3 $ETCD_VERSION
	go.etcd.io/etcd/client/pkg/v3 => go.etcd.io/etcd/client/pkg/v3 $ETCD_VERSION
	go.etcd.io/etcd/client/v3 => go.etcd.io/etcd/client/v3 $ETCD_VERSION
	go.etcd.io/etcd/pkg/v3 => go.etcd.io/etcd/pkg/v3 $ETCD_VERSION
)
EOF
	cat >"$wrap/tools.go" <<EOF
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
EOF
	local tmp
	new_tmp etcd
	(
		cd "$wrap"
		go mod tidy >&2
		CGO_ENABLED=0 go build -trimpath -o "$tmp/etcd" go.etcd.io/etcd/server/v3
	)
	install_binary "$tmp/etcd" etcd "$ETCD_VERSION"
	log "built etcd $ETCD_VERSION in $(elapsed "$t0")"
}

build_kube() {
	local missing=() name
	for name in "${KUBE_BINARIES[@]}"; do
		[[ -x $(path_of "$name" "$KUBE_VERSION") ]] || missing+=("$name")
	done
	((${#missing[@]} == 0)) && return 0
	log "building ${missing[*]} $KUBE_VERSION (first run only, several minutes)…"
	local t0 wrap
	t0=$(date +%s)
	wrap=$SRC/kubernetes-$KUBE_VERSION
	mkdir -p "$wrap"
	local gomod
	gomod=$(cd "$wrap" && go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" |
		sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
	[[ -f "$gomod" ]] || {
		log "cannot download k8s.io/kubernetes@$KUBE_VERSION"
		exit 1
	}
	# k8s.io/kubernetes replaces its staging modules with ./staging paths,
	# which do not exist outside its repository: point each one at the
	# published release of the same version instead.
	{
		printf 'module dittofs.local/kubernetes-wrapper\n\ngo 1.26\n\n'
		printf 'require k8s.io/kubernetes %s\n\nreplace (\n' "$KUBE_VERSION"
		sed -n 's#^[[:space:]]*\(k8s\.io/[A-Za-z0-9._-]*\) => \./staging/.*#\1#p' "$gomod" |
			while read -r mod; do
				printf '\t%s => %s %s\n' "$mod" "$mod" "$STAGING_VERSION"
			done
		printf ')\n'
	} >"$wrap/go.mod"
	{
		printf '//go:build tools\n\npackage tools\n\nimport (\n'
		for name in "${KUBE_BINARIES[@]}"; do
			printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$name"
		done
		printf ')\n'
	} >"$wrap/tools.go"
	# kubectl and the server components read their version from these two
	# packages; without it "kubectl version" cannot parse the server version.
	local ldflags="-s -w" pkg
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$KUBE_MINOR"
		ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
	done
	local tmp pkgs=()
	new_tmp kube
	for name in "${missing[@]}"; do
		pkgs+=("k8s.io/kubernetes/cmd/$name")
	done
	(
		cd "$wrap"
		go mod tidy >&2
		CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp/" "${pkgs[@]}"
	)
	for name in "${missing[@]}"; do
		install_binary "$tmp/$name" "$name" "$KUBE_VERSION"
	done
	log "built ${missing[*]} $KUBE_VERSION in $(elapsed "$t0")"
}

build_kwok() {
	local out
	out=$(path_of kwok "$KWOK_VERSION")
	[[ -x "$out" ]] && return 0
	log "building kwok $KWOK_VERSION (first run only, a few minutes)…"
	local t0 tmp
	t0=$(date +%s)
	new_tmp kwok
	(
		cd "$SRC"
		CGO_ENABLED=0 GOBIN="$tmp" go install -trimpath -ldflags "-s -w" \
			"sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
	)
	install_binary "$tmp/kwok" kwok "$KWOK_VERSION"
	log "built kwok $KWOK_VERSION in $(elapsed "$t0")"
}

if ! all_present; then
	# Concurrent runs (two test binaries on a cold machine) wait for each
	# other instead of building the same binaries twice.
	if command -v flock >/dev/null; then
		exec 9>"$CACHE/.build.lock"
		flock 9
	fi
	build_etcd
	build_kwok
	build_kube
fi

if $print_env; then
	echo "ETCD=$(path_of etcd "$ETCD_VERSION")"
	echo "KUBE_APISERVER=$(path_of kube-apiserver "$KUBE_VERSION")"
	echo "KUBE_CONTROLLER_MANAGER=$(path_of kube-controller-manager "$KUBE_VERSION")"
	echo "KUBE_SCHEDULER=$(path_of kube-scheduler "$KUBE_VERSION")"
	echo "KUBECTL=$(path_of kubectl "$KUBE_VERSION")"
	echo "KWOK=$(path_of kwok "$KWOK_VERSION")"
else
	for dir in "etcd-$ETCD_VERSION" "kube-apiserver-$KUBE_VERSION" \
		"kube-controller-manager-$KUBE_VERSION" "kube-scheduler-$KUBE_VERSION" \
		"kubectl-$KUBE_VERSION" "kwok-$KWOK_VERSION"; do
		echo "$BIN/$dir"
	done
fi
