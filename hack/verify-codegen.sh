#!/usr/bin/env bash
# Regenerates into a temporary copy of the tree and fails on any difference.
set -o errexit -o nounset -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Copy the sources the generators read: the files git tracks or would track
# (new, not ignored), so no build output, cache or binary comes along. A
# tracked file deleted in the work tree is skipped.
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done) |
  tar -C "$ROOT" --null -T - -cf - | tar -C "$TMP" -xf -
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
