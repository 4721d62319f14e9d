#!/usr/bin/env bash
# Regenerates everything derived from the API types in pkg/apis:
#   deepcopy and register code, the typed clientset (with watch), listers,
#   informers and applyconfigurations under pkg/generated, and the CRD under
#   artifacts/crds. Tool versions come from go.mod.
set -o errexit -o nounset -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT_ROOT=${OUT_ROOT:-$ROOT}   # verify-codegen.sh points this at a copy
MODULE=github.com/dittofs/dittofs-operator

cd "$OUT_ROOT"
# On a fresh machine the module is not in the module cache yet: `go list -m`
# prints an empty Dir until it is downloaded.
go mod download k8s.io/code-generator
CODEGEN_PKG=$(go list -m -f '{{.Dir}}' k8s.io/code-generator)
if [[ -z "${CODEGEN_PKG}" || ! -f "${CODEGEN_PKG}/kube_codegen.sh" ]]; then
  echo "update-codegen: k8s.io/code-generator not found in the module cache" >&2
  exit 1
fi
# shellcheck source=/dev/null
source "${CODEGEN_PKG}/kube_codegen.sh"

kube::codegen::gen_helpers --boilerplate hack/boilerplate.go.txt pkg/apis
kube::codegen::gen_register --boilerplate hack/boilerplate.go.txt pkg/apis
kube::codegen::gen_client \
  --with-watch \
  --with-applyconfig \
  --output-dir pkg/generated \
  --output-pkg "${MODULE}/pkg/generated" \
  --boilerplate hack/boilerplate.go.txt \
  pkg/apis

go tool controller-gen crd:crdVersions=v1 paths=./pkg/apis/... output:crd:artifacts:config=artifacts/crds

# The API reference, from the same Go types and doc comments.
go tool crd-ref-docs --log-level=ERROR --source-path=./pkg/apis --config=hack/api-docs.yaml \
  --renderer=markdown --output-path=docs/api-reference.md

# The Helm chart is built from the same manifests: its CRDs and its RBAC rules
# are copies made here, checked by make verify.
chart=artifacts/charts/dittofs-operator
rm -f "${chart}"/crds/*.yaml
cp artifacts/crds/*.yaml "${chart}/crds/"
go run ./hack/chart-rules artifacts/deploy/rbac.yaml dittofs-operator "${chart}/files/rules.yaml"
go run ./hack/chart-rules artifacts/deploy/cluster-rbac.yaml dittofs-operator-cluster "${chart}/files/cluster-rules.yaml"
go run ./hack/chart-rules artifacts/deploy/tenants-rbac.yaml dittofs-operator-tenants "${chart}/files/tenants-rules.yaml"
go run ./hack/chart-rules artifacts/deploy/volumes-rbac.yaml dittofs-operator-volumes "${chart}/files/volumes-rules.yaml"
