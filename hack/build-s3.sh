#!/usr/bin/env bash
# Builds a real S3-compatible server (versitygw, run with its posix backend) from
# the Go module proxy and caches it, for the tests that send a share's blocks to
# a remote S3 block store on loopback.
#
# Environment:
#   VERSITYGW_VERSION  versitygw version to build (default v1.8.0)
#   DITTOFS_CACHE_DIR  cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/dittofs-operator)
#
# Output: progress on stderr; the absolute path of the binary on the last line of stdout.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/build-from-proxy.sh"

build_from_proxy versitygw github.com/versity/versitygw "${VERSITYGW_VERSION:-v1.8.0}" github.com/versity/versitygw/cmd/versitygw
