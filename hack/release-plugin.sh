#!/usr/bin/env bash
# Builds the kubectl plugin of a release (hack/release.sh runs it):
#
#   kubectl-ditto_<version>_<os>_<arch>.tar.gz   kubectl-ditto and LICENSE, for
#                                                linux/amd64, linux/arm64,
#                                                darwin/amd64 and darwin/arm64
#   plugin.yaml                                  the krew manifest of the plugin
#                                                "ditto": each archive's URL
#                                                under RELEASE_URL and sha256
#
# Reproducible: a static binary built with -trimpath and no VCS stamp, the
# archive's entries sorted, owned by 0:0 and dated SOURCE_DATE_EPOCH, gzip
# without a name or time.
#
# Environment: VERSION, SOURCE_DATE_EPOCH, RELEASE_DIR (the output
# directory), RELEASE_URL (where the archives are downloaded from; default
# the GitHub release of VERSION).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

: "${VERSION:?}" "${SOURCE_DATE_EPOCH:?}" "${RELEASE_DIR:?}"
url="${RELEASE_URL:-https://github.com/dittofs/dittofs-operator/releases/download/${VERSION}}"
url="${url%/}"
platforms=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64)
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

manifest="${RELEASE_DIR}/plugin.yaml"
cat >"${manifest}" <<MANIFEST
apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: ditto
spec:
  version: ${VERSION}
  homepage: https://github.com/dittofs/dittofs-operator
  shortDescription: DittoFS servers, shares and mounts at a glance
  description: |
    For the DittoFS operator. status shows a DittoServer with its endpoints,
    conditions, volumes, shares, users and recent warnings; shares lists the
    DittoShares with their server's NFS address; mount prints the NFS and SMB
    mount commands and a PersistentVolume for a share; version shows the
    operator's and each server's version. Read only; never prints a secret.
  platforms:
MANIFEST

for platform in "${platforms[@]}"; do
	os="${platform%/*}" arch="${platform#*/}"
	dir="${work}/${os}-${arch}"
	mkdir -p "${dir}"
	CGO_ENABLED=0 GOOS="${os}" GOARCH="${arch}" go build -trimpath -buildvcs=false \
		-ldflags "-s -w -X github.com/dittofs/dittofs-operator/pkg/version.Version=${VERSION}" \
		-o "${dir}/kubectl-ditto" ./cmd/kubectl-ditto
	install -m 0644 LICENSE "${dir}/LICENSE"
	chmod 0755 "${dir}/kubectl-ditto"
	archive="kubectl-ditto_${VERSION}_${os}_${arch}.tar.gz"
	tar --format=ustar --sort=name --mtime="@${SOURCE_DATE_EPOCH}" --owner=0 --group=0 --numeric-owner \
		-C "${dir}" -cf - LICENSE kubectl-ditto | gzip -9 -n >"${RELEASE_DIR}/${archive}"
	sum="$(sha256sum "${RELEASE_DIR}/${archive}" | cut -d' ' -f1)"
	cat >>"${manifest}" <<PLATFORM
    - selector:
        matchLabels:
          os: ${os}
          arch: ${arch}
      uri: ${url}/${archive}
      sha256: ${sum}
      bin: kubectl-ditto
      files:
        - from: kubectl-ditto
          to: .
        - from: LICENSE
          to: .
PLATFORM
	echo "release: ${archive}" >&2
done
