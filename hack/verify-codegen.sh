#!/usr/bin/env bash
# Regenerates into a temporary copy of the tree and fails on any difference.
set -o errexit -o nounset -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Copy the sources the generators read (not caches or build output).
tar -C "$ROOT" --exclude=./_output --exclude=./bin --exclude=./.git -cf - . | tar -C "$TMP" -xf -
OUT_ROOT="$TMP" "$ROOT/hack/update-codegen.sh" >/dev/null

status=0
for d in pkg/apis pkg/generated artifacts/crds artifacts/charts docs/api-reference.md; do
  if ! diff -Nru "$ROOT/$d" "$TMP/$d"; then
    status=1
  fi
done
if [ "$status" -ne 0 ]; then
  echo "generated code is out of date: run 'make generate'" >&2
  exit 1
fi
echo "generated code is up to date"
