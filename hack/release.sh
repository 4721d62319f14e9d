#!/usr/bin/env bash
# Builds a release into $RELEASE_DIR (default _output/release), without a
# container engine or a registry (`make release` runs it):
#
#   dittofs-operator-image/                 the operator image, multi-platform OCI layout
#   dittofs-operator-image.oci.tar          the same layout as one archive
#   install.yaml                            artifacts/deploy, the image pinned by digest
#   install-namespaced.yaml                 artifacts/namespaced, likewise
#   dittofs-operator-<version>.tgz          the Helm chart, its image pinned by digest
#   index.yaml                              a Helm repository index of that chart
#   kubectl-ditto_<version>_<os>_<arch>.tar.gz, plugin.yaml
#                                           the kubectl plugin and its krew manifest
#                                           (hack/release-plugin.sh)
#   VERSION, CHANGELOG.md, LICENSE, SHA256SUMS
#
# Environment (the Makefile sets them):
#   VERSION              the release's version, e.g. v0.1.0
#   REVISION             the commit the image is built from
#   SOURCE_DATE_EPOCH    the time stamped on the image (the commit's time)
#   RELEASE_REPOSITORY   where the image would be pushed (default ghcr.io/dittofs/dittofs-operator)
#   RELEASE_DIR          the output directory
#   RELEASE_URL          where the plugin's archives are downloaded from (the
#                        krew manifest's URLs; default the GitHub release)
#
# kustomize runs as `kubectl kustomize` with the kubectl that
# hack/build-control-plane.sh builds and caches: the renderer the install
# tests check the manifests with, and no module of kustomize in go.mod.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

: "${VERSION:?}" "${REVISION:?}" "${SOURCE_DATE_EPOCH:?}"
repo="${RELEASE_REPOSITORY:-ghcr.io/dittofs/dittofs-operator}"
out="${RELEASE_DIR:-_output/release}"

rm -rf "${out}"
mkdir -p "${out}"
out="$(cd "${out}" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

echo "release: image ${repo}:${VERSION} (linux/amd64, linux/arm64)" >&2
digest="$(go run ./hack/release --out "${out}" --version "${VERSION}" --revision "${REVISION}" \
	--source-date-epoch "${SOURCE_DATE_EPOCH}" --repository "${repo}")"
echo "release: image index ${digest}" >&2

kubectl="$(hack/build-control-plane.sh --print-env | sed -n 's/^KUBECTL=//p')"
helm="$(hack/build-helm.sh | tail -n 1)"

# One kustomization per install on top of the repository's, naming the image
# by digest (kustomize takes relative paths only).
render() { # render DIR OUTPUT
	local k="${work}/$(basename "$1")"
	mkdir -p "${k}"
	cat >"${k}/kustomization.yaml" <<KUSTOMIZATION
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $(realpath --relative-to="${k}" "$1")
labels:
  - pairs:
      app.kubernetes.io/version: ${VERSION}
images:
  - name: dittofs-operator
    newName: ${repo}
    digest: ${digest}
KUSTOMIZATION
	"${kubectl}" kustomize "${k}" >"$2"
}
render artifacts/deploy "${out}/install.yaml"
render artifacts/namespaced "${out}/install-namespaced.yaml"

# The chart, with the release's version and image.
chart="${work}/chart/dittofs-operator"
mkdir -p "${work}/chart"
cp -r artifacts/charts/dittofs-operator "${chart}"
sed -i -e "s|^version: .*|version: ${VERSION#v}|" -e "s|^appVersion: .*|appVersion: ${VERSION}|" "${chart}/Chart.yaml"
sed -i -e "s|^  repository: .*|  repository: ${repo}|" -e "s|^  digest: .*|  digest: ${digest}|" "${chart}/values.yaml"
export HELM_CACHE_HOME="${work}/helm/cache" HELM_CONFIG_HOME="${work}/helm/config" HELM_DATA_HOME="${work}/helm/data"
"${helm}" package "${chart}" --destination "${out}" >&2
"${helm}" repo index "${out}"

RELEASE_DIR="${out}" hack/release-plugin.sh

cp VERSION CHANGELOG.md LICENSE "${out}/"
echo "${VERSION}" >"${out}/VERSION"
(cd "${out}" && find . -type f ! -name SHA256SUMS | sed 's|^\./||' | LC_ALL=C sort | xargs sha256sum >SHA256SUMS)
echo "release: ${out}" >&2
echo "${digest}"
